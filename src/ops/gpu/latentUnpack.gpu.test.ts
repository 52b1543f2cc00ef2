import { describe, expect, it } from 'vitest';
import { latentUnpack as latentUnpackCpu } from '../cpu/latentUnpack';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import { latentUnpack } from './latentUnpack';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// One f32 sqrt (correctly rounded or ~1 ulp) and one multiply-add per value against f64; |z| ≲ 10.
// Observed max abs error 9.5e-7 on SwiftShader.
const TOL = { atol: 1e-6, rtol: 1e-6 };

/** Values rounded to `dtype`: the GPU gets the packed bits, the CPU the exact f32 values. */
function param(ctx: GpuContext, values: Float32Array, dtype: DType): [GpuTensor, CpuTensor] {
  const bits = dtype === 'bf16' ? f32ToBf16(values) : dtype === 'f16' ? f32ToF16(values) : null;
  const exact = bits ? (dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits)) : values;
  return [ctx.upload(bits ?? values, [values.length], dtype, 'bn'), cpuTensor(exact, [values.length])];
}

describe('latent_unpack.wgsl', () => {
  it.each([
    { k: 128, h: 3, w: 5, dtype: 'bf16' as DType },
    { k: 128, h: 4, w: 7, dtype: 'f32' as DType },
    { k: 8, h: 1, w: 1, dtype: 'f16' as DType },
    { k: 12, h: 5, w: 2, dtype: 'bf16' as DType },
  ])('matches the CPU twin: K $k, $h×$w tokens, $dtype stats', async ({ k, h, w, dtype }) => {
    const ctx = await testGpu();
    const rng = new Rng(k + 10 * h + w);
    const tv = rng.normals(h * w * k, 1);
    const mv = rng.normals(k, 1);
    const vv = rng.uniforms(k, 0.1, 5);
    let want: CpuTensor | null = null;
    const z = ctx.tidy(() => {
      const [mean, meanCpu] = param(ctx, mv, dtype);
      const [variance, varCpu] = param(ctx, vv, dtype);
      want = latentUnpackCpu(cpuTensor(tv, [h * w, k]), meanCpu, varCpu, h, w, 1e-4);
      return latentUnpack(ctx, ctx.upload(tv, [h * w, k], 'f32', 'tokens'), mean, variance, h, w, 1e-4);
    });
    expect(z.shape).toEqual([k / 4, 2 * h, 2 * w]);
    const got = await ctx.read(z);
    ctx.release(z);
    const ref = (want as unknown as CpuTensor).data;
    expectClose(got, ref, TOL, 'latentUnpack');
  });

  it('hand-checked: two tokens of 4 channels interleave into a [1, 2, 4] latent', async () => {
    const ctx = await testGpu();
    // mean 10, var 3, eps 1 → x·2 + 10. Token j holds P[0..3, 0, j] = z[0, pi, 2j + pj] at 2pi + pj:
    // token 0 = [1, 2, 3, 4] → [12, 14, 16, 18], token 1 = [5, 6, 7, 8] → [20, 22, 24, 26];
    // row 0 = [P0 t0, P1 t0, P0 t1, P1 t1] = [12, 14, 20, 22], row 1 = [16, 18, 24, 26].
    const z = latentUnpack(
      ctx,
      ctx.upload(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4], 'f32', 'tokens'),
      ctx.upload(new Float32Array(4).fill(10), [4], 'f32', 'mean'),
      ctx.upload(new Float32Array(4).fill(3), [4], 'f32', 'var'),
      1,
      2,
      1,
    );
    expect(z.shape).toEqual([1, 2, 4]);
    expect(Array.from(await ctx.read(z))).toEqual([12, 14, 20, 22, 16, 18, 24, 26]);
  });

  it('rejects tokens that do not match h·w', async () => {
    const ctx = await testGpu();
    const t = ctx.upload(new Float32Array(3 * 8), [3, 8], 'f32', 'tokens');
    const s = ctx.upload(new Float32Array(8), [8], 'f32', 'stats');
    expect(() => latentUnpack(ctx, t, s, s, 2, 2, 1e-4)).toThrow(/tokens f32\[3, 8\] ≠ f32\[2·2, 8\]/);
  });
});
