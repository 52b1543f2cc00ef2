/**
 * Classifier-free guidance on the CPU reference backend (golden model-a and its base variant, 64²):
 * the model's kind comes from model_index.json; a distilled model refuses guidance ≠ 1 and a
 * negative prompt; a base model at guidance ≤ 1 runs one pass (the image equals the distilled
 * model's: same weights), above 1 two passes combined as v_u + g·(v_c − v_u), and the negative
 * prompt steers it; the dump carries the golden CFG tensors. The whole cfg-64 case is compared
 * on the GPU in src/cli/generate.cfg.test.ts; here the CPU loops are held to it too.
 */
import { describe, expect, it } from 'vitest';
import { readModelIndex } from '../model/config';
import { CpuOps } from '../ops/cpuOps';
import { goldenBaseModelSource, goldenModelSource, goldenRequest, goldenTensor, loadGoldenCase } from '../testing/golden';
import { expectGolden } from '../testing/goldenCompare';
import { memorySource } from '../testing/memorySource';
import { Pipeline, validateRequest } from './generate';
import { GUIDANCE_MAX, cfgActive, cfgBatchBytes, chooseCfgMode, guidedVelocity, validateGuidance } from './guidance';
import type { Dump } from './observers';
import type { GenerateRequest } from './types';

const REQ: GenerateRequest = { prompt: 'a red fox in the snow', width: 64, height: 64, steps: 1, seed: 3 };

describe('model_index.json: distilled or base', () => {
  it('is_distilled true → distilled; absent field → base; no file (a pack) → distilled; a non-boolean is refused', async () => {
    expect(await readModelIndex(memorySource({ 'model_index.json': { is_distilled: true } }))).toEqual({ distilled: true });
    expect(await readModelIndex(memorySource({ 'model_index.json': { _class_name: 'Flux2KleinPipeline' } }))).toEqual({ distilled: false });
    expect(await readModelIndex(memorySource({ 'model_index.json': { is_distilled: false } }))).toEqual({ distilled: false });
    expect(await readModelIndex(memorySource({}))).toEqual({ distilled: true });
    await expect(readModelIndex(memorySource({ 'model_index.json': { is_distilled: 'yes' } }))).rejects.toThrow('model_index.json: "is_distilled" is "yes"; expected true or false');
    expect(await readModelIndex(goldenModelSource())).toEqual({ distilled: true });
    expect(await readModelIndex(goldenBaseModelSource())).toEqual({ distilled: false });
  });
});

describe('validateGuidance', () => {
  it('CFG runs on a base model above guidance 1 only (diffusers: guidance_scale > 1 and not is_distilled)', () => {
    expect([0, 0.5, 1, 1.0001, 4].map((g) => cfgActive(false, g))).toEqual([false, false, false, true, true]);
    expect(cfgActive(true, 4)).toBe(false);
  });

  it('takes a finite guidance 0…100 and a string negative prompt', () => {
    for (const g of [0, 1, 3.5, GUIDANCE_MAX]) expect(() => validateGuidance({ guidance: g })).not.toThrow();
    for (const g of [-0.5, GUIDANCE_MAX + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => validateGuidance({ guidance: g })).toThrow(`guidance ${g}: use a number from 0 to 100 (1 or less: no classifier-free guidance)`);
    }
    expect(() => validateGuidance({ guidance: '3' as unknown as number })).toThrow('guidance 3: use a number');
    expect(() => validateGuidance({ negativePrompt: 3 as unknown as string })).toThrow('negative prompt must be a string');
  });

  it('a distilled model takes guidance 1 only and no negative prompt; a base model no negative prompt without CFG', () => {
    const distilled = { distilled: true };
    const base = { distilled: false };
    expect(() => validateGuidance({ guidance: 1, negativePrompt: '' }, distilled)).not.toThrow();
    expect(() => validateGuidance({ guidance: 3.5 }, distilled)).toThrow(/^guidance 3.5: this model is step-distilled .* runs without classifier-free guidance; leave guidance at 1, or load a base model$/);
    expect(() => validateGuidance({ negativePrompt: 'blurry' }, distilled)).toThrow('a negative prompt needs classifier-free guidance, which this step-distilled model does not run');
    expect(() => validateGuidance({ negativePrompt: 'blurry' }, base)).not.toThrow(); // default guidance 4
    expect(() => validateGuidance({ guidance: 1, negativePrompt: 'blurry' }, base)).toThrow('a negative prompt has no effect at guidance 1: classifier-free guidance runs only above 1');
    // validateRequest checks them too, by name
    expect(() => validateRequest({ ...REQ, guidance: 2 }, 128, distilled)).toThrow('guidance 2: this model is step-distilled');
    expect(() => validateRequest({ ...REQ, guidance: 200 }, 128)).toThrow('guidance 200: use a number from 0 to 100');
  });

  it('guidedVelocity is v_u + g·(v_c − v_u) in f32 and copies both velocities to the taps', () => {
    const ops = new CpuOps();
    const c = [0.5, -1.25, 3, 0.125, 2, -7];
    const u = [0.25, 1, -2, 0.375, 2, 1.5];
    const taps = { cond: ops.empty([1, 2, 3], 'c'), uncond: ops.empty([1, 2, 3], 'u') };
    const v = guidedVelocity(ops, ops.fromHost(Float32Array.from(c), [2, 3]), ops.fromHost(Float32Array.from(u), [2, 3]), 3.5, taps);
    // e.g. 0.25 + 3.5·(0.5 − 0.25) = 1.125; −2 + 3.5·(3 + 2) = 15.5; 1.5 + 3.5·(−7 − 1.5) = −28.25
    expect([...v.data]).toEqual([1.125, -6.875, 15.5, -0.5, 2, -28.25]);
    expect(ops.shape(v)).toEqual([2, 3]);
    expect([...taps.cond.data]).toEqual(c.map(Math.fround));
    expect([...taps.uncond.data]).toEqual(u.map(Math.fround));
  });
});

describe('chooseCfgMode', () => {
  it('off without CFG; the mode asked for; auto: the batch unless low memory or over the binding limit', async () => {
    const { configs } = await Pipeline.load(new CpuOps(), goldenModelSource());
    const req = { width: 64, height: 48 };
    // S = 512 text + 4·3 image tokens, D = hidden of the tiny model: [2·S, D] f32
    const bytes = 2 * (512 + 12) * configs.transformer.num_attention_heads * configs.transformer.attention_head_dim * 4;
    expect(cfgBatchBytes(configs, req)).toBe(bytes);
    // a 100×60 reference is processed to 96×48: 6·3 more tokens
    expect(cfgBatchBytes(configs, { ...req, references: [{ width: 100, height: 60, rgba: new Uint8ClampedArray(100 * 60 * 4) }] })).toBe((bytes / (512 + 12)) * (512 + 12 + 18));
    const model = { distilled: false, defaultGuidance: 4, lowMemory: false, mode: 'auto' as const, maxBindingBytes: bytes };
    expect(chooseCfgMode(configs, req, model)).toBe('batch');
    expect(chooseCfgMode(configs, req, { ...model, maxBindingBytes: bytes - 1 })).toBe('two passes');
    expect(chooseCfgMode(configs, req, { ...model, lowMemory: true })).toBe('two passes');
    expect(chooseCfgMode(configs, req, { ...model, mode: 'two passes' })).toBe('two passes');
    expect(chooseCfgMode(configs, req, { ...model, mode: 'batch', lowMemory: true, maxBindingBytes: 0 })).toBe('batch');
    expect(chooseCfgMode(configs, { ...req, guidance: 1 }, model)).toBe('off');
    expect(chooseCfgMode(configs, req, { ...model, distilled: true, defaultGuidance: 1 })).toBe('off');
  });
});

describe('generate with guidance (cpu, model-a and its base variant)', async () => {
  const ops = new CpuOps();
  const distilled = await Pipeline.load(ops, goldenModelSource());
  const base = await Pipeline.load(ops, goldenBaseModelSource());

  it('exposes the kind and the defaults in ModelInfo', () => {
    expect(distilled.distilled).toBe(true);
    expect(distilled.info).toMatchObject({ distilled: true, defaultSteps: 4, defaultGuidance: 1 });
    expect(base.distilled).toBe(false);
    expect(base.info).toMatchObject({ distilled: false, defaultSteps: 50, defaultGuidance: 4 });
    expect(base.info.summary).toContain('base model (classifier-free guidance)');
    expect(distilled.info.summary).not.toContain('base model');
  });

  it('a distilled model refuses guidance 3.5 and a negative prompt before any work', async () => {
    const progress: string[] = [];
    await expect(distilled.generate({ ...REQ, guidance: 3.5 }, { onProgress: (p) => progress.push(p.stage) })).rejects.toThrow(/^guidance 3.5: this model is step-distilled/);
    await expect(distilled.generate({ ...REQ, negativePrompt: 'blurry' })).rejects.toMatchObject({ name: 'InvalidInput' });
    expect(progress).toEqual([]);
  });

  it('guidance 1 on the base model is one pass (the distilled model’s image); above 1 two, steered by the negative prompt (one step)', async () => {
    const dump = (): Dump => new Map();
    const passes = async (p: typeof base, req: GenerateRequest) => {
      const d = dump();
      const r = await p.generate(req, { dump: d });
      return { rgba: r.rgba, dump: d, steps: r.timings.stepMs.length };
    };
    const plain = await passes(distilled, REQ);
    const g1 = await passes(base, { ...REQ, guidance: 1 });
    expect(g1.rgba).toEqual(plain.rgba);
    expect([...g1.dump.keys()].filter((k) => k.startsWith('negative_') || k.startsWith('step_velocity_'))).toEqual([]);

    const cfg = await passes(base, { ...REQ, guidance: 3.5 });
    expect(cfg.steps).toBe(REQ.steps); // timings keep one entry per step
    expect(cfg.rgba).not.toEqual(plain.rgba);
    const t = (name: string) => cfg.dump.get(name) as { shape: number[]; data: Float32Array };
    expect(t('negative_input_ids').shape).toEqual([1, 512]);
    expect([...t('negative_attention_mask').data].filter((m) => m === 1).length).toBe(12); // "" is the 12 template tokens
    expect(t('negative_prompt_embeds').shape).toEqual(t('prompt_embeds').shape);
    expect(t('step_velocity_cond').shape).toEqual([REQ.steps, 16, 128]);
    // the conditional pass of step 0 is the unguided run's step-0 velocity (same x, σ and context)
    expect(t('step_velocity_cond').data).toEqual(plain.dump.get('step_velocity')?.data);
    const [vc, vu, v] = ['step_velocity_cond', 'step_velocity_uncond', 'step_velocity'].map((k) => t(k).data) as [Float32Array, Float32Array, Float32Array];
    for (let i = 0; i < v.length; i += 97) expect(v[i]).toBe(Math.fround((vu[i] as number) + 3.5 * Math.fround((vc[i] as number) - (vu[i] as number))));

    const neg = await passes(base, { ...REQ, guidance: 3.5, negativePrompt: 'blurry, low quality' });
    expect(neg.rgba).not.toEqual(cfg.rgba);
    expect(neg.dump.get('step_velocity_cond')?.data).toEqual(t('step_velocity_cond').data);
    expect(neg.dump.get('negative_input_ids')?.data).not.toEqual(t('negative_input_ids').data);
  });

  it('a batch of 2 and two passes give the same image and CFG tensors bit for bit (with a reference image)', async () => {
    const twoPasses = await Pipeline.load(ops, goldenBaseModelSource(), undefined, { cfg: 'two passes' });
    const ref = { width: 64, height: 80, rgba: new Uint8ClampedArray(64 * 80 * 4).map((_, i) => (i * 37) % 256) };
    const req = { ...REQ, guidance: 3.5, negativePrompt: 'blurry', references: [ref] };
    expect(base.cfgMode(req)).toBe('batch'); // auto on the CPU: no binding limit
    expect(twoPasses.cfgMode(req)).toBe('two passes');
    expect(base.cfgMode({ ...req, guidance: 1 })).toBe('off');
    const run = async (p: typeof base) => {
      const d: Dump = new Map();
      const r = await p.generate(req, { dump: d });
      return { rgba: r.rgba, d };
    };
    const [a, b] = [await run(base), await run(twoPasses)];
    expect(a.rgba).toEqual(b.rgba);
    for (const name of ['step_velocity_cond', 'step_velocity_uncond', 'step_velocity', 'final_latents']) expect(a.d.get(name)?.data, name).toEqual(b.d.get(name)?.data);
    twoPasses.dispose();
  });

  it('the CPU reference matches the golden cfg-64 case', async () => {
    const c = await loadGoldenCase('cfg-64');
    const d: Dump = new Map();
    await base.generate(await goldenRequest(c), { dump: d });
    for (const name of ['input_ids', 'attention_mask', 'negative_input_ids', 'negative_attention_mask']) {
      expect([...(d.get(name)?.data ?? [])], name).toEqual([...(goldenTensor(c.tensors, name).data as BigInt64Array)].map(Number));
    }
    for (const name of ['prompt_embeds', 'negative_prompt_embeds', 'step_velocity_cond', 'step_velocity_uncond', 'step_velocity', 'step_latents', 'final_latents', 'decoded', 'image']) {
      expectGolden(c, d.get(name)?.data as Float32Array, name, `cpu ${name}`);
    }
  });
});
