/**
 * The CPU backend of `Ops`: plain-TypeScript loops (./cpu), weights decoded to f32. The oracle for
 * kernel tests and a reference run of the model code against the golden data. No memory
 * management: tensors are garbage-collected.
 */
import { QUANT_GROUP, type WeightFormat, dequantize, isQuantLayoutFormat } from '../util/quant';
import { decodeToF32 } from '../util/dtype';
import { assert, fmtShape, numel } from '../util/assert';
import type { AttentionOptions, Conv2dOptions, LinearOptions, Ops, RopeLayout } from './ops';
import { type CpuTensor, cpuTensor } from './cpu/tensor';
import type { GemmOptions } from './gemmOptions';
import type { QkNormRopeOptions } from './qkNormRopeOptions';
import { attention } from './cpu/attention';
import { gemm, rowStats } from './cpu/gemm';
import { qkNormRope } from './cpu/qkNormRope';
import { concatCols } from './cpu/concatCols';
import { conv2d } from './cpu/conv2d';
import { embedding } from './cpu/embedding';
import { groupNorm, groupNormApply, groupNormMerge, groupNormStats } from './cpu/groupNorm';
import { copyRows } from './cpu/copyRows';
import { latentPack } from './cpu/latentPack';
import { latentUnpack } from './cpu/latentUnpack';
import { layerNormModulate } from './cpu/layerNormModulate';
import { linear } from './cpu/linear';
import { residual } from './cpu/residual';
import { rmsNorm } from './cpu/rmsNorm';
import { rope } from './cpu/rope';
import { concatRows, sliceRows } from './cpu/rows';
import { silu } from './cpu/silu';
import { siluMul } from './cpu/siluMul';
import { toRgba8 } from './cpu/toRgba8';
import { transpose } from './cpu/transpose';
import { upsampleNearest2x } from './cpu/upsampleNearest2x';

export class CpuOps implements Ops<CpuTensor> {
  readonly backend = 'cpu';
  readonly prefersF16 = false;
  readonly maxBindingBytes = Infinity;

  fromHost(data: Float32Array, shape: readonly number[]): CpuTensor {
    return cpuTensor(data.slice(), shape);
  }
  weight(bytes: Uint8Array, dtype: WeightFormat, shape: readonly number[], _label?: string, group?: number): CpuTensor {
    if (!isQuantLayoutFormat(dtype)) return cpuTensor(decodeToF32(bytes, dtype), shape);
    assert(shape.length === 2, () => `a ${dtype} weight must be [N, K], got ${fmtShape(shape)}`);
    const [rows, cols] = shape as [number, number];
    return cpuTensor(dequantize({ format: dtype, rows, cols, groupSize: group ?? QUANT_GROUP[dtype], data: bytes }), shape);
  }
  read(t: CpuTensor): Promise<Float32Array> {
    return Promise.resolve(t.data.slice());
  }
  shape(t: CpuTensor): readonly number[] {
    return t.shape;
  }
  tidy<R>(fn: () => R): R {
    return fn();
  }
  reshape(x: CpuTensor, shape: readonly number[]): CpuTensor {
    assert(numel(shape) === x.data.length, () => `reshape ${fmtShape(x.shape)} → ${fmtShape(shape)}`);
    return cpuTensor(x.data, shape, x.f16 === true);
  }
  empty(shape: readonly number[], _label?: string, f16 = false): CpuTensor {
    return cpuTensor(new Float32Array(numel(shape)), shape, f16);
  }
  release(): void {}
  trim(): void {}
  setReuseLimit(): void {}
  /**
   * The CPU loops run synchronously; sync() yields one macrotask so that a caller's event loop (the
   * server's sockets, timers, abort signals) is served between the pipeline's steps and stages.
   */
  sync(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  linear(x: CpuTensor, w: CpuTensor, opts?: LinearOptions<CpuTensor>): CpuTensor {
    return linear(x, w, opts);
  }
  attention(q: CpuTensor, k: CpuTensor, v: CpuTensor, opts: AttentionOptions<CpuTensor>): CpuTensor {
    return attention(q, k, v, opts);
  }
  gemm(x: CpuTensor, w: CpuTensor, opts?: GemmOptions<CpuTensor>): CpuTensor {
    return gemm(x, w, opts);
  }
  rowStats(x: CpuTensor, eps: number): CpuTensor {
    return rowStats(x, eps);
  }
  qkNormRope(x: CpuTensor, table: CpuTensor, opts: QkNormRopeOptions<CpuTensor>): CpuTensor {
    return qkNormRope(x, table, opts, x.f16 === true);
  }
  rmsNorm(x: CpuTensor, w: CpuTensor, eps: number, cols?: number): CpuTensor {
    return rmsNorm(x, w, eps, cols);
  }
  layerNormModulate(x: CpuTensor, mod: CpuTensor, shiftChunk: number, scaleChunk: number, eps: number): CpuTensor {
    return layerNormModulate(x, mod, shiftChunk, scaleChunk, eps);
  }
  groupNorm(x: CpuTensor, w: CpuTensor, b: CpuTensor, groups: number, eps: number, withSilu: boolean): CpuTensor {
    return groupNorm(x, w, b, groups, eps, withSilu);
  }
  groupNormStats(x: CpuTensor, groups: number, partials: CpuTensor, row: number, xRows?: readonly [number, number]): CpuTensor {
    return groupNormStats(x, groups, partials, row, xRows);
  }
  groupNormMerge(partials: CpuTensor): CpuTensor {
    return groupNormMerge(partials);
  }
  groupNormApply(x: CpuTensor, stats: CpuTensor, w: CpuTensor, b: CpuTensor, eps: number, withSilu: boolean): CpuTensor {
    return groupNormApply(x, stats, w, b, eps, withSilu);
  }
  rope(x: CpuTensor, table: CpuTensor, heads: number, layout: RopeLayout): CpuTensor {
    return rope(x, table, heads, layout);
  }
  siluMul(gate: CpuTensor, up: CpuTensor): CpuTensor {
    return siluMul(gate, up);
  }
  silu(x: CpuTensor): CpuTensor {
    return silu(x);
  }
  residual(x: CpuTensor, y: CpuTensor, gate?: { mod: CpuTensor; chunk: number }): CpuTensor {
    return residual(x, y, gate);
  }
  embedding(ids: Int32Array, table: CpuTensor): CpuTensor {
    return embedding(ids, table);
  }
  concatRows(a: CpuTensor, b: CpuTensor): CpuTensor {
    return concatRows(a, b);
  }
  concatCols(a: CpuTensor, b: CpuTensor): CpuTensor {
    return concatCols(a, b);
  }
  sliceRows(x: CpuTensor, start: number, count: number): CpuTensor {
    return sliceRows(x, start, count);
  }
  transpose(x: CpuTensor): CpuTensor {
    return transpose(x);
  }
  copyRows(dst: CpuTensor, src: CpuTensor, dstRow: number, srcRow: number, rows: number): CpuTensor {
    return copyRows(dst, src, dstRow, srcRow, rows);
  }
  conv2d(x: CpuTensor, w: CpuTensor, b: CpuTensor | null, opts?: Conv2dOptions): CpuTensor {
    return conv2d(x, w, b, opts);
  }
  upsampleNearest2x(x: CpuTensor): CpuTensor {
    return upsampleNearest2x(x);
  }
  latentUnpack(tokens: CpuTensor, mean: CpuTensor, variance: CpuTensor, h: number, w: number, eps: number): CpuTensor {
    return latentUnpack(tokens, mean, variance, h, w, eps);
  }
  latentPack(z: CpuTensor, mean: CpuTensor, variance: CpuTensor, eps: number): CpuTensor {
    return latentPack(z, mean, variance, eps);
  }
  toRgba8(x: CpuTensor): Promise<Uint8ClampedArray> {
    return toRgba8(x);
  }
}
