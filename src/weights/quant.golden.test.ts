/**
 * The golden tiny transformer (t2i-64, step 0) with its 2-D weights quantized at load (q8, q4, each
 * weight in the format weights/quantRule.ts gives it; 1-D norm weights and biases keep their
 * checkpoint dtype), on the CPU backend, against the same model unquantized: how far quantization
 * moves step_velocity[0]. The tiny model's weights are random, so this bounds the format's effect
 * end to end, not the real model's image quality.
 */
import { describe, expect, it } from 'vitest';
import { loadGoldenCase, goldenModelSource, goldenTensor, type GoldenCase } from '../testing/golden';
import { cosine, maxAbs, rms } from '../testing/expectClose';
import { CpuOps } from '../ops/cpuOps';
import type { Ops } from '../ops/ops';
import type { CpuTensor } from '../ops/cpu/tensor';
import { openComponent } from './safetensors';
import { WeightLoader } from './load';
import type { QuantFormat } from '../util/quant';
import { readConfigs } from '../model/config';
import { embedContext, loadTransformer, transformerForward } from '../model/transformer';
import { fluxRopeTable } from '../model/ropeTables';
import { timestepEmbeddingInput } from '../pipeline/schedule';

// Cosine similarity and max |Δ| of step_velocity[0] vs the unquantized run (rms of the reference
// printed as ref_rms). Observed: q8 cos 0.999942, max 0.0416; q4 cos 0.998838, max 0.242 (the
// per-weight errors of quant.ts, ~0.6% and ~8%, compounded through the tiny model's blocks; q4
// with the embedders, modulations and final layer at q8 by weights/quantRule.ts — every 2-D weight
// q4 with min/max ranges, as before both, gave cos 0.98561, max 0.647).
// Bounds: 1 − cos ×2, max_abs ×1.5.
const BOUNDS: Record<QuantFormat, { minCos: number; maxAbs: number }> = {
  q8: { minCos: 0.99988, maxAbs: 0.063 },
  q4: { minCos: 0.9977, maxAbs: 0.37 },
};

const ids = (c: GoldenCase, name: string) => Int32Array.from(goldenTensor(c.tensors, name).data as BigInt64Array, Number);

async function velocity0(format: QuantFormat | null): Promise<Float32Array> {
  const ops: Ops<CpuTensor> = new CpuOps();
  const c = await loadGoldenCase('t2i-64');
  const src = goldenModelSource();
  const cfg = (await readConfigs(src)).transformer;
  const quant = format ? { format, component: 'transformer' as const } : undefined; // 2-D weights, by weights/quantRule.ts
  const w = await loadTransformer(new WeightLoader(ops, await openComponent(src, 'transformer'), undefined, quant), cfg);
  const pe = goldenTensor(c.tensors, 'prompt_embeds');
  const txt = embedContext(ops, w, ops.fromHost(pe.data as Float32Array, pe.shape.slice(1), 'prompt_embeds'));
  const table = fluxRopeTable(new Int32Array([...ids(c, 'text_ids'), ...ids(c, 'latent_ids')]), cfg.axes_dims_rope, cfg.rope_theta);
  const n = c.meta.image_seq_len;
  const x = ops.fromHost(goldenTensor(c.tensors, 'latents_init').data as Float32Array, [n, 128], 'x');
  const t0 = (goldenTensor(c.tensors, 'model_timestep').data as Float32Array)[0] as number;
  const tIn = ops.fromHost(timestepEmbeddingInput(t0, cfg.timestep_guidance_channels), [1, cfg.timestep_guidance_channels], 't');
  const rope = ops.fromHost(table.data, table.shape, 'rope');
  return ops.read(transformerForward(ops, w, cfg, { txt, rope, targetTokens: n }, x, tIn));
}

describe('golden tiny transformer with quantized weights (CPU)', () => {
  it('q8 and q4 step_velocity[0] stay close to the unquantized run', async () => {
    const ref = await velocity0(null);
    const got = [];
    for (const format of ['q8', 'q4'] as const) {
      const v = await velocity0(format);
      got.push({ format, cos: cosine(v, ref), m: maxAbs(v, ref) });
      console.log(`[quant] ${format} step_velocity[0]: cos ${cosine(v, ref).toFixed(6)}, max_abs ${maxAbs(v, ref).toExponential(3)}, ref_rms ${rms(ref).toFixed(3)}`);
    }
    for (const { format, cos, m } of got) {
      expect(cos, `${format} cosine`).toBeGreaterThanOrEqual(BOUNDS[format].minCos);
      expect(m, `${format} max_abs`).toBeLessThanOrEqual(BOUNDS[format].maxAbs);
    }
  }, 120_000);
});
