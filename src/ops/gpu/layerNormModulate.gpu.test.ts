import { describe, expect, it } from 'vitest';
import { layerNormModulate as layerNormModulateCpu } from '../cpu/layerNormModulate';
import { cpuTensor } from '../cpu/tensor';
import { layerNormModulate } from './layerNormModulate';
import { testGpu, testGpuVariants } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';

// f32 corrected two-pass statistics vs the f64 oracle, inverseSqrt ≤ 2 ulp. Observed max abs error
// 1.4e-6 (max error / max(1, |want|) 3.3e-7) on SwiftShader, the worst in the mean-1e4 rows; a plain
// two-pass kernel misses those by 3.5e-5 (the f32 rounding of the mean, ~5e-4, over σ = 30).
const TOL = { atol: 2e-6, rtol: 2e-6 };

describe('layer_norm_modulate.wgsl', () => {
  // [S, D, chunks k, shiftChunk, scaleChunk, row offset]: the DiT width, odd widths below and above
  // one workgroup (256), and residual-stream magnitudes (mean 1e4, σ 30).
  const cases: [number, number, number, number, number, number][] = [
    [3, 3072, 6, 0, 1, 0],
    [5, 257, 3, 2, 0, 0],
    [4, 100, 6, 3, 4, 0],
    [1, 1, 2, 1, 0, 0],
    [6, 768, 2, 1, 0, 1e4],
  ];
  it.each(cases)('matches the CPU twin (workgroup and subgroup reductions): S %i, D %i, k %i, shift %i, scale %i, offset %d', async (s, d, k, sh, sc, off) => {
    const rng = new Rng(s * 7919 + d);
    const x = rng.normals(s * d, off ? 30 : 3).map((v) => v + off);
    const mod = rng.normals(k * d, 0.5);
    const want = layerNormModulateCpu(cpuTensor(x, [s, d]), cpuTensor(mod, [k * d]), sh, sc, 1e-6).data;
    for (const { name, ctx } of await testGpuVariants()) {
      const got = await ctx.read(
        ctx.tidy(() => layerNormModulate(ctx, ctx.upload(x, [s, d], 'f32', 'x'), ctx.upload(mod, [k * d], 'f32', 'mod'), sh, sc, 1e-6)),
      );
      expectClose(got, want, TOL, `layerNormModulate (${name})`);
    }
  });

  it('hand-checked: x = 1e4 + [1, 2, 3, 4], shift 0.5, scale [1, 0, 0, −1]', async () => {
    // mean = 10002.5, x − mean = [−1.5, −0.5, 0.5, 1.5], var = (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25,
    // x̂ = [−1.3416408, −0.4472136, 0.4472136, 1.3416408] (a naive E[x²] − E[x]² in f32 gives garbage here).
    // y = (1 + scale)·x̂ + 0.5 = [−2.1832816, 0.0527864, 0.9472136, 0.5].
    const ctx = await testGpu();
    const x = new Float32Array([10001, 10002, 10003, 10004]);
    const mod = new Float32Array([1, 0, 0, -1, 0.5, 0.5, 0.5, 0.5]); // chunk 0 = scale, chunk 1 = shift
    const got = await ctx.read(
      ctx.tidy(() => layerNormModulate(ctx, ctx.upload(x, [1, 4], 'f32', 'x'), ctx.upload(mod, [8], 'f32', 'mod'), 1, 0, 0)),
    );
    expectClose(got, [-2.1832816, 0.0527864, 0.9472136, 0.5], { atol: 1e-6, rtol: 0 }, 'hand-checked');
  });

  it('rejects a chunk outside mod', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(8), [2, 4], 'f32', 'x');
    const mod = ctx.upload(new Float32Array(8), [8], 'f32', 'mod');
    expect(() => layerNormModulate(ctx, x, mod, 0, 2, 1e-6)).toThrow(/chunk 2 outside mod's 2 chunks of 4/);
  });
});
