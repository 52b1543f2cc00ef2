/**
 * LoRAs at run time through the whole pipeline (CPU backend, model-a): the output equals that of
 * model-a with the same LoRAs merged into its weights (W + Σ strength·ΔW in f64, stored F32:
 * testing/loraFiles.ts) for several LoRAs at once in two namings, negative strengths, a reference
 * image and a base model under classifier-free guidance; strength 0 and a removed LoRA give exactly
 * the output without LoRA; bad selections are refused before any work; q8/q4 with a LoRA stay within
 * the quantized bounds of pipeline/quantized.test.ts on the golden lora-aitk case.
 */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import { InvalidInput } from '../errors';
import { relL2 } from '../testing/expectClose';
import { goldenBaseModelSource, goldenConfigs, goldenModelSource, goldenRequest, loadGoldenCase } from '../testing/golden';
import { type DriftBounds, expectDrift } from '../testing/goldenDrift';
import { loraFile, lora0Bytes, mergedModelSource, randomAitk, toKohya } from '../testing/loraFiles';
import type { FileSource } from '../weights/source';
import type { QuantFormat } from '../util/dtype';
import type { Dump } from './observers';
import { Pipeline } from './generate';
import { checkLoraFile } from './loras';
import type { GenerateRequest, LoraUse } from './types';

/**
 * Run-time LoRA vs merged weights: the same products summed in another order — (W + ΔW)·x with
 * W + ΔW rounded to f32 once, against W·x + B·(A·x) — so the runs differ by f32 rounding carried
 * through the steps and the VAE. Observed rel_l2 on final_latents / image: 7.9e-8 / 8.8e-8 (two
 * LoRAs), 7.4e-8 / 8.2e-8 (reference image), 2.0e-7 / 1.3e-7 (CFG). Leaving the LoRAs out moves the
 * final latents by 0.65, 0.31 and 0.26 (LORA_EFFECT).
 */
const MERGED_REL_L2 = 1e-5;
/** The least rel_l2 a LoRA at these strengths moves final_latents (so the comparison can fail). */
const LORA_EFFECT = 0.02;

const second = () => toKohya(4, randomAitk(8, 5, /^(single_blocks|img_in|double_blocks\.1\.txt)/));

async function run(src: FileSource, req: GenerateRequest, files: Record<string, Uint8Array> = {}): Promise<{ final: Float32Array; image: Float32Array; rgba: Uint8ClampedArray | Uint8Array }> {
  const p = await Pipeline.load(new CpuOps(), src);
  for (const [name, bytes] of Object.entries(files)) await p.addLora(name, bytes);
  const dump: Dump = new Map();
  const r = await p.generate(req, { dump });
  p.dispose();
  return { final: dump.get('final_latents')!.data as Float32Array, image: dump.get('image')!.data as Float32Array, rgba: r.rgba };
}

/** `req` with LoRAs at run time against the merged model, and against no LoRA (must differ). */
async function expectMerged(src: FileSource, req: GenerateRequest, files: Record<string, Uint8Array>, uses: LoraUse[], label: string): Promise<void> {
  const configs = await goldenConfigs();
  const parsed = await Promise.all(uses.map(async (u) => ({ lora: await checkLoraFile(configs, u.name, files[u.name] as Uint8Array), strength: u.strength })));
  const live = await run(src, { ...req, loras: uses }, files);
  const merged = await run(await mergedModelSource(src, parsed), req);
  const plain = await run(src, req);
  const [f, d] = [relL2(live.final, merged.final), relL2(live.image, merged.image)];
  const effect = relL2(plain.final, merged.final);
  console.log(`[lora] ${label}: vs merged weights final_latents rel_l2 ${f.toExponential(2)}, image ${d.toExponential(2)}; without the LoRAs ${effect.toExponential(2)}`);
  expect(f, `${label} final_latents`).toBeLessThanOrEqual(MERGED_REL_L2);
  expect(d, `${label} image`).toBeLessThanOrEqual(MERGED_REL_L2);
  expect(effect, `${label}: the LoRAs change the result`).toBeGreaterThanOrEqual(LORA_EFFECT);
}

const T2I: GenerateRequest = { prompt: 'A red balloon on a wooden table.', width: 64, height: 64, steps: 2, seed: 7 };

describe('LoRAs at run time equal merged weights (cpu, model-a)', () => {
  it('two LoRAs at once, ai-toolkit and kohya, one at a negative strength', async () => {
    const files = { 'lora0.safetensors': lora0Bytes(), 'second (kohya)': second() };
    await expectMerged(goldenModelSource(), T2I, files, [{ name: 'lora0.safetensors', strength: -0.7 }, { name: 'second (kohya)', strength: 1.5 }], 'aitk −0.7 + kohya r8 +1.5');
  });

  it('with a reference image', async () => {
    const req = { ...(await goldenRequest(await loadGoldenCase('edit-1ref'))), steps: 2 };
    await expectMerged(goldenModelSource(), req, { lora0: lora0Bytes() }, [{ name: 'lora0', strength: 1.25 }], 'edit-1ref + lora0 1.25');
  });

  it('on the base model under classifier-free guidance', async () => {
    const req = { ...T2I, guidance: 3.5, negativePrompt: 'blurry' };
    await expectMerged(goldenBaseModelSource(), req, { lora0: lora0Bytes() }, [{ name: 'lora0', strength: 0.8 }], 'base, CFG 3.5 + lora0 0.8');
  });
});

describe('LoRA selection (cpu, model-a)', () => {
  it('strength 0 and a removed LoRA give exactly the output without one; switching needs no reload', async () => {
    const p = await Pipeline.load(new CpuOps(), goldenModelSource());
    const req = { ...T2I, steps: 1 };
    const none = await p.generate(req);
    const info = await p.addLora('lora0', lora0Bytes());
    expect(info).toEqual({ name: 'lora0', format: 'ai-toolkit', rank: 4, layers: 31, bytes: expect.any(Number) });
    const zero = await p.generate({ ...req, loras: [{ name: 'lora0', strength: 0 }] });
    expect(Buffer.from(zero.rgba).equals(Buffer.from(none.rgba))).toBe(true);
    const on = await p.generate({ ...req, loras: [{ name: 'lora0', strength: 1 }] });
    expect(Buffer.from(on.rgba).equals(Buffer.from(none.rgba))).toBe(false);
    const off = await p.generate(req); // the same pipeline, the LoRA held but not selected
    expect(Buffer.from(off.rgba).equals(Buffer.from(none.rgba))).toBe(true);
    p.removeLora('lora0');
    expect(p.loras()).toEqual([]);
    await expect(p.generate({ ...req, loras: [{ name: 'lora0', strength: 1 }] })).rejects.toThrow(/LoRA "lora0" is not loaded \(none is\)/);
    p.dispose();
  });

  it('refuses bad selections and files with InvalidInput, before any work', async () => {
    const p = await Pipeline.load(new CpuOps(), goldenModelSource());
    await p.addLora('a', lora0Bytes());
    const bad: [unknown, RegExp][] = [
      [[{ name: 'b', strength: 1 }], /LoRA "b" is not loaded \(loaded: "a"\)/],
      [[{ name: 'a', strength: 11 }], /strength 11 is invalid, use a number from -10 to 10/],
      [[{ name: 'a', strength: Number.NaN }], /strength NaN is invalid/],
      [[{ name: 'a', strength: 1 }, { name: 'a', strength: 2 }], /listed twice/],
      [[{ name: '', strength: 1 }], /a LoRA name must be a string/],
      ['a', /loras must be a list/],
    ];
    for (const [loras, re] of bad) {
      const e = await p.generate({ ...T2I, loras: loras as LoraUse[] }).catch((x: unknown) => x);
      expect(e, String(re)).toBeInstanceOf(InvalidInput);
      expect((e as Error).message).toMatch(re);
    }
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    await expect(p.addLora('x.png', png)).rejects.toThrow(/LoRA "x.png": not a LoRA .safetensors file, or truncated/);
    await expect(p.addLora('cut', lora0Bytes().slice(0, 5000))).rejects.toThrow(/LoRA "cut": not a LoRA .safetensors file, or truncated/);
    const other = loraFile({ 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': { shape: [4, 320], data: new Float32Array(1280) }, 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': { shape: [320, 4], data: new Float32Array(1280) } });
    await expect(p.addLora('sdxl', other)).rejects.toThrow(/match no weight of this transformer \(a LoRA for another model\?\): lora_unet_down_blocks_0/);
    expect(p.loras().map((l) => l.name)).toEqual(['a']); // the refused files left nothing behind
    p.dispose();
  });
});

/**
 * The quantized bounds of pipeline/quantized.test.ts (measured there on t2i-64 / edit-1ref). Observed
 * with lora0 (final cosine, decoded rel_l2): q8 0.99996, 9.7e-3; q4 0.99773, 7.7e-2.
 */
const BOUNDS: Readonly<Record<QuantFormat, DriftBounds>> = { q8: { minFinalCosine: 0.9999, maxDecodedRelL2: 0.018 }, q4: { minFinalCosine: 0.9957, maxDecodedRelL2: 0.11 } };

describe.each(['q8', 'q4'] as const)('%s weights with a LoRA on the golden lora-aitk case (cpu)', (format) => {
  it('stays within the quantized bounds of the float32 reference', async () => {
    const p = await Pipeline.load(new CpuOps(), goldenModelSource(), undefined, { quant: format });
    await expectDrift(p, 'lora-aitk', BOUNDS[format], `[quant + LoRA] ${format}`);
    p.dispose();
  });
});
