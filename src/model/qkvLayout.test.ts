/**
 * The q|k|v layouts of the transformer blocks (blocks.ts qkvLayout): one joint [S, 3D] buffer, q|k +
 * v, or three buffers, chosen by the binding-size cap. The math per element is the same in every
 * layout, so the velocity must be bit-identical; checked on the golden t2i-64 transformer inputs,
 * f32 and f16 storage, on the CPU twins and the WGSL kernels.
 */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import { goldenTensor, loadGoldenCase } from '../testing/golden';
import { GOLDEN_BACKENDS, goldenTransformerInputs } from '../testing/goldenStages';
import { timestepEmbeddingInput } from '../pipeline/schedule';
import { transformerForward } from './transformer';
import { qkvLayout } from './blocks';

describe('qkvLayout', () => {
  it('splits by the cap: joint, q|k + v, three buffers', () => {
    const ops = new CpuOps();
    const g = { d: 64, heads: 2, headDim: 32, mlp: 128, eps: 1e-6, f16: false };
    const parts = (cap: number) => qkvLayout(ops, 10, { ...g, qkvBindingBytes: cap }).buffers.map((b) => [b.first, b.parts, ops.shape(b.t)]);
    expect(parts(10 * 3 * 64 * 4)).toEqual([[0, 3, [10, 192]]]);
    expect(parts(10 * 3 * 64 * 4 - 1)).toEqual([[0, 2, [10, 128]], [2, 1, [10, 64]]]);
    expect(parts(10 * 2 * 64 * 4 - 1)).toEqual([[0, 1, [10, 64]], [1, 1, [10, 64]], [2, 1, [10, 64]]]);
    // f16 halves the bytes: the joint buffer fits the cap that split f32
    expect(qkvLayout(ops, 10, { ...g, f16: true, qkvBindingBytes: 10 * 3 * 64 * 2 }).buffers).toHaveLength(1);
    const l = qkvLayout(ops, 10, { ...g, qkvBindingBytes: 1 });
    expect(l.at.map((a) => a.col)).toEqual([0, 0, 0]);
    expect(new Set(l.at.map((a) => a.t)).size).toBe(3);
  });
});

describe.each(GOLDEN_BACKENDS)('transformer q|k|v layouts on %s', (backend, makeOps) => {
  it('give bit-identical velocities (f32 and f16 storage)', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('t2i-64');
    const { cfg, w, txt, rope, n } = await goldenTransformerInputs(ops, c);
    const tokens = ops.shape(txt)[0]! + n;
    const d = cfg.num_attention_heads * cfg.attention_head_dim;
    const init = goldenTensor(c.tensors, 'latents_init').data as Float32Array;
    const t0 = (goldenTensor(c.tensors, 'model_timestep').data as Float32Array)[0] as number;
    const run = async (f16: boolean, qkvBindingBytes: number) => {
      const x = ops.fromHost(init, [n, 128], 'x');
      const tIn = ops.fromHost(timestepEmbeddingInput(t0, cfg.timestep_guidance_channels), [1, cfg.timestep_guidance_channels], 't');
      return ops.read(transformerForward(ops, w, cfg, { txt, rope, targetTokens: n, f16, qkvBindingBytes }, x, tIn));
    };
    const precisions = backend === 'gpu' && !ops.prefersF16 ? [false] : [false, true];
    if (precisions.length === 1) console.log(`[qkv layouts] ${backend}: f16 not offered, f32 only`);
    for (const f16 of precisions) {
      const elem = f16 ? 2 : 4;
      const joint = await run(f16, tokens * 3 * d * elem);
      const two = await run(f16, tokens * 3 * d * elem - 1);
      const three = await run(f16, tokens * 2 * d * elem - 1);
      expect(joint.some((v) => v !== 0)).toBe(true);
      expect(two, `${f16 ? 'f16' : 'f32'} q|k + v`).toEqual(joint);
      expect(three, `${f16 ? 'f16' : 'f32'} q, k, v`).toEqual(joint);
    }
  });
});
