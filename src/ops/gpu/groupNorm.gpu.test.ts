import { describe, expect, it } from 'vitest';
import { groupNorm as groupNormCpu, groupNormApply as applyCpu, groupNormMerge as mergeCpu, groupNormStats as statsCpu } from '../cpu/groupNorm';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import { groupNorm, groupNormApply, groupNormMerge, groupNormStats } from './groupNorm';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu, testGpuVariants } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// f32 statistics (per-row shifted per-thread sums, Chan merges) and inverseSqrt (≤ 2 ulp) against
// f64 two-pass row sums merged in f64; outputs are O(3). Observed max abs error 4.8e-7 on SwiftShader.
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
  // 6400 values in one group, 320 per row: 20 row partials merged.
  { c: 16, groups: 1, h: 20, w: 20, silu: false, dtype: 'bf16', offset: 0 },
  // 300 rows: the merge threads take two rows each (rows ≥ 256), one of 2 values (W = 1).
  { c: 4, groups: 2, h: 300, w: 1, silu: true, dtype: 'f32', offset: 0 },
  // Mean 1000, std 1: naive f32 Σx² − (Σx)²/n would lose ~all digits of the variance here.
  { c: 16, groups: 1, h: 20, w: 20, silu: true, dtype: 'f32', offset: 1000 },
];

describe('group_norm.wgsl', () => {
  it.each(CASES)('matches the CPU twin (workgroup and subgroup reductions): C $c, G $groups, $h×$w, silu $silu, $dtype, offset $offset', async (k) => {
    for (const { name, ctx } of await testGpuVariants()) {
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
      expectClose(got, ref, k.offset ? TOL_OFFSET : TOL, `groupNorm (${name})`);
    }
  });

  it('statistics gathered band by band equal one call over the image, bit for bit (each reduction)', async () => {
    for (const { name, ctx } of await testGpuVariants()) {
      const [c, groups, h, w] = [8, 2, 23, 5];
      const xv = new Rng(7).normals(c * h * w, 1);
      const read = async (t: GpuTensor) => Array.from(await ctx.read(t));
      const whole = groupNormStats(ctx, ctx.upload(xv, [c, h, w], 'f32', 'x'), groups, ctx.alloc([groups, h, 3], 'p'), 0);
      // bands [0, 9), [9, 17), [17, 23), each read out of a taller tensor with one halo row around it
      const banded = ctx.alloc([groups, h, 3], 'p');
      for (const [a, b] of [[0, 9], [9, 17], [17, 23]] as const) {
        const lo = Math.max(0, a - 1);
        const hi = Math.min(h, b + 1);
        const band = new Float32Array(c * (hi - lo) * w);
        for (let ch = 0; ch < c; ch++) band.set(xv.subarray((ch * h + lo) * w, (ch * h + hi) * w), ch * (hi - lo) * w);
        groupNormStats(ctx, ctx.upload(band, [c, hi - lo, w], 'f32', 'band'), groups, banded, a, [a - lo, b - a]);
      }
      expect(await read(banded)).toEqual(await read(whole));
      const stats = await read(groupNormMerge(ctx, whole));
      expect(await read(groupNormMerge(ctx, banded))).toEqual(stats);
      // and against the CPU twin: count exact, mean and M2 within f32 summation error (observed 2e-7 rel)
      const want = mergeCpu(statsCpu(cpuTensor(xv, [c, h, w]), groups, cpuTensor(new Float32Array(groups * h * 3), [groups, h, 3]), 0));
      expectClose(stats, want.data, { atol: 1e-5, rtol: 1e-5 }, `merged stats (${name})`);
      expect([stats[0], stats[3]]).toEqual([(c / groups) * h * w, (c / groups) * h * w]);
    }
  });

  it('groupNormApply on a band with given statistics matches the CPU twin', async () => {
    const ctx = await testGpu();
    const xv = new Rng(9).normals(6 * 4 * 3, 1);
    const sv = new Float32Array([60, 0.5, 70, 36, -1, 20, 12, 2, 3]); // 3 groups: (count, mean, M2)
    const [w, wCpu] = param(ctx, new Rng(10).normals(6, 1), 'bf16');
    const [b, bCpu] = param(ctx, new Rng(11).normals(6, 1), 'f16');
    const y = groupNormApply(ctx, ctx.upload(xv, [6, 4, 3], 'f32', 'x'), ctx.upload(sv, [3, 3], 'f32', 'stats'), w, b, 1e-6, true);
    const want = applyCpu(cpuTensor(xv, [6, 4, 3]), cpuTensor(sv, [3, 3]), wCpu, bCpu, 1e-6, true);
    expectClose(await ctx.read(y), want.data, TOL, 'groupNormApply');
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

  it('rejects band rows outside x or outside the partials', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(2 * 3 * 2), [2, 3, 2], 'f32', 'x');
    expect(() => groupNormStats(ctx, x, 1, ctx.alloc([1, 5, 3], 'p'), 0, [1, 3])).toThrow(/rows \[1, 4\) outside x/);
    expect(() => groupNormStats(ctx, x, 1, ctx.alloc([1, 5, 3], 'p'), 3)).toThrow(/image rows \[3, 6\) outside partials/);
  });
});
