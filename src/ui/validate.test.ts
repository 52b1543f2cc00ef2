import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../weights/safetensorsWrite';
import { f32ToBf16 } from '../util/dtype';
import { noiseFromSafetensors } from './noise';
import { batchSeeds, countError, guidanceError, negativePromptError, noiseElements, noiseError, seedError, sizeError, stepsError, stepsMax } from './validate';

describe('form validation', () => {
  it('accepts multiples of 16 from 64 to 2048 only', () => {
    for (const ok of ['64', '80', '512', '2048', ' 1024 ']) expect(sizeError('Width', ok)).toBeNull();
    for (const bad of ['70', '48', '2064', '', '64.5', 'abc', '-64']) {
      expect(sizeError('Width', bad)).toMatch(/^Width must be a multiple of 16 between 64 and 2048/);
    }
    expect(sizeError('Height', '70')).toContain('(got 70)');
  });

  it('checks steps and seed ranges', () => {
    expect(stepsError('4')).toBeNull();
    expect(stepsError('0')).not.toBeNull();
    expect(stepsError('8')).toBeNull();
    expect(stepsError('9')).toBe('Steps must be a whole number from 1 to 8 (klein is distilled for 4; more steps do not improve it).');
    expect(stepsError('51')).not.toBeNull();
    expect(seedError('0')).toBeNull();
    expect(seedError('4294967295')).toBeNull();
    expect(seedError('4294967296')).not.toBeNull();
    expect(seedError('-1')).not.toBeNull();
  });

  it('allows 1–50 steps for a base model, 1–8 for a distilled one or before a model is ready', () => {
    expect(stepsMax(null)).toBe(8);
    expect(stepsMax({ distilled: true })).toBe(8);
    expect(stepsMax({ distilled: false })).toBe(50);
    const base = stepsMax({ distilled: false });
    for (const ok of ['1', '9', '50']) expect(stepsError(ok, base)).toBeNull();
    for (const bad of ['0', '51', '', '2.5']) expect(stepsError(bad, base)).toBe('Steps must be a whole number from 1 to 50.');
    expect(stepsError('9', stepsMax({ distilled: true }))).toMatch(/^Steps must be a whole number from 1 to 8 \(klein is distilled/);
  });

  it('checks the guidance scale: 0–20 in steps of 0.5', () => {
    for (const ok of ['0', '1', '3.5', '4', ' 7.5 ', '20', '20.0', '.5']) expect(guidanceError(ok), ok).toBeNull();
    for (const bad of ['-0.5', '20.5', '3.7', '', 'abc', '1e1', 'NaN', 'Infinity']) {
      expect(guidanceError(bad), bad).toBe('Guidance must be a number from 0 to 20 in steps of 0.5 (1 or less: no classifier-free guidance).');
    }
  });

  it('refuses a negative prompt where guidance ≤ 1 switches classifier-free guidance off', () => {
    expect(negativePromptError('', 1)).toBeNull();
    expect(negativePromptError('   ', 0)).toBeNull();
    expect(negativePromptError('blurry', 1.5)).toBeNull();
    expect(negativePromptError('blurry', Number.NaN)).toBeNull(); // the guidance message is shown instead
    expect(negativePromptError('blurry', 1)).toBe(
      'A negative prompt needs guidance above 1 (at 1 classifier-free guidance is off); raise the guidance or clear the negative prompt.',
    );
    expect(negativePromptError('blurry', 0)).not.toBeNull();
  });

  it('checks the number of images and numbers the seeds of a batch', () => {
    expect(countError('1')).toBeNull();
    expect(countError('10')).toBeNull();
    for (const bad of ['0', '11', '', '2.5']) expect(countError(bad)).toBe('Number of images must be a whole number from 1 to 10.');
    expect(batchSeeds(7, 3)).toEqual([7, 8, 9]);
    expect(batchSeeds(4294967295, 2)).toEqual([4294967295, 0]);
    const random = batchSeeds(null, 4);
    expect(random).toHaveLength(4);
    for (const s of random) expect(seedError(String(s))).toBeNull();
  });

  it('sizes the initial noise as 128·(H/16)·(W/16)', () => {
    expect(noiseElements(64, 64)).toBe(128 * 4 * 4);
    expect(noiseElements(512, 256)).toBe(128 * 16 * 32);
    expect(noiseError(2048, [1, 128, 4, 4], 64, 64)).toBeNull();
    expect(noiseError(2048, [1, 128, 4, 4], 64, 128)).toBe(
      'Initial noise has 2048 elements (shape [1, 128, 4, 4]), but 64×128 needs 4096 = [1, 128, 8, 4].',
    );
  });
});

describe('noise files', () => {
  const values = Float32Array.from({ length: 2048 }, (_, i) => (i % 7) - 3.5);

  it('picks the tensor named noise among others, from F32 or BF16', () => {
    const file = encodeSafetensors({
      input_ids: { dtype: 'I64', shape: [1, 2], data: BigInt64Array.from([1n, 2n]) },
      noise: { dtype: 'F32', shape: [1, 128, 4, 4], data: values },
    });
    const n = noiseFromSafetensors(file, 'case.safetensors');
    expect(n.shape).toEqual([1, 128, 4, 4]);
    expect(n.dtype).toBe('F32');
    expect(n.data).toEqual(values);

    // Every value here is exact in bf16 (multiples of 0.5 below 4).
    const bf = noiseFromSafetensors(encodeSafetensors({ noise: { dtype: 'BF16', shape: [2048], data: f32ToBf16(values.slice()) } }), 'b.safetensors');
    expect(bf.data).toEqual(values);
  });

  it('names the file and the tensors found when noise is missing or not a float', () => {
    const other = encodeSafetensors({ latents: { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
    expect(() => noiseFromSafetensors(other, 'x.safetensors')).toThrow('x.safetensors has no tensor named "noise" (found: latents).');
    const ints = encodeSafetensors({ noise: { dtype: 'I64', shape: [1], data: BigInt64Array.from([0n]) } });
    expect(() => noiseFromSafetensors(ints, 'y.safetensors')).toThrow('tensor "noise" is I64');
  });
});
