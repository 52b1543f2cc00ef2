import { describe, expect, it } from 'vitest';
import { rmsNorm as rmsNormCpu } from '../cpu/rmsNorm';
import { cpuTensor } from '../cpu/tensor';
import { rmsNorm } from './rmsNorm';
import { testGpu, testGpuVariants } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// f32 tree reduction of Σx² vs the f64 oracle, plus inverseSqrt (≤ 2 ulp): observed max relative
// error 2.6e-7 (≈ 2 ulp; max abs 3.8e-6 on outputs up to |51|) on SwiftShader.
const TOL = { atol: 1e-6, rtol: 1e-6 };

/** Random weight in `dtype`: host bytes for the GPU and the exactly decoded f32 values for the CPU. */
function weight(rng: Rng, n: number, dtype: DType): { bytes: ArrayBufferView; values: Float32Array } {
  const w = rng.normals(n, 2);
  if (dtype === 'f32') return { bytes: w, values: w };
  const bits = dtype === 'bf16' ? f32ToBf16(w) : f32ToF16(w);
  return { bytes: bits, values: dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits) };
}

describe('rms_norm.wgsl', () => {
  // [shape, cols, weight dtype]: Qwen3 hidden (2560, bf16), per-head q/k norm (Dh over [S, H·Dh]),
  // odd group sizes and an odd number of f16 weights (last word half-used).
  const cases: [number[], number | undefined, DType][] = [
    [[3, 2560], undefined, 'bf16'],
    [[5, 4 * 128], 128, 'f32'],
    [[9, 3 * 64], 64, 'bf16'],
    [[7, 33], undefined, 'f16'],
    [[11, 15], 5, 'bf16'],
    [[4, 1], undefined, 'f32'],
    [[2, 1000], 500, 'f16'],
    [[300, 32], 8, 'f32'], // 1200 rows of 8: 128 rows per workgroup, the last workgroup partly empty
  ];
  it.each(cases)('matches the CPU twin (workgroup and subgroup reductions): x%j, cols %s, w %s', async (shape, cols, dtype) => {
    const rng = new Rng(shape[0]! * 1000 + shape[1]!);
    const n = shape[0]! * shape[1]!;
    const c = cols ?? shape[1]!;
    const x = rng.normals(n, 3);
    x[0] = 40; // one outlier row, as in real hidden states
    const w = weight(rng, c, dtype);
    const want = rmsNormCpu(cpuTensor(x, shape), cpuTensor(w.values, [c]), 1e-6, cols).data;
    for (const { name, ctx } of await testGpuVariants()) {
      const got = await ctx.read(
        ctx.tidy(() => rmsNorm(ctx, ctx.upload(x, shape, 'f32', 'x'), ctx.upload(w.bytes, [c], dtype, 'w'), 1e-6, cols)),
      );
      expectClose(got, want, TOL, `rmsNorm ${dtype} (${name})`);
    }
  });

  it('hand-checked: x = [3, 4], w = [1, 2] (bf16) → [0.8485281, 2.2627417]', async () => {
    // mean(x²) = (9 + 16)/2 = 12.5, rms = √12.5 = 3.5355339; y = [1·3/3.5355339, 2·4/3.5355339].
    const ctx = await testGpu();
    const w = f32ToBf16(new Float32Array([1, 2]));
    const got = await ctx.read(
      ctx.tidy(() => rmsNorm(ctx, ctx.upload(new Float32Array([3, 4]), [1, 2], 'f32', 'x'), ctx.upload(w, [2], 'bf16', 'w'), 0)),
    );
    expect(got[0]).toBeCloseTo(0.8485281, 6);
    expect(got[1]).toBeCloseTo(2.2627417, 6);
  });

  it('normalises each head separately (cols = Dh)', async () => {
    // x: [1, 2·2] = two heads [3, 4] and [30, 40]; both normalise to [0.8485281, 1.1313708] with w = 1.
    const ctx = await testGpu();
    const x = new Float32Array([3, 4, 30, 40]);
    const got = await ctx.read(
      ctx.tidy(() => rmsNorm(ctx, ctx.upload(x, [1, 4], 'f32', 'x'), ctx.upload(new Float32Array([1, 1]), [2], 'f32', 'w'), 0, 2)),
    );
    expectClose(got, [0.8485281, 1.1313708, 0.8485281, 1.1313708], { atol: 1e-6, rtol: 0 }, 'per-head');
  });

  it('rejects a weight that does not match cols', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(8), [2, 4], 'f32', 'x');
    const w = ctx.upload(new Float32Array(3), [3], 'f32', 'w');
    expect(() => rmsNorm(ctx, x, w, 1e-6)).toThrow(/weight w\[3\] for groups of 4/);
  });
});
