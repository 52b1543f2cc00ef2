/**
 * The op set the models are written against. Two backends implement it: `GpuOps` (WGSL kernels,
 * src/ops/gpu/*) and `CpuOps` (plain loops, src/ops/cpu/*, the oracle). Model code is generic over
 * the tensor type `T`, so the same qwen3/transformer/vae code runs on both.
 *
 * Layout: row-major; a 2-D `[S, H·Dh]` tensor is also read as `[S, H, Dh]` (heads contiguous).
 * Images are `[C, H, W]` (batch 1). Activations are f32; weights keep their storage dtype.
 * Ops return new tensors (in the current `tidy` scope) unless they say "in place".
 */
import type { WeightFormat } from '../util/quant';

export type RopeLayout = 'interleaved' | 'halfSplit';

export interface LinearOptions<T> {
  /** [N] added to every output row. */
  bias?: T | null;
  /** Use only weight rows (output features) [start, start+count). */
  rows?: readonly [start: number, count: number];
}

export interface AttentionOptions<T> {
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
}

export interface Ops<T> {
  readonly backend: 'gpu' | 'cpu';

  // ---- memory -----------------------------------------------------------------------------
  /** Host f32 activations → tensor (in the current scope). */
  fromHost(data: Float32Array, shape: readonly number[], label: string): T;
  /**
   * Raw checkpoint bytes in `dtype` → persistent weight tensor (GPU keeps the storage dtype). q8/q4:
   * `bytes` is the weights/quant.ts layout of a [N, K] linear weight with `group` weights per scale
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

  // ---- normalisation ----------------------------------------------------------------------
  /** RMSNorm over groups of `cols` (default: last dim): x: [R, C] read as [R·C/cols, cols], w: [cols]. */
  rmsNorm(x: T, w: T, eps: number, cols?: number): T;
  /**
   * AdaLN: LayerNorm without affine over D, then (1 + scale)·x̂ + shift, with shift/scale taken as
   * chunks `shiftChunk`/`scaleChunk` of mod: [k·D]. x: [S, D] → [S, D].
   */
  layerNormModulate(x: T, mod: T, shiftChunk: number, scaleChunk: number, eps: number): T;
  /** GroupNorm with affine (+ SiLU). x: [C, H, W], w/b: [C] → [C, H, W]. */
  groupNorm(x: T, w: T, b: T, groups: number, eps: number, silu: boolean): T;

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

  // ---- VAE --------------------------------------------------------------------------------
  /** 2-D convolution with bias. x: [Ci, H, W], w: [Co, Ci, kh, kw], b: [Co] → [Co, H', W']. */
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
