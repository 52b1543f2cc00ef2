import { describe, expect, it } from 'vitest';
import { goldenTensor, loadGoldenCase } from '../testing/golden';
import { drawNoise, imageIds, LATENT_CHANNELS, packLatents, textIds } from './latents';

const asBig = (a: Int32Array): bigint[] => [...a].map(BigInt);

describe('latents vs golden (exact)', () => {
  it('t2i-64: packLatents(noise) = latents_init, imageIds = latent_ids, textIds = text_ids', async () => {
    const { meta, tensors } = await loadGoldenCase('t2i-64');
    const [h, w] = [meta.height / 16, meta.width / 16];
    const noise = goldenTensor(tensors, 'noise');
    expect(noise.shape).toEqual([1, LATENT_CHANNELS, h, w]);
    const packed = packLatents(noise.data as Float32Array, h, w);
    expect([...packed]).toEqual([...(goldenTensor(tensors, 'latents_init').data as Float32Array)]);
    expect(asBig(imageIds(h, w))).toEqual([...goldenTensor(tensors, 'latent_ids').data]);
    expect(asBig(textIds())).toEqual([...goldenTensor(tensors, 'text_ids').data]);
  });

  it('edit-1ref: reference ids are imageIds(h, w, 10) over the 80×64 crop', async () => {
    const { meta, tensors } = await loadGoldenCase('edit-1ref');
    const ref = meta.reference_images[0];
    expect(ref).toMatchObject({ processed_width: 80, processed_height: 64 });
    const ids = imageIds((ref?.processed_height ?? 0) / 16, (ref?.processed_width ?? 0) / 16, 10);
    expect(asBig(ids)).toEqual([...goldenTensor(tensors, 'ref_ids').data]);
    const noise = goldenTensor(tensors, 'noise').data as Float32Array;
    expect([...packLatents(noise, 4, 4)]).toEqual([...(goldenTensor(tensors, 'latents_init').data as Float32Array)]);
  });
});

describe('layouts by hand', () => {
  it('packLatents transposes [128, h, w] to [h·w, 128]', () => {
    const noise = new Float32Array(LATENT_CHANNELS * 6).map((_, i) => i); // value = c·6 + n
    const p = packLatents(noise, 2, 3);
    expect(p[0]).toBe(0);
    expect(p[1]).toBe(6); // token 0, channel 1
    expect(p[LATENT_CHANNELS]).toBe(1); // token 1, channel 0
    expect(p[5 * LATENT_CHANNELS + 127]).toBe(127 * 6 + 5);
    expect(() => packLatents(noise, 2, 2)).toThrow(/768 values, expected 128·2·2 = 512/);
  });

  it('imageIds (t, i, j, 0) row-major; textIds (0, 0, 0, l)', () => {
    expect([...imageIds(2, 3, 20)]).toEqual([20, 0, 0, 0, 20, 0, 1, 0, 20, 0, 2, 0, 20, 1, 0, 0, 20, 1, 1, 0, 20, 1, 2, 0]);
    expect([...textIds(3)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(textIds().length).toBe(512 * 4);
  });
});

describe('drawNoise', () => {
  /** 128·64·64 = 524288 samples: the standard error of the mean is 1.4e-3, of the variance 2e-3. */
  const MOMENT_TOL = 0.01;

  it('is seeded, [128·h·w], and ~N(0, 1)', () => {
    const a = drawNoise(42, 64, 64);
    expect(a.length).toBe(LATENT_CHANNELS * 64 * 64);
    expect(drawNoise(42, 64, 64)).toEqual(a);
    expect(drawNoise(43, 64, 64)[0]).not.toBe(a[0]);
    let sum = 0;
    let sq = 0;
    for (const v of a) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / a.length;
    expect(Math.abs(mean)).toBeLessThan(MOMENT_TOL);
    expect(Math.abs(sq / a.length - mean * mean - 1)).toBeLessThan(MOMENT_TOL);
    expect(() => drawNoise(1, 0, 4)).toThrow(/drawNoise: latent grid must be positive integers, got 0×4/);
  });
});
