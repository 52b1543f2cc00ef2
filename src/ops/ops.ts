/**
 * The op set the models are written against. Two backends implement it: `GpuOps` (WGSL kernels,
 * src/ops/gpu/*) and `CpuOps` (plain loops, src/ops/cpu/*, the oracle). Model code is generic over
 * the tensor type `T`, so the same qwen3/transformer/vae code runs on both.
 *
 * Layout: row-major; a 2-D `[S, H·Dh]` tensor is also read as `[S, H, Dh]` (heads contiguous).
 * Images are `[C, H, W]` (batch 1). Activations are f32, except GEMM/attention outputs an op is
 * asked to store as f16 (the transformer's f16 precision); weights keep their storage dtype.
 * Ops return new tensors (in the current `tidy` scope) unless they say "in place".
 */
import type { WeightFormat } from '../util/quant';
import type { AttentionViews } from './attentionViews';
import type { GemmOptions } from './gemmOptions';
import type { QkNormRopeOptions, RopeLayout } from './qkNormRopeOptions';

export type { RopeLayout };

export interface LinearOptions<T> {
  /** [N] added to every output row. */
  bias?: T | null;
  /** Use only weight rows (output features) [start, start+count). */
  rows?: readonly [start: number, count: number];
}

export interface AttentionOptions<T> extends AttentionViews {
  /** Query heads H; q is [Sq, H·Dh]. */
  heads: number;
  /** Key/value heads (GQA: query head h reads kv head ⌊h·kvHeads/heads⌋); k, v are [Sk, kvHeads·Dh]. */
  kvHeads: number;
  /** Key j visible to query i only if j ≤ i (requires Sq = Sk). */
  causal?: boolean;
  /** [Sk] f32, 1 = attend, 0 = masked key (Qwen3 padding). */
  keyMask?: T | null;
}

export interface Conv2dOptions {
  stride?: number;
  /** Zero padding [top, left, bottom, right]; default "same" for odd kernels at stride 1. */
  pad?: readonly [number, number, number, number];
  /**
   * 2: convolve x upsampled ×2 by nearest neighbour (diffusers Upsample2D), fused: the [Ci, 2H, 2W]
   * image is never stored, the result equals upsampleNearest2x then conv2d bit for bit. Default 1.
   */
  upsample?: 1 | 2;
}

export interface Ops<T> {
  readonly backend: 'gpu' | 'cpu';
  /** f16 activation storage is available and pays (GPU: the device has `shader-f16`; CPU: false). */
  readonly prefersF16: boolean;
  /**
   * Bytes the largest tensor an op binds may take (GPU: the smaller of the device's
   * maxStorageBufferBindingSize and maxBufferSize; CPU: Infinity).
   */
  readonly maxBindingBytes: number;

  // ---- memory -----------------------------------------------------------------------------
  /** Host f32 activations → tensor (in the current scope). */
  fromHost(data: Float32Array, shape: readonly number[], label: string): T;
  /**
   * Raw checkpoint bytes in `dtype` → persistent weight tensor (GPU keeps the storage dtype). q8/q4/q8m:
   * `bytes` is the util/quant.ts layout of a [N, K] linear weight with `group` weights per scale
   * (default QUANT_GROUP; only `linear` accepts it; the CPU backend dequantizes to f32).
   */
  weight(bytes: Uint8Array, dtype: WeightFormat, shape: readonly number[], label: string, group?: number): T;
  /** Tensor → host f32 (waits for the GPU). */
  read(t: T): Promise<Float32Array>;
  shape(t: T): readonly number[];
  /** Runs fn; tensors allocated inside and not returned are freed. */
  tidy<R>(fn: () => R): R;
  /** Same data, new shape (element count must match). Consumes x: use only the result afterwards. */
  reshape(x: T, shape: readonly number[]): T;
  /**
   * A new activation of `shape` (f32, or f16 storage with `f16`) whose contents are undefined until
   * written (GPU; CPU: zeros), for in-place ops such as copyRows, groupNormStats and gemm's `into` to fill.
   */
  empty(shape: readonly number[], label: string, f16?: boolean): T;
  /** Frees a tensor now (activation or weight). */
  release(t: T): void;
  /** Waits until all queued work is done (for stage timings). */
  sync(): Promise<void>;
  /** Frees memory kept for reuse (GPU: the free buffers of the pool); live tensors stay valid. */
  trim(): void;
  /** Caps the memory kept for reuse: beyond `bytes`, the longest unused is freed (GPU: pool buffers). Default Infinity. */
  setReuseLimit(bytes: number): void;

  // ---- linear algebra ---------------------------------------------------------------------
  /** y = x·Wᵀ (+ b). x: [M, K], w: [N, K] (any weight dtype) → [M, N] (or [M, count] with rows). */
  linear(x: T, w: T, opts?: LinearOptions<T>): T;
  /**
   * Multi-head attention, softmax(q·kᵀ/√Dh + mask)·v, online softmax (never materialises the
   * score matrix on the GPU). q: [Sq, H·Dh], k, v: [Sk, Hkv·Dh] → [Sq, H·Dh].
   */
  attention(q: T, k: T, v: T, opts: AttentionOptions<T>): T;
  /**
   * The fused linear layer: y = epilogue(prologue(x)·Wᵀ) with the options of ../ops/gemmOptions.ts
   * (LayerNorm + modulation prologue, SwiGLU or gated-residual epilogue, K-concatenated x2, row
   * windows, f16 output). x: [R, K] (rows xRows) → [M, N] or into a window of `into.t`.
   */
  gemm(x: T, w: T, opts?: GemmOptions<T>): T;
  /** LayerNorm statistics per row for gemm's prologue: x: [S, D] f32 → [S, 3] (mean, correction, 1/√(var + eps)). */
  rowStats(x: T, eps: number): T;
  /**
   * In place: per-head RMSNorm then RoPE of the q and k column windows of x: [S, W] (f32 or f16),
   * options in ./qkNormRopeOptions.ts; table: [S, Dh/2, 2]. Returns x.
   */
  qkNormRope(x: T, table: T, opts: QkNormRopeOptions<T>): T;

  // ---- normalisation ----------------------------------------------------------------------
  /** RMSNorm over groups of `cols` (default: last dim): x: [R, C] read as [R·C/cols, cols], w: [cols]. */
  rmsNorm(x: T, w: T, eps: number, cols?: number): T;
  /**
   * AdaLN: LayerNorm without affine over D, then (1 + scale)·x̂ + shift, with shift/scale taken as
   * chunks `shiftChunk`/`scaleChunk` of mod: [k·D]. x: [S, D] → [S, D].
   */
  layerNormModulate(x: T, mod: T, shiftChunk: number, scaleChunk: number, eps: number): T;
  /**
   * GroupNorm with affine (+ SiLU). x: [C, H, W], w/b: [C] → [C, H, W]. Exactly groupNormStats
   * over all rows, groupNormMerge, groupNormApply (so a band-by-band run gives the same bits).
   */
  groupNorm(x: T, w: T, b: T, groups: number, eps: number, silu: boolean): T;
  /**
   * In place: GroupNorm partial statistics (count, mean, M2 = Σ(v − mean)²), one per (group, image
   * row), of x's rows [xRows[0], xRows[0] + xRows[1]) (default all) into partials: [G, H, 3] at
   * image rows [row, row + count). x: [C, h, W] (a band of an H-row image). The partition does not
   * depend on how an image's rows are split into calls. Returns partials.
   */
  groupNormStats(x: T, groups: number, partials: T, row: number, xRows?: readonly [start: number, count: number]): T;
  /** Per-row partials [G, H, 3] → per-group (count, mean, M2) [G, 3], merged in an order fixed by H. */
  groupNormMerge(partials: T): T;
  /**
   * GroupNorm (+ SiLU) with given statistics: (x − mean)/√(M2/count + eps)·w + b per group.
   * x: [C, h, W] (any band of the image), stats: [G, 3] (groupNormMerge), w/b: [C] → [C, h, W].
   */
  groupNormApply(x: T, stats: T, w: T, b: T, eps: number, silu: boolean): T;

  // ---- position / elementwise -------------------------------------------------------------
  /**
   * Rotary embedding. x: [S, H·Dh]; table: [S, Dh/2, 2] (cos, sin) per rotated pair p.
   * 'interleaved' rotates (2p, 2p+1) (FLUX DiT), 'halfSplit' rotates (p, p+Dh/2) (Qwen3).
   */
  rope(x: T, table: T, heads: number, layout: RopeLayout): T;
  /** silu(gate) ⊙ up, same shapes. */
  siluMul(gate: T, up: T): T;
  /** silu(x). */
  silu(x: T): T;
  /** In place: x += y, or x += gate ⊙ y with gate = chunk `gateChunk` of mod: [k·D] (x: [S, D]). Returns x. */
  residual(x: T, y: T, gate?: { mod: T; chunk: number }): T;

  // ---- data movement ----------------------------------------------------------------------
  /** Rows of `table` ([V, D], any weight dtype) at `ids` → [ids.length, D] f32. */
  embedding(ids: Int32Array, table: T): T;
  /** [a; b] along rows: [Ma, D], [Mb, D] → [Ma+Mb, D] (also [C, …] images as rows). */
  concatRows(a: T, b: T): T;
  /** [a | b] along columns: [M, Ca], [M, Cb] → [M, Ca+Cb]. */
  concatCols(a: T, b: T): T;
  /** Rows [start, start+count) of x: [M, D] → [count, D]. */
  sliceRows(x: T, start: number, count: number): T;
  /** [R, C] → [C, R]. */
  transpose(x: T): T;
  /**
   * In place: dst[c, dstRow + r, :] = src[c, srcRow + r, :] for r < rows (a band of rows between
   * images). src: [C, Hs, W], dst: [C, Hd, W], different tensors → dst.
   */
  copyRows(dst: T, src: T, dstRow: number, srcRow: number, rows: number): T;

  // ---- VAE --------------------------------------------------------------------------------
  /** 2-D convolution with bias. x: [Ci, H, W] (×2 with opts.upsample), w: [Co, Ci, kh, kw], b: [Co] → [Co, H', W']. */
  conv2d(x: T, w: T, b: T | null, opts?: Conv2dOptions): T;
  /** Nearest-neighbour ×2: [C, H, W] → [C, 2H, 2W]. */
  upsampleNearest2x(x: T): T;
  /**
   * Packed latent tokens → VAE latent: BN de-normalise x·√(var+eps)+mean per channel, then
   * unpatchify 2×2. tokens: [h·w, 128] (row-major), mean/var: [128] → [32, 2h, 2w].
   */
  latentUnpack(tokens: T, mean: T, variance: T, h: number, w: number, eps: number): T;
  /** Inverse of latentUnpack: z: [32, 2h, 2w] → patchify → BN-normalise → tokens [h·w, 128]. */
  latentPack(z: T, mean: T, variance: T, eps: number): T;
  /** [3, H, W] in [−1, 1] → RGBA8 pixels (clamp((x+1)/2)·255 rounded half-to-even, alpha 255). */
  toRgba8(x: T): Promise<Uint8ClampedArray>;
}

/**
 * Releases every tensor in a weights tree (leaves are tensors; null for absent optional parts).
 * Class instances (host-side parts such as the EmbeddingRows of `embed_tokens`) are not entered.
 */
export function releaseAll<T>(ops: Ops<T>, tree: unknown): void {
  if (!tree || typeof tree !== 'object') return;
  if (!Array.isArray(tree) && Object.getPrototypeOf(tree) !== Object.prototype) return;
  if ('shape' in tree && ('buffer' in tree || 'data' in tree)) {
    ops.release(tree as T);
    return;
  }
  for (const v of Array.isArray(tree) ? tree : Object.values(tree)) releaseAll(ops, v);
}
