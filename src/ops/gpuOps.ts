/** The WebGPU backend of `Ops`: each method forwards to its kernel wrapper in ./gpu. */
import type { GpuContext, GpuTensor } from '../gpu/context';
import { type WeightFormat, isQuantLayoutFormat } from '../util/quant';
import type { AttentionOptions, Conv2dOptions, LinearOptions, Ops, RopeLayout } from './ops';
import type { GemmOptions } from './gemmOptions';
import type { QkNormRopeOptions } from './qkNormRopeOptions';
import { attention } from './gpu/attention';
import { gemm, rowStats } from './gpu/gemm';
import { qkNormRope } from './gpu/qkNormRope';
import { concatCols } from './gpu/concatCols';
import { conv2d } from './gpu/conv2d';
import { embedding } from './gpu/embedding';
import { groupNorm, groupNormApply, groupNormMerge, groupNormStats } from './gpu/groupNorm';
import { copyRows } from './gpu/copyRows';
import { latentPack } from './gpu/latentPack';
import { latentUnpack } from './gpu/latentUnpack';
import { layerNormModulate } from './gpu/layerNormModulate';
import { linear, uploadQuantized } from './gpu/linear';
import { residual } from './gpu/residual';
import { rmsNorm } from './gpu/rmsNorm';
import { rope } from './gpu/rope';
import { concatRows, sliceRows } from './gpu/rows';
import { silu } from './gpu/silu';
import { siluMul } from './gpu/siluMul';
import { toRgba8 } from './gpu/toRgba8';
import { transpose } from './gpu/transpose';
import { upsampleNearest2x } from './gpu/upsampleNearest2x';

export class GpuOps implements Ops<GpuTensor> {
  readonly backend = 'gpu';

  constructor(readonly ctx: GpuContext) {}

  get prefersF16(): boolean {
    return this.ctx.device.features.has('shader-f16');
  }

  get maxBindingBytes(): number {
    const { limits } = this.ctx.device;
    return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  }

  fromHost(data: Float32Array, shape: readonly number[], label: string): GpuTensor {
    return this.ctx.upload(data, shape, 'f32', label);
  }
  weight(bytes: Uint8Array, dtype: WeightFormat, shape: readonly number[], label: string, group?: number): GpuTensor {
    if (isQuantLayoutFormat(dtype)) return uploadQuantized(this.ctx, bytes, dtype, shape, label, group);
    return this.ctx.upload(bytes, shape, dtype, label, true);
  }
  read(t: GpuTensor): Promise<Float32Array> {
    return this.ctx.read(t);
  }
  shape(t: GpuTensor): readonly number[] {
    return t.shape;
  }
  tidy<R>(fn: () => R): R {
    return this.ctx.tidy(fn);
  }
  reshape(x: GpuTensor, shape: readonly number[]): GpuTensor {
    return this.ctx.reshape(x, shape);
  }
  empty(shape: readonly number[], label: string, f16 = false): GpuTensor {
    return this.ctx.alloc(shape, label, f16 ? 'f16' : 'f32');
  }
  release(t: GpuTensor): void {
    this.ctx.release(t);
  }
  sync(): Promise<void> {
    return this.ctx.sync();
  }
  trim(): void {
    this.ctx.pool.trim();
  }
  setReuseLimit(bytes: number): void {
    this.ctx.pool.limitBytes = bytes;
  }

  linear(x: GpuTensor, w: GpuTensor, opts?: LinearOptions<GpuTensor>): GpuTensor {
    return linear(this.ctx, x, w, opts);
  }
  attention(q: GpuTensor, k: GpuTensor, v: GpuTensor, opts: AttentionOptions<GpuTensor>): GpuTensor {
    return attention(this.ctx, q, k, v, opts);
  }
  gemm(x: GpuTensor, w: GpuTensor, opts?: GemmOptions<GpuTensor>): GpuTensor {
    return gemm(this.ctx, x, w, opts);
  }
  rowStats(x: GpuTensor, eps: number): GpuTensor {
    return rowStats(this.ctx, x, eps);
  }
  qkNormRope(x: GpuTensor, table: GpuTensor, opts: QkNormRopeOptions<GpuTensor>): GpuTensor {
    return qkNormRope(this.ctx, x, table, opts);
  }
  rmsNorm(x: GpuTensor, w: GpuTensor, eps: number, cols?: number): GpuTensor {
    return rmsNorm(this.ctx, x, w, eps, cols);
  }
  layerNormModulate(x: GpuTensor, mod: GpuTensor, shiftChunk: number, scaleChunk: number, eps: number): GpuTensor {
    return layerNormModulate(this.ctx, x, mod, shiftChunk, scaleChunk, eps);
  }
  groupNorm(x: GpuTensor, w: GpuTensor, b: GpuTensor, groups: number, eps: number, withSilu: boolean): GpuTensor {
    return groupNorm(this.ctx, x, w, b, groups, eps, withSilu);
  }
  groupNormStats(x: GpuTensor, groups: number, partials: GpuTensor, row: number, xRows?: readonly [number, number]): GpuTensor {
    return groupNormStats(this.ctx, x, groups, partials, row, xRows);
  }
  groupNormMerge(partials: GpuTensor): GpuTensor {
    return groupNormMerge(this.ctx, partials);
  }
  groupNormApply(x: GpuTensor, stats: GpuTensor, w: GpuTensor, b: GpuTensor, eps: number, withSilu: boolean): GpuTensor {
    return groupNormApply(this.ctx, x, stats, w, b, eps, withSilu);
  }
  rope(x: GpuTensor, table: GpuTensor, heads: number, layout: RopeLayout): GpuTensor {
    return rope(this.ctx, x, table, heads, layout);
  }
  siluMul(gate: GpuTensor, up: GpuTensor): GpuTensor {
    return siluMul(this.ctx, gate, up);
  }
  silu(x: GpuTensor): GpuTensor {
    return silu(this.ctx, x);
  }
  residual(x: GpuTensor, y: GpuTensor, gate?: { mod: GpuTensor; chunk: number }): GpuTensor {
    return residual(this.ctx, x, y, gate);
  }
  embedding(ids: Int32Array, table: GpuTensor): GpuTensor {
    return embedding(this.ctx, ids, table);
  }
  concatRows(a: GpuTensor, b: GpuTensor): GpuTensor {
    return concatRows(this.ctx, a, b);
  }
  concatCols(a: GpuTensor, b: GpuTensor): GpuTensor {
    return concatCols(this.ctx, a, b);
  }
  sliceRows(x: GpuTensor, start: number, count: number): GpuTensor {
    return sliceRows(this.ctx, x, start, count);
  }
  transpose(x: GpuTensor): GpuTensor {
    return transpose(this.ctx, x);
  }
  copyRows(dst: GpuTensor, src: GpuTensor, dstRow: number, srcRow: number, rows: number): GpuTensor {
    return copyRows(this.ctx, dst, src, dstRow, srcRow, rows);
  }
  conv2d(x: GpuTensor, w: GpuTensor, b: GpuTensor | null, opts?: Conv2dOptions): GpuTensor {
    return conv2d(this.ctx, x, w, b, opts);
  }
  upsampleNearest2x(x: GpuTensor): GpuTensor {
    return upsampleNearest2x(this.ctx, x);
  }
  latentUnpack(tokens: GpuTensor, mean: GpuTensor, variance: GpuTensor, h: number, w: number, eps: number): GpuTensor {
    return latentUnpack(this.ctx, tokens, mean, variance, h, w, eps);
  }
  latentPack(z: GpuTensor, mean: GpuTensor, variance: GpuTensor, eps: number): GpuTensor {
    return latentPack(this.ctx, z, mean, variance, eps);
  }
  toRgba8(x: GpuTensor): Promise<Uint8ClampedArray> {
    return toRgba8(this.ctx, x);
  }
}
