/**
 * The plan backend without a GPU: memory grows with the image as the activations do, and requests
 * that need a larger buffer or binding than the device allows are refused before any work, with the
 * limit named and the largest size of the same shape that fits.
 */
import { describe, expect, it } from 'vitest';
import { readConfigs } from '../model/config';
import { goldenBaseModelSource, goldenModelSource } from '../testing/golden';
import { CpuOps } from '../ops/cpuOps';
import { Pipeline } from './generate';
import { type PlanOptions, checkFits, checkRequestFits, requestPlanOptions, runPlan } from './plan';

describe('plan (model-a, plan device)', async () => {
  const configs = await readConfigs(goldenModelSource());

  it('reports per-stage peaks, the largest buffer and binding, and more of everything at a larger size', async () => {
    const small = await runPlan({ configs, width: 64, height: 64, steps: 2 });
    const large = await runPlan({ configs, width: 256, height: 128, steps: 2 });
    expect(small.stages.map((s) => s.name)).toEqual(['encode', 'step 1', 'step 2', 'decode']);
    expect(large.peakBytes).toBeGreaterThan(small.peakBytes);
    expect(large.maxBindingBytes).toBeGreaterThan(small.maxBindingBytes);
    expect(large.flopsPerStep).toBeGreaterThan(small.flopsPerStep);
    // the same kernels per step whatever the size; step 1 also projects the prompt (one more linear)
    expect(large.dispatchesPerStep).toBe(small.dispatchesPerStep);
    expect(small.stages[1]!.dispatches).toBe(small.dispatchesPerStep + 1);
    for (const p of Object.values(large.roofline)) expect(p).toBeGreaterThan(0);
    expect(small.weightBytes).toBeGreaterThan(0);
    expect(large.maxBufferBytes).toBeGreaterThanOrEqual(large.maxBindingBytes);
  });

  it('counts a LoRA: its f32 terms in memory, one down projection per weight (shared by q, k, v and a block\'s projection calls), its FLOPs', async () => {
    const [none, lora] = await Promise.all([runPlan({ configs, width: 64, height: 64, steps: 2 }), runPlan({ configs, width: 64, height: 64, steps: 2, loraRank: 4 })]);
    const t = configs.transformer;
    const d = t.num_attention_heads * t.attention_head_dim;
    // per double block: q|k|v of each stream 1, to_out, to_add_out, ff and ff_context 2 each → 8 down
    // projections; per single block: 1 for the fused projection (its MLP call reuses it) + to_out → 2;
    // outside the blocks (a linear layer: down projection + added term): x_embedder, the timestep
    // MLP (2), the three modulations, norm_out → 7 × 2, and proj_out 1 (step 2: step 1 also projects the prompt, context_embedder)
    expect(lora.dispatchesPerStep - none.dispatchesPerStep).toBe(8 * t.num_layers + 2 * t.num_single_layers + 15);
    expect(lora.flopsPerStep).toBeGreaterThan(none.flopsPerStep);
    expect(lora.loraRank).toBe(4);
    // terms: A [4, in] (one per fused module) and B [out, 4] in f32 — at least the B of every q|k|v
    const live = (r: typeof none) => r.stages.find((st) => st.name === 'step 2')!.liveBytes;
    expect(live(lora) - live(none)).toBeGreaterThan(4 * 4 * 3 * d * 2 * t.num_layers);
    expect(lora.peakBytes).toBeGreaterThan(none.peakBytes);
  });

  it('plans a base model under classifier-free guidance: a batch of 2 by default, or two passes per step; two prompt encodings', async () => {
    const plan = (cfg?: PlanOptions['cfg'], lowMemory = false) => runPlan({ configs, width: 64, height: 64, steps: 2, lowMemory, ...(cfg ? { cfg } : {}) });
    const [none, auto, batch, two, low] = await Promise.all([plan(), plan(true), plan('batch'), plan('two passes'), plan(true, true)]);
    expect([none.cfg, auto.cfg, batch.cfg, two.cfg, low.cfg]).toEqual(['off', 'batch', 'batch', 'two passes', 'two passes']);
    expect(auto.flopsPerStep).toBe(batch.flopsPerStep);
    expect(two.flopsPerStep).toBeGreaterThanOrEqual(2 * none.flopsPerStep);
    expect(two.dispatchesPerStep).toBeGreaterThan(2 * none.dispatchesPerStep); // + the guidance combination
    for (const r of [batch, two]) expect(r.stages[0]!.dispatches).toBe(2 * none.stages[0]!.dispatches); // prompt and negative prompt
    // the batch: the same per-row work (only the timestep embedding and modulations run once), each
    // weight read once per step, fewer dispatches; twice the activations at once
    expect(batch.flopsPerStep).toBeLessThan(two.flopsPerStep);
    expect(batch.flopsPerStep).toBeGreaterThan(0.99 * two.flopsPerStep);
    expect(batch.bytesPerStep).toBeLessThan(two.bytesPerStep);
    expect(batch.dispatchesPerStep).toBeLessThan(two.dispatchesPerStep);
    expect(two.peakBytes).toBeGreaterThanOrEqual(none.peakBytes);
    expect(batch.peakBytes).toBeGreaterThan(two.peakBytes);
  });

  it('refuses a request over the binding limit, naming it and the largest size that fits', async () => {
    const fits = await runPlan({ configs, width: 128, height: 64, steps: 1 });
    const big = await runPlan({ configs, width: 512, height: 256, steps: 1 });
    expect(big.maxBindingBytes).toBeGreaterThan(fits.maxBindingBytes);
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: fits.maxBindingBytes };
    await expect(checkFits({ configs }, { width: 128, height: 64 }, limits)).resolves.toBeUndefined();
    const err = await checkFits({ configs }, { width: 512, height: 256 }, limits).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('InvalidInput');
    expect((err as Error).message).toMatch(/^512×256 needs a \d+ MiB storage binding; this GPU allows \d+ MiB \(maxStorageBufferBindingSize\)\. The largest size of this shape that fits is (\d+)×(\d+)\.$/);
    const [, w, h] = /fits is (\d+)×(\d+)/.exec((err as Error).message)!.map(Number) as [number, number, number];
    expect(w).toBeGreaterThanOrEqual(128);
    expect(w).toBeLessThan(512);
    expect(w / h).toBeCloseTo(2, 1);
    expect((await runPlan({ configs, width: w, height: h, steps: 1 })).maxBindingBytes).toBeLessThanOrEqual(limits.maxStorageBufferBindingSize);
    // one size step up (16 px wider and taller) no longer fits: the search found the edge
    expect((await runPlan({ configs, width: w + 32, height: h + 16, steps: 1 })).maxBindingBytes).toBeGreaterThan(limits.maxStorageBufferBindingSize);
  });

  it('checks a guided request as it runs: a forced batch of 2 needs a larger binding than two passes, and is refused where they fit', async () => {
    const at = (cfg: 'batch' | 'two passes') => runPlan({ configs, width: 64, height: 64, steps: 1, cfg });
    const [two, batch] = [await at('two passes'), await at('batch')];
    expect(batch.maxBindingBytes).toBeGreaterThan(two.maxBindingBytes); // at 64² the [2·S, D] joint stream is the largest binding
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: two.maxBindingBytes };
    const cache = new Map(); // shared: the key holds the mode
    await expect(checkFits({ configs, cfg: 'two passes' }, { width: 64, height: 64 }, limits, cache)).resolves.toBeUndefined();
    await expect(checkFits({ configs, cfg: 'batch' }, { width: 64, height: 64 }, limits, cache)).rejects.toThrow(
      /^64×64 needs a \d+ MiB storage binding; .* Guidance runs as a batch of 2 here \(load option cfg "batch"\); as two passes it needs less\.$/,
    );
  });

  it('requestPlanOptions plans guidance as the loaded pipeline will run the request', async () => {
    const ops = new CpuOps();
    const req = { prompt: 'x', width: 64, height: 64, steps: 1, seed: 0, guidance: 4 };
    const batch = await Pipeline.load(ops, goldenBaseModelSource(), undefined, { cfg: 'batch' });
    const two = await Pipeline.load(ops, goldenBaseModelSource(), undefined, { cfg: 'two passes' });
    const distilled = await Pipeline.load(ops, goldenModelSource());
    expect(requestPlanOptions(batch, req, false)).toMatchObject({ cfg: 'batch', lowMemory: false, precision: 'f32', cpuAdapter: false });
    expect(requestPlanOptions(two, req, true)).toMatchObject({ cfg: 'two passes', cpuAdapter: true });
    expect(requestPlanOptions(batch, { ...req, guidance: 1 }, false)).not.toHaveProperty('cfg'); // guidance 1: one pass
    expect(requestPlanOptions(distilled, { width: 64, height: 64 }, false)).not.toHaveProperty('cfg');
    for (const p of [batch, two, distilled]) p.dispose();
  });

  it('checkRequestFits validates the request first, on every backend (the worker and the CLI call it before any work)', async () => {
    const ops = new CpuOps();
    const p = await Pipeline.load(ops, goldenModelSource());
    const req = { prompt: 'x', width: 64, height: 64, steps: 1, seed: 0 };
    await expect(checkRequestFits(ops, p, req, new Map())).resolves.toBeUndefined();
    await expect(checkRequestFits(ops, p, { ...req, width: 70 }, new Map())).rejects.toThrow('width 70 is invalid: use a multiple of 16 from 64 to 2048');
    await expect(checkRequestFits(ops, p, { ...req, steps: 0 }, new Map())).rejects.toThrow('steps 0: use 1…');
    p.dispose();
  });
});
