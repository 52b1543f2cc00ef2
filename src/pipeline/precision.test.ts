/**
 * The f16 activation path (LoadOptions.precision 'f16': GEMM and attention outputs stored as f16,
 * residual streams, norm statistics, softmax and accumulators f32) end to end on the golden cases,
 * against the float32 reference. 'cpu' rounds exactly where the GPU stores f16 (the CPU twins), so it
 * runs everywhere; 'gpu' runs the WGSL kernels where the adapter has `shader-f16` (lavapipe in
 * `npm run test:lavapipe`; SwiftShader has no f16 and skips it, saying so).
 */
import { describe, expect, it } from 'vitest';
import type { Ops } from '../ops/ops';
import { goldenModelSource, goldenRequest, goldenTensor, loadGoldenCase } from '../testing/golden';
import { cosine, relL2 } from '../testing/expectClose';
import { GOLDEN_BACKENDS } from '../testing/goldenStages';
import { Pipeline } from './generate';
import type { Dump } from './observers';
import type { Precision } from './types';

/**
 * rel-L2 of the final latents (after the last step, before the VAE) against diffusers float32: the
 * bound the f16 path is held to (issue target 2e-2). Observed on the tiny golden model: see the
 * `[f16]` log lines (cpu: 4.4e-5 on t2i-64 and edit-1ref — the tiny model's activations are small;
 * the f32 path stays ≤ 1e-4, the golden tolerances).
 */
export const F16_FINAL_LATENTS_REL_L2 = 2e-2;

/** Ten times the float32-vs-float64 noise of the reference's final latents (case.json measured_noise_rel_l2, 2.2e-7). */
const F32_NOISE_REL_L2 = 2.2e-6;

/** Runs a golden case (its prompt, noise and references) at `precision`; returns the dump. */
async function runCase<T>(ops: Ops<T>, name: 't2i-64' | 'edit-1ref', precision: Precision): Promise<{ dump: Dump; f16: boolean }> {
  const c = await loadGoldenCase(name);
  const req = await goldenRequest(c);
  const p = await Pipeline.load(ops, goldenModelSource(), undefined, { precision });
  const dump: Dump = new Map();
  await p.generate(req, { dump });
  p.dispose();
  expect(p.info.summary).toContain(`${p.f16 ? 'f16' : 'f32'} activations`);
  return { dump, f16: p.f16 };
}

describe.each(GOLDEN_BACKENDS)('f16 activations on %s', (backend, makeOps) => {
  it.for(['t2i-64', 'edit-1ref'] as const)('golden %s: final latents within the f16 tolerance of float32', async (name, ctx) => {
    const ops = await makeOps();
    if (backend === 'gpu' && !ops.prefersF16) {
      console.log(`[f16] ${backend} ${name}: skipped, the adapter has no shader-f16 (lavapipe runs it)`);
      ctx.skip();
    }
    const c = await loadGoldenCase(name);
    const { dump, f16 } = await runCase(ops, name, 'f16');
    expect(f16).toBe(true);
    const got = dump.get('final_latents')?.data as Float32Array;
    const want = goldenTensor(c.tensors, 'final_latents').data as Float32Array;
    const r = relL2(got, want);
    console.log(`[f16] ${backend} ${name} final_latents: rel_l2 ${r.toExponential(2)}, cosine ${cosine(got, want).toFixed(6)} (≤ ${F16_FINAL_LATENTS_REL_L2})`);
    expect(r).toBeLessThanOrEqual(F16_FINAL_LATENTS_REL_L2);
    // … and the f16 storage is really there: the run differs from the f32 one by more than float32
    // noise (measured_noise_rel_l2: 2.2e-7 for final latents)
    const f32 = (await runCase(ops, name, 'f32')).dump.get('final_latents')?.data as Float32Array;
    const apart = relL2(got, f32);
    console.log(`[f16] ${backend} ${name}: f16 vs f32 run rel_l2 ${apart.toExponential(2)}`);
    expect(apart).toBeGreaterThan(F32_NOISE_REL_L2);
  });

  it('auto picks f16 exactly where the ops prefer it', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('t2i-64');
    const p = await Pipeline.load(ops, goldenModelSource(), undefined, { precision: 'auto' });
    expect(p.f16).toBe(ops.prefersF16);
    expect(p.info.summary).toContain(ops.prefersF16 ? 'f16 activations' : 'f32 activations');
    p.dispose();
    expect(c.meta.tolerances.fp32.final_latents?.rel_l2).toBeGreaterThan(0);
  });
});
