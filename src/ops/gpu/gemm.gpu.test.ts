/**
 * gemm.wgsl + row_stats.wgsl against their CPU twins (../cpu/gemm.ts): every weight format, the
 * LayerNorm prologue on values far from zero, SwiGLU, the K-concatenated second input, f16 inputs and
 * outputs, row windows of x and of an output written or added in place (with a gate), the LoRA term.
 */
import { describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu, testGpuVariants } from '../../testing/gpu';
import { expectClose } from '../../testing/expectClose';
import { Rng } from '../../util/rng';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';
import { type QuantLayoutFormat, dequantize, isQuantLayoutFormat, quantize } from '../../util/quant';
import type { GemmOptions } from '../gemmOptions';
import { gemm as gemmCpu, rowStats as rowStatsCpu } from '../cpu/gemm';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import { uploadQuantized } from './linear';
import { gemm, rowStats } from './gemm';

// f32 outputs: K products summed in f32 (fma) against an f64 oracle on identical inputs, outputs O(1)
// (weights ~1/√K): observed max abs error 3e-6 at K = 160 on SwiGLU products. f16 outputs: the GPU and
// the oracle both round to f16, so they differ by at most one f16 ulp where the f32 sum lies near a
// rounding boundary (2^-10 relative).
const TOL_F32 = { atol: 2e-5, rtol: 1e-4 };
const TOL_F16 = { atol: 2e-3, rtol: 2e-3 };
// The LayerNorm prologue on rows near 1000 (spread 3): the GPU subtracts its f32 mean from f32 values
// whose spacing there is 6e-5, the twin an f64 mean; observed max abs error 3.0e-5 on outputs O(1).
const TOL_LN = { atol: 1e-4, rtol: 1e-4 };
// LayerNorm statistics of rows with mean 1000 and spread 3 (a residual stream far from zero): the
// corrected two-pass keeps f32 close; observed max relative error of rstd 2e-6.
const TOL_STATS = { atol: 1e-3, rtol: 1e-5 };

type WFormat = DType | QuantLayoutFormat;

/** Uploads `values` as an activation in f32 or f16; returns it and the stored values. */
function act(ctx: GpuContext, values: Float32Array, shape: number[], f16: boolean): [GpuTensor, CpuTensor] {
  if (!f16) return [ctx.upload(values, shape, 'f32', 'x'), cpuTensor(values, shape)];
  const bits = f32ToF16(values);
  return [ctx.upload(bits, shape, 'f16', 'x16'), cpuTensor(f16ToF32(bits), shape)];
}

/** A [rows, K] weight in `format` (scale 1/√K; quantized with `group` weights per scale, default q8 32, q4 64, q8m 32), and its decoded values. */
function weight(ctx: GpuContext, rng: Rng, rows: number, k: number, format: WFormat, group?: number): [GpuTensor, CpuTensor] {
  const v = rng.normals(rows * k, 1 / Math.sqrt(k));
  if (isQuantLayoutFormat(format)) {
    const q = quantize(v, rows, k, format, group ?? (format === 'q4' ? 64 : 32));
    return [uploadQuantized(ctx, q.data, format, [rows, k], 'w', q.groupSize), cpuTensor(dequantize(q), [rows, k])];
  }
  if (format === 'f32') return [ctx.upload(v, [rows, k], 'f32', 'w', true), cpuTensor(v, [rows, k])];
  const bits = format === 'bf16' ? f32ToBf16(v) : f32ToF16(v);
  return [ctx.upload(bits, [rows, k], format, 'w', true), cpuTensor(format === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits), [rows, k])];
}

interface Case {
  name: string;
  M: number;
  K1: number;
  K2?: number;
  wRows: number;
  format: WFormat;
  /** Quantized weights per scale (weight()'s default when absent). */
  group?: number;
  rows?: [number, number];
  bias?: boolean;
  xF16?: boolean;
  f16?: boolean;
  norm?: boolean;
  swiglu?: number;
  xRows?: [number, number];
  /** into: a [total, N] output, written at row0 (or added with residual/gate). */
  into?: { total: number; row0: number; col0?: number; width?: number; residual?: boolean; gate?: boolean };
  /** A LoRA term of this rank: u [M, R] and b [wRows, R] f32 (model/lora.ts). */
  lora?: number;
}

const CASES: Case[] = [
  { name: 'bf16 weights, bias, a row window of W, edges off the tiles', M: 70, K1: 67, wRows: 90, format: 'bf16', rows: [5, 66], bias: true },
  { name: 'f32 weights, one tile exactly', M: 64, K1: 64, wRows: 64, format: 'f32' },
  { name: 'q4 G64 weights, f16 in and out', M: 80, K1: 128, wRows: 70, format: 'q4', rows: [2, 66], xF16: true, f16: true },
  { name: 'q8 G32 weights, f16 out', M: 65, K1: 96, wRows: 40, format: 'q8', f16: true },
  { name: 'q8 G16 weights (GGUF Q6_K repacks)', M: 65, K1: 96, wRows: 40, format: 'q8', group: 16 },
  { name: 'q4 G16 weights (GGUF Q3_K repacks), f16 out', M: 70, K1: 96, wRows: 40, format: 'q4', group: 16, f16: true },
  { name: 'q8m G32 weights (GGUF Q5_1 / Q5_K repacks), bias, K off the groups', M: 70, K1: 100, wRows: 40, format: 'q8m', bias: true },
  { name: 'q8m G16 SwiGLU, f16 in and out', M: 66, K1: 96, wRows: 80, format: 'q8m', group: 16, rows: [0, 40], swiglu: 40, xF16: true, f16: true },
  { name: 'f16 weights, LayerNorm + modulation prologue on values near 1000', M: 90, K1: 96, wRows: 50, format: 'f16', norm: true },
  { name: 'SwiGLU with bias: gate rows [3, 43), value rows [50, 90)', M: 75, K1: 80, wRows: 100, format: 'bf16', rows: [3, 40], swiglu: 50, bias: true },
  { name: 'q4 SwiGLU, f16 out', M: 70, K1: 128, wRows: 130, format: 'q4', rows: [0, 64], swiglu: 64, f16: true },
  { name: '[x | x2] K-concatenation, f16 inputs', M: 66, K1: 40, K2: 24, wRows: 34, format: 'bf16', xF16: true },
  { name: 'x rows [20, 70) stored into rows [7, 57) of an f16 joint buffer', M: 50, K1: 64, wRows: 48, format: 'q8', xRows: [20, 50], f16: true, into: { total: 100, row0: 7 } },
  { name: 'into columns [48, 96) of rows [30, 100) of a [120, 150] f16 q|k|v buffer', M: 70, K1: 64, wRows: 48, format: 'bf16', f16: true, into: { total: 120, row0: 30, col0: 48, width: 150 } },
  { name: 'gated residual into rows [10, 60) of an f32 stream, [x | x2] input', M: 50, K1: 48, K2: 32, wRows: 64, format: 'q4', into: { total: 80, row0: 10, residual: true, gate: true } },
  { name: 'f16 x rows [11, 81) two per load, 16-word slab rows off the tile edge', M: 70, K1: 82, wRows: 40, format: 'q4', xRows: [11, 70], xF16: true },
  { name: 'f16 [x | x2] with odd K1: one activation per load', M: 66, K1: 33, K2: 31, wRows: 34, format: 'f16', xF16: true, f16: true },
  { name: 'LoRA rank 4 term on q8 weights, a row window of W', M: 70, K1: 96, wRows: 60, format: 'q8', rows: [7, 44], lora: 4 },
  { name: 'LoRA rank 20 (two slabs of R) under the LayerNorm prologue into an f16 window', M: 66, K1: 64, wRows: 48, format: 'q4', norm: true, f16: true, lora: 20, into: { total: 80, row0: 9, col0: 16, width: 96 } },
  { name: 'LoRA rank 8 under SwiGLU (gate and value rows of b), f16 in', M: 70, K1: 64, wRows: 100, format: 'bf16', rows: [2, 40], swiglu: 52, xF16: true, lora: 8 },
  { name: 'LoRA rank 16 on [x | x2] with a gated residual', M: 50, K1: 48, K2: 32, wRows: 64, format: 'q4', into: { total: 80, row0: 10, residual: true, gate: true }, lora: 16 },
  { name: 'LayerNorm prologue on x rows [30, 95) and an ungated residual', M: 65, K1: 64, wRows: 64, format: 'bf16', norm: true, xRows: [30, 65], into: { total: 65, row0: 0, residual: true } },
];

describe('gemm (gemm.wgsl) and rowStats (row_stats.wgsl)', () => {
  it('rowStats matches its twin on rows far from zero (workgroup and subgroup reductions)', async () => {
    const variants = await testGpuVariants();
    for (const [rows, d] of [[33, 300], [5, 3072], [3, 7]] as const) {
      const rng = new Rng(3 + d);
      const v = rng.normals(rows * d, 3).map((a) => a + 1000);
      const want = rowStatsCpu(cpuTensor(v, [rows, d]), 1e-6).data;
      // compare mean = m + c and rstd
      const merge = (s: Float32Array) => Float32Array.from({ length: 2 * rows }, (_, i) => (i % 2 === 0 ? (s[3 * (i >> 1)] as number) + (s[3 * (i >> 1) + 1] as number) : (s[3 * (i >> 1) + 2] as number)));
      for (const { name, ctx } of variants) {
        const got = await ctx.read(ctx.tidy(() => rowStats(ctx, ctx.upload(v, [rows, d], 'f32', 'x'), 1e-6)));
        expectClose(merge(got), merge(want), TOL_STATS, `row stats [${rows}, ${d}] (${name})`);
      }
    }
  });

  for (const c of CASES) {
    it(`matches its CPU twin: ${c.name}`, async () => {
      const ctx = await testGpu();
      const rng = new Rng(c.M * 31 + c.K1);
      const N = c.rows?.[1] ?? c.wRows;
      const K = c.K1 + (c.K2 ?? 0);
      const xTotal = c.xRows ? c.xRows[0] + c.xRows[1] + 5 : c.M;
      const xv = rng.normals(xTotal * c.K1, c.norm ? 3 : 1).map((a) => (c.norm ? a + 1000 : a));
      const x2v = c.K2 ? rng.normals(c.M * c.K2) : null;
      const mod = rng.normals(6 * Math.max(K, N), 0.2);
      const biasV = rng.normals(c.wRows, 0.1);
      const W = c.into?.width ?? N;
      const intoV = c.into ? rng.normals(c.into.total * W) : null;
      const uV = c.lora ? rng.normals(c.M * c.lora) : null;
      const bV = c.lora ? rng.normals(c.wRows * c.lora, 0.3) : null;
      const gpuOut = ctx.tidy(() => {
        const [x] = act(ctx, xv, [xTotal, c.K1], c.xF16 === true);
        const [w] = weight(ctx, new Rng(7), c.wRows, K, c.format, c.group);
        const o: GemmOptions<GpuTensor> = {};
        if (c.rows) o.rows = c.rows;
        if (c.bias) o.bias = ctx.upload(f32ToBf16(biasV), [c.wRows], 'bf16', 'b', true);
        if (x2v) o.x2 = act(ctx, x2v, [c.M, c.K2 as number], c.xF16 === true)[0];
        if (c.xRows) o.xRows = c.xRows;
        const modT = ctx.upload(mod, [mod.length], 'f32', 'mod');
        if (c.norm) o.norm = { stats: rowStats(ctx, x, 1e-6), mod: modT, shiftChunk: 1, scaleChunk: 3 };
        if (c.swiglu !== undefined) o.swiglu = { valueRow0: c.swiglu };
        if (c.f16) o.f16 = true;
        if (c.lora && uV && bV) o.lora = { u: ctx.upload(uV, [c.M, c.lora], 'f32', 'u'), b: ctx.upload(bV, [c.wRows, c.lora], 'f32', 'b') };
        if (c.into && intoV) {
          const t = c.f16 ? ctx.upload(f32ToF16(intoV), [c.into.total, W], 'f16', 'into') : ctx.upload(intoV, [c.into.total, W], 'f32', 'into');
          o.into = { t, row0: c.into.row0, col0: c.into.col0 ?? 0 };
          if (c.into.residual) o.residual = c.into.gate ? { gate: { mod: modT, chunk: 2 } } : {};
        }
        return gemm(ctx, x, w, o);
      });
      const got = await ctx.read(gpuOut);

      const x = act(ctx, xv, [xTotal, c.K1], c.xF16 === true)[1];
      const w = weight(ctx, new Rng(7), c.wRows, K, c.format, c.group)[1];
      const o: GemmOptions<CpuTensor> = {};
      if (c.rows) o.rows = c.rows;
      if (c.bias) o.bias = cpuTensor(bf16ToF32(f32ToBf16(biasV)), [c.wRows]);
      if (x2v) o.x2 = act(ctx, x2v, [c.M, c.K2 as number], c.xF16 === true)[1];
      if (c.xRows) o.xRows = c.xRows;
      const modC = cpuTensor(mod, [mod.length]);
      if (c.norm) o.norm = { stats: rowStatsCpu(x, 1e-6), mod: modC, shiftChunk: 1, scaleChunk: 3 };
      if (c.swiglu !== undefined) o.swiglu = { valueRow0: c.swiglu };
      if (c.f16) o.f16 = true;
      if (c.lora && uV && bV) o.lora = { u: cpuTensor(uV, [c.M, c.lora]), b: cpuTensor(bV, [c.wRows, c.lora]) };
      if (c.into && intoV) {
        o.into = { t: cpuTensor(c.f16 ? f16ToF32(f32ToF16(intoV)) : Float32Array.from(intoV), [c.into.total, W], c.f16 === true), row0: c.into.row0, col0: c.into.col0 ?? 0 };
        if (c.into.residual) o.residual = c.into.gate ? { gate: { mod: modC, chunk: 2 } } : {};
      }
      const want = gemmCpu(x, w, o).data;
      expect(got.length).toBe(want.length);
      expectClose(got, want, c.f16 ? TOL_F16 : c.norm ? TOL_LN : TOL_F32, c.name);
      if (c.into) {
        // everything outside the written window is untouched
        const [r0, c0] = [c.into.row0, c.into.col0 ?? 0];
        const inside = (i: number) => Math.floor(i / W) >= r0 && Math.floor(i / W) < r0 + c.M && i % W >= c0 && i % W < c0 + N;
        const outside = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => !inside(i));
        expect(outside(got)).toEqual(outside(c.f16 ? f16ToF32(f32ToF16(intoV as Float32Array)) : (intoV as Float32Array)));
      }
    });
  }
});
