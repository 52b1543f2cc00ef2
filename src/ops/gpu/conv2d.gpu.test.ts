import { describe, expect, it } from 'vitest';
import { conv2d as conv2dCpu } from '../cpu/conv2d';
import { upsampleNearest2x as upsampleCpu } from '../cpu/upsampleNearest2x';
import { upsampleNearest2x } from './upsampleNearest2x';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import type { Conv2dOptions } from '../ops';
import { conv2d } from './conv2d';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// f32 fma accumulation over K ≤ 144 products of N(0,1)·N(0,0.3) values (|y| up to ~15) against the
// f64 CPU sum; observed max abs error 4.8e-6 (Ci 16, K = 144) on SwiftShader.
const TOL = { atol: 2e-5, rtol: 1e-5 };

/** Random weight values rounded to `dtype`: the GPU gets the packed bits, the CPU the exact f32 values. */
function weight(ctx: GpuContext, rng: Rng, shape: number[], dtype: DType, scale: number): [GpuTensor, CpuTensor] {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = rng.normals(n, scale);
  const bits = dtype === 'bf16' ? f32ToBf16(v) : dtype === 'f16' ? f32ToF16(v) : null;
  const exact = bits ? (dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits)) : v;
  return [ctx.upload(bits ?? v, shape, dtype, 'w'), cpuTensor(exact, shape)];
}

interface Case {
  ci: number;
  co: number;
  h: number;
  w: number;
  k: number;
  opts?: Conv2dOptions;
  wDtype: DType;
  bDtype: DType | null;
}

const CASES: Case[] = [
  { ci: 3, co: 5, h: 7, w: 9, k: 3, wDtype: 'bf16', bDtype: 'bf16' }, // K = 27, odd weight count
  { ci: 16, co: 70, h: 9, w: 11, k: 3, wDtype: 'f32', bDtype: 'f32' }, // two channel tiles, two pixel tiles
  { ci: 13, co: 6, h: 20, w: 20, k: 1, wDtype: 'f16', bDtype: 'f32' }, // 1×1, pad 0
  { ci: 5, co: 7, h: 17, w: 20, k: 3, opts: { stride: 2, pad: [0, 0, 1, 1] }, wDtype: 'bf16', bDtype: 'bf16' }, // Downsample2D
  { ci: 4, co: 3, h: 15, w: 13, k: 3, opts: { stride: 2 }, wDtype: 'f32', bDtype: null }, // no bias, symmetric pad
  { ci: 2, co: 2, h: 6, w: 5, k: 3, opts: { pad: [2, 0, 1, 3] }, wDtype: 'f16', bDtype: 'f16' }, // asymmetric pad
  { ci: 6, co: 9, h: 5, w: 7, k: 3, opts: { upsample: 2 }, wDtype: 'bf16', bDtype: 'bf16' }, // Upsample2D, fused
  { ci: 3, co: 4, h: 4, w: 3, k: 3, opts: { upsample: 2, pad: [0, 1, 1, 1] }, wDtype: 'f32', bDtype: 'f32' }, // a band's conv
];

describe('conv2d.wgsl', () => {
  it.each(CASES)('matches the CPU twin: Ci $ci → Co $co, $h×$w, k $k, $wDtype weights', async (c) => {
    const ctx = await testGpu();
    const rng = new Rng(c.ci * 1000 + c.co);
    const xv = rng.normals(c.ci * c.h * c.w, 1);
    let want: CpuTensor | null = null;
    const y = ctx.tidy(() => {
      const [w, wCpu] = weight(ctx, rng, [c.co, c.ci, c.k, c.k], c.wDtype, 0.3);
      const [b, bCpu] = c.bDtype ? weight(ctx, rng, [c.co], c.bDtype, 1) : [null, null];
      want = conv2dCpu(cpuTensor(xv, [c.ci, c.h, c.w]), wCpu, bCpu, c.opts);
      return conv2d(ctx, ctx.upload(xv, [c.ci, c.h, c.w], 'f32', 'x'), w, b, c.opts);
    });
    const ref = want as unknown as CpuTensor;
    expect(y.shape).toEqual(ref.shape);
    const got = await ctx.read(y);
    ctx.release(y);
    expectClose(got, ref.data, TOL, 'conv2d');
  });

  it('hand-checked: 3×3 ones kernel on a 4×5 ones image gives 4 / 6 / 9 (corner / edge / inside)', async () => {
    const ctx = await testGpu();
    // Each output sums the in-bounds part of its 3×3 window: corners see 2×2 = 4 pixels, edges 2×3 = 6,
    // the inside 3×3 = 9; bias 0.5 is added to all.
    const y = conv2d(
      ctx,
      ctx.upload(new Float32Array(20).fill(1), [1, 4, 5], 'f32', 'x'),
      ctx.upload(new Float32Array(9).fill(1), [1, 1, 3, 3], 'f32', 'w'),
      ctx.upload(new Float32Array([0.5]), [1], 'f32', 'b'),
    );
    expect(Array.from(await ctx.read(y))).toEqual(
      [4, 6, 6, 6, 4, 6, 9, 9, 9, 6, 6, 9, 9, 9, 6, 4, 6, 6, 6, 4].map((v) => v + 0.5),
    );
  });

  it('hand-checked: Downsample2D pads only right and bottom (stride 2, pad [0, 0, 1, 1])', async () => {
    const ctx = await testGpu();
    // 4×4 ones → Ho = Wo = ⌊(4 + 1 − 3)/2⌋ + 1 = 2. Window rows/cols {0,1,2} are all inside (9);
    // {2,3,4} include the padded row/col 4 (3·2 = 6, or 2·2 = 4 for both). Symmetric padding would give 4, 6, 6, 9.
    const y = conv2d(
      ctx,
      ctx.upload(new Float32Array(16).fill(1), [1, 4, 4], 'f32', 'x'),
      ctx.upload(new Float32Array(9).fill(1), [1, 1, 3, 3], 'f32', 'w'),
      null,
      { stride: 2, pad: [0, 0, 1, 1] },
    );
    expect(y.shape).toEqual([1, 2, 2]);
    expect(Array.from(await ctx.read(y))).toEqual([9, 6, 6, 4]);
  });

  it('upsample 2 equals upsampleNearest2x then conv2d bit for bit (GPU and CPU twin)', async () => {
    const ctx = await testGpu();
    const rng = new Rng(42);
    const xv = rng.normals(5 * 6 * 7, 1);
    const [w, wCpu] = weight(ctx, rng, [7, 5, 3, 3], 'bf16', 0.3);
    const [b, bCpu] = weight(ctx, rng, [7], 'f32', 1);
    const x = ctx.upload(xv, [5, 6, 7], 'f32', 'x');
    const fused = conv2d(ctx, x, w, b, { upsample: 2 });
    expect(fused.shape).toEqual([7, 12, 14]);
    const twoStep = conv2d(ctx, upsampleNearest2x(ctx, x), w, b);
    expect(await ctx.read(fused)).toEqual(await ctx.read(twoStep));
    const xCpu = cpuTensor(xv, [5, 6, 7]);
    expect(conv2dCpu(xCpu, wCpu, bCpu, { upsample: 2 }).data).toEqual(conv2dCpu(upsampleCpu(xCpu), wCpu, bCpu).data);
  });

  it('rejects mismatched channels and bias shapes with the numbers', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(2 * 3 * 3), [2, 3, 3], 'f32', 'x');
    const w = ctx.upload(new Float32Array(4 * 3 * 9), [4, 3, 3, 3], 'f32', 'w');
    expect(() => conv2d(ctx, x, w, null)).toThrow(/2 channels.*expects 3/);
    const w2 = ctx.upload(new Float32Array(4 * 2 * 9), [4, 2, 3, 3], 'f32', 'w2');
    const b = ctx.upload(new Float32Array(3), [3], 'f32', 'b');
    expect(() => conv2d(ctx, x, w2, b)).toThrow(/b \[3\] ≠ \[4\]/);
  });
});
