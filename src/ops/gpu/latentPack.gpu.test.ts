import { describe, expect, it } from 'vitest';
import { latentPack as latentPackCpu } from '../cpu/latentPack';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import { latentPack } from './latentPack';
import { latentUnpack } from './latentUnpack';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// One f32 subtract, sqrt and divide per value against f64; |tokens| ≲ 15 (rtol covers the ulps).
// Observed max abs error 1.9e-6 on SwiftShader.
const TOL = { atol: 2e-6, rtol: 1e-6 };
// pack(unpack(t)): two f32 roundings of x·s + m and (· − m)/s; observed max abs error 2.4e-7 for |t| ≲ 4.
const TOL_ROUND_TRIP = { atol: 2e-6, rtol: 1e-6 };

/** Values rounded to `dtype`: the GPU gets the packed bits, the CPU the exact f32 values. */
function param(ctx: GpuContext, values: Float32Array, dtype: DType): [GpuTensor, CpuTensor] {
  const bits = dtype === 'bf16' ? f32ToBf16(values) : dtype === 'f16' ? f32ToF16(values) : null;
  const exact = bits ? (dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits)) : values;
  return [ctx.upload(bits ?? values, [values.length], dtype, 'bn'), cpuTensor(exact, [values.length])];
}

describe('latent_pack.wgsl', () => {
  it.each([
    { k: 128, h: 3, w: 5, dtype: 'bf16' as DType },
    { k: 128, h: 2, w: 9, dtype: 'f32' as DType },
    { k: 4, h: 1, w: 1, dtype: 'f16' as DType },
    { k: 12, h: 5, w: 2, dtype: 'bf16' as DType },
  ])('matches the CPU twin: K $k, $h×$w tokens, $dtype stats', async ({ k, h, w, dtype }) => {
    const ctx = await testGpu();
    const rng = new Rng(k + 10 * h + w);
    const zv = rng.normals(k * h * w, 3);
    const mv = rng.normals(k, 1);
    const vv = rng.uniforms(k, 0.1, 5);
    let want: CpuTensor | null = null;
    const t = ctx.tidy(() => {
      const [mean, meanCpu] = param(ctx, mv, dtype);
      const [variance, varCpu] = param(ctx, vv, dtype);
      want = latentPackCpu(cpuTensor(zv, [k / 4, 2 * h, 2 * w]), meanCpu, varCpu, 1e-4);
      return latentPack(ctx, ctx.upload(zv, [k / 4, 2 * h, 2 * w], 'f32', 'z'), mean, variance, 1e-4);
    });
    expect(t.shape).toEqual([h * w, k]);
    const got = await ctx.read(t);
    ctx.release(t);
    const ref = (want as unknown as CpuTensor).data;
    expectClose(got, ref, TOL, 'latentPack');
  });

  it('latentPack ∘ latentUnpack is the identity (K 128, 3×4 tokens, bf16 stats)', async () => {
    const ctx = await testGpu();
    const rng = new Rng(7);
    const tv = rng.normals(12 * 128, 1);
    const back = ctx.tidy(() => {
      const mean = ctx.upload(f32ToBf16(rng.normals(128, 1)), [128], 'bf16', 'mean');
      const variance = ctx.upload(f32ToBf16(rng.uniforms(128, 0.1, 5)), [128], 'bf16', 'var');
      const z = latentUnpack(ctx, ctx.upload(tv, [12, 128], 'f32', 'tokens'), mean, variance, 3, 4, 1e-4);
      expect(z.shape).toEqual([32, 6, 8]);
      return latentPack(ctx, z, mean, variance, 1e-4);
    });
    const got = await ctx.read(back);
    ctx.release(back);
    expectClose(got, tv, TOL_ROUND_TRIP, 'pack∘unpack');
  });

  it('hand-checked: a [1, 2, 4] latent packs into two 4-channel tokens', async () => {
    const ctx = await testGpu();
    // mean 10, var 3, eps 1 → (x − 10)/2. Rows [12, 14, 20, 22] and [16, 18, 24, 26]: token j takes
    // z[0, pi, 2j + pj] at channel 2pi + pj → token 0 = [12, 14, 16, 18] → [1, 2, 3, 4], token 1 → [5, 6, 7, 8].
    const t = latentPack(
      ctx,
      ctx.upload(new Float32Array([12, 14, 20, 22, 16, 18, 24, 26]), [1, 2, 4], 'f32', 'z'),
      ctx.upload(new Float32Array(4).fill(10), [4], 'f32', 'mean'),
      ctx.upload(new Float32Array(4).fill(3), [4], 'f32', 'var'),
      1,
    );
    expect(t.shape).toEqual([2, 4]);
    expect(Array.from(await ctx.read(t))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects an odd latent size', async () => {
    const ctx = await testGpu();
    const z = ctx.upload(new Float32Array(2 * 3 * 4), [2, 3, 4], 'f32', 'z');
    const s = ctx.upload(new Float32Array(8), [8], 'f32', 'stats');
    expect(() => latentPack(ctx, z, s, s, 1e-4)).toThrow(/z \[2, 3, 4\] ≠ \[2, 2h, 2w\]/);
  });
});
