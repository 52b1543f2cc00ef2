/**
 * An Ops wrapper that counts the FLOPs of the heavy ops (benchmarks), forwarding everything:
 * - linear x: [M, K] · w: [N, K]ᵀ (N = rows count when given) → 2·M·N·K; gemm the same over its
 *   M = xRows count and K = K1 + K2 (+ R of a LoRA term) rows, twice for SwiGLU (gate and value), counted as linear;
 * - attention q: [Sq, H·Dh] (or windows of H·Dh columns), k: [Sk, ·] → 4·Sq·Sk·H·Dh (QKᵀ and PV), halved when causal,
 *   divided by B for B batches (each of Sq/B queries sees Sk/B keys);
 * - conv2d w: [Co, Ci, kh, kw] → y: [Co, H', W'] → 2·Co·H'·W'·Ci·kh·kw.
 * Norms, RoPE and elementwise ops are not counted (< 1 % of the work, flux2-klein.md §10.1).
 */
import type { WeightFormat } from '../util/dtype';
import type { AttentionOptions, Conv2dOptions, LinearOptions, Ops, RopeLayout } from './ops';
import type { GemmOptions } from './gemmOptions';
import type { QkNormRopeOptions } from './qkNormRopeOptions';

export type FlopKind = 'linear' | 'attention' | 'conv2d';
export type FlopCounts = Record<FlopKind, number>;

export function zeroFlops(): FlopCounts {
  return { linear: 0, attention: 0, conv2d: 0 };
}

export class CountingOps<T> implements Ops<T> {
  /** FLOPs since creation or the last `resetFlops`. */
  flops: FlopCounts = zeroFlops();

  constructor(readonly inner: Ops<T>) {}

  get backend(): 'gpu' | 'cpu' {
    return this.inner.backend;
  }
  get prefersF16(): boolean {
    return this.inner.prefersF16;
  }
  get maxBindingBytes(): number {
    return this.inner.maxBindingBytes;
  }

  resetFlops(): void {
    this.flops = zeroFlops();
  }

  linear(x: T, w: T, opts?: LinearOptions<T>): T {
    const xs = this.inner.shape(x);
    const k = xs[xs.length - 1] as number;
    const m = xs.reduce((a, b) => a * b, 1) / k;
    const n = opts?.rows ? opts.rows[1] : (this.inner.shape(w)[0] as number);
    this.flops.linear += 2 * m * n * k;
    return this.inner.linear(x, w, opts);
  }
  attention(q: T, k: T, v: T, opts: AttentionOptions<T>): T {
    const [sq, width] = this.inner.shape(q) as [number, number];
    const cols = opts.headDim ? opts.heads * opts.headDim : width;
    const sk = this.inner.shape(k)[0] as number;
    this.flops.attention += (4 * sq * sk * cols) / (opts.batches ?? 1) / (opts.causal ? 2 : 1); // per sequence of a batch
    return this.inner.attention(q, k, v, opts);
  }
  gemm(x: T, w: T, opts?: GemmOptions<T>): T {
    const m = opts?.xRows ? opts.xRows[1] : (this.inner.shape(x)[0] as number);
    const k = this.inner.shape(w)[1] as number;
    const n = opts?.rows ? opts.rows[1] : (this.inner.shape(w)[0] as number);
    const r = opts?.lora ? (this.inner.shape(opts.lora.u)[1] as number) : 0; // the LoRA term's rank
    this.flops.linear += 2 * m * n * (k + r) * (opts?.swiglu ? 2 : 1);
    return this.inner.gemm(x, w, opts);
  }
  conv2d(x: T, w: T, b: T | null, opts?: Conv2dOptions): T {
    const y = this.inner.conv2d(x, w, b, opts);
    const [co, ci, kh, kw] = this.inner.shape(w) as [number, number, number, number];
    const [, ho, wo] = this.inner.shape(y) as [number, number, number];
    this.flops.conv2d += 2 * co * ho * wo * ci * kh * kw;
    return y;
  }

  // ---- forwarded unchanged ----------------------------------------------------------------
  fromHost(data: Float32Array, shape: readonly number[], label: string): T {
    return this.inner.fromHost(data, shape, label);
  }
  weight(bytes: Uint8Array, dtype: WeightFormat, shape: readonly number[], label: string, group?: number): T {
    return this.inner.weight(bytes, dtype, shape, label, group);
  }
  read(t: T): Promise<Float32Array> {
    return this.inner.read(t);
  }
  shape(t: T): readonly number[] {
    return this.inner.shape(t);
  }
  tidy<R>(fn: () => R): R {
    return this.inner.tidy(fn);
  }
  reshape(x: T, shape: readonly number[]): T {
    return this.inner.reshape(x, shape);
  }
  empty(shape: readonly number[], label: string, f16?: boolean): T {
    return this.inner.empty(shape, label, f16);
  }
  rowStats(x: T, eps: number): T {
    return this.inner.rowStats(x, eps);
  }
  qkNormRope(x: T, table: T, opts: QkNormRopeOptions<T>): T {
    return this.inner.qkNormRope(x, table, opts);
  }
  release(t: T): void {
    this.inner.release(t);
  }
  sync(): Promise<void> {
    return this.inner.sync();
  }
  trim(): void {
    this.inner.trim();
  }
  setReuseLimit(bytes: number): void {
    this.inner.setReuseLimit(bytes);
  }
  rmsNorm(x: T, w: T, eps: number, cols?: number): T {
    return this.inner.rmsNorm(x, w, eps, cols);
  }
  layerNormModulate(x: T, mod: T, shiftChunk: number, scaleChunk: number, eps: number): T {
    return this.inner.layerNormModulate(x, mod, shiftChunk, scaleChunk, eps);
  }
  groupNorm(x: T, w: T, b: T, groups: number, eps: number, silu: boolean): T {
    return this.inner.groupNorm(x, w, b, groups, eps, silu);
  }
  groupNormStats(x: T, groups: number, partials: T, row: number, xRows?: readonly [number, number]): T {
    return this.inner.groupNormStats(x, groups, partials, row, xRows);
  }
  groupNormMerge(partials: T): T {
    return this.inner.groupNormMerge(partials);
  }
  groupNormApply(x: T, stats: T, w: T, b: T, eps: number, silu: boolean): T {
    return this.inner.groupNormApply(x, stats, w, b, eps, silu);
  }
  rope(x: T, table: T, heads: number, layout: RopeLayout): T {
    return this.inner.rope(x, table, heads, layout);
  }
  siluMul(gate: T, up: T): T {
    return this.inner.siluMul(gate, up);
  }
  silu(x: T): T {
    return this.inner.silu(x);
  }
  residual(x: T, y: T, gate?: { mod: T; chunk: number }): T {
    return this.inner.residual(x, y, gate);
  }
  embedding(ids: Int32Array, table: T): T {
    return this.inner.embedding(ids, table);
  }
  concatRows(a: T, b: T): T {
    return this.inner.concatRows(a, b);
  }
  concatCols(a: T, b: T): T {
    return this.inner.concatCols(a, b);
  }
  sliceRows(x: T, start: number, count: number): T {
    return this.inner.sliceRows(x, start, count);
  }
  transpose(x: T): T {
    return this.inner.transpose(x);
  }
  copyRows(dst: T, src: T, dstRow: number, srcRow: number, rows: number): T {
    return this.inner.copyRows(dst, src, dstRow, srcRow, rows);
  }
  upsampleNearest2x(x: T): T {
    return this.inner.upsampleNearest2x(x);
  }
  latentUnpack(tokens: T, mean: T, variance: T, h: number, w: number, eps: number): T {
    return this.inner.latentUnpack(tokens, mean, variance, h, w, eps);
  }
  latentPack(z: T, mean: T, variance: T, eps: number): T {
    return this.inner.latentPack(z, mean, variance, eps);
  }
  toRgba8(x: T): Promise<Uint8ClampedArray> {
    return this.inner.toRgba8(x);
  }
}
