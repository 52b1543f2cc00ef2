import { describe, expect, it } from 'vitest';
import { groupNorm as groupNormCpu } from '../cpu/groupNorm';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import { groupNorm } from './groupNorm';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// f32 statistics (shifted per-thread sums, Chan merges) and inverseSqrt (≤ 2 ulp) against f64
// two-pass sums; outputs are O(3). Observed max abs error 4.8e-7 on SwiftShader.
const TOL = { atol: 1e-5, rtol: 1e-5 };
// Inputs near 1000: the f32 mean itself carries up to ulp(1000)/2 = 3e-5 of rounding, scaled by
// |w|·rstd ≈ 2 in the output; observed 6.4e-5. Unshifted per-thread
// sums (naive Σx² − (Σx)²/n) fail this tolerance (checked).
const TOL_OFFSET = { atol: 2e-4, rtol: 1e-5 };

/** Random values rounded to `dtype`: the GPU gets the packed bits, the CPU the exact f32 values. */
function param(ctx: GpuContext, values: Float32Array, dtype: DType): [GpuTensor, CpuTensor] {
  const bits = dtype === 'bf16' ? f32ToBf16(values) : dtype === 'f16' ? f32ToF16(values) : null;
  const exact = bits ? (dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits)) : values;
  return [ctx.upload(bits ?? values, [values.length], dtype, 'param'), cpuTensor(exact, [values.length])];
}

interface Case {
  c: number;
  groups: number;
  h: number;
  w: number;
  silu: boolean;
  dtype: DType;
  /** Added to every input value (tests cancellation in the variance). */
  offset: number;
}

const CASES: Case[] = [
  { c: 16, groups: 4, h: 7, w: 9, silu: true, dtype: 'bf16', offset: 0 },
  { c: 6, groups: 3, h: 5, w: 3, silu: false, dtype: 'f16', offset: 0 },
  { c: 16, groups: 2, h: 20, w: 19, silu: true, dtype: 'f32', offset: 0 }, // 3040 values per group
  // 6400 values in one group: two 4096-chunks (the second partial), so the merge level runs too.
  { c: 16, groups: 1, h: 20, w: 20, silu: false, dtype: 'bf16', offset: 0 },
  // Mean 1000, std 1: naive f32 Σx² − (Σx)²/n would lose ~all digits of the variance here.
  { c: 16, groups: 1, h: 20, w: 20, silu: true, dtype: 'f32', offset: 1000 },
];

describe('group_norm.wgsl', () => {
  it.each(CASES)('matches the CPU twin: C $c, G $groups, $h×$w, silu $silu, $dtype, offset $offset', async (k) => {
    const ctx = await testGpu();
    const rng = new Rng(k.c * 100 + k.h);
    const xv = rng.normals(k.c * k.h * k.w, 1).map((v) => v + k.offset);
    const wv = rng.normals(k.c, 1);
    const bv = rng.normals(k.c, 0.5);
    let want: CpuTensor | null = null;
    const y = ctx.tidy(() => {
      const [w, wCpu] = param(ctx, wv, k.dtype);
      const [b, bCpu] = param(ctx, bv, k.dtype);
      want = groupNormCpu(cpuTensor(xv, [k.c, k.h, k.w]), wCpu, bCpu, k.groups, 1e-6, k.silu);
      return groupNorm(ctx, ctx.upload(xv, [k.c, k.h, k.w], 'f32', 'x'), w, b, k.groups, 1e-6, k.silu);
    });
    const got = await ctx.read(y);
    ctx.release(y);
    const ref = (want as unknown as CpuTensor).data;
    expectClose(got, ref, k.offset ? TOL_OFFSET : TOL, 'groupNorm');
  });

  it('hand-checked: one group over [0, 2, 4, 6]', async () => {
    const ctx = await testGpu();
    // x: [2, 1, 2] = channels [0, 2] and [4, 6]; mean 3, biased var (9 + 1 + 1 + 9)/4 = 5, eps 4 →
    // √9 = 3, x̂ = [−1, −1/3, 1/3, 1]; w = [1, 3], b = [0, 1] → [−1, −1/3, 2, 4].
    const y = groupNorm(
      ctx,
      ctx.upload(new Float32Array([0, 2, 4, 6]), [2, 1, 2], 'f32', 'x'),
      ctx.upload(new Float32Array([1, 3]), [2], 'f32', 'w'),
      ctx.upload(new Float32Array([0, 1]), [2], 'f32', 'b'),
      1,
      4,
      false,
    );
    const got = await ctx.read(y);
    expectClose(got, [-1, -1 / 3, 2, 4], { atol: 1e-6, rtol: 1e-6 }, 'groupNorm hand');
  });

  it('rejects channels not divisible by groups', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(6), [6, 1, 1], 'f32', 'x');
    const w = ctx.upload(new Float32Array(6), [6], 'f32', 'w');
    expect(() => groupNorm(ctx, x, w, w, 4, 1e-6, false)).toThrow(/6 channels not divisible into 4 groups/);
  });
});
