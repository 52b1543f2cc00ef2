/**
 * Options of `Ops.gemm`, the fused linear layer: y = epilogue(prologue(x)·Wᵀ). One op covers what a
 * transformer block otherwise spends extra passes over memory on — the LayerNorm + modulation in
 * front of a projection, SwiGLU after it, the gated residual add, the [attention | MLP]
 * concatenation of a single block's output projection, and writing q/k/v of two streams into one
 * joint buffer — so each of those costs no separate read and write of an activation.
 */
export interface GemmOptions<T> {
  /** Weight rows (output features) [start, start + count); default all: N = count. */
  rows?: readonly [start: number, count: number];
  /** [rows of W] added to the output (to the gate and the value under `swiglu`). */
  bias?: T | null;
  /** A second input K-concatenated after x: the product reads [x | x2]; x2: [M, K2] (rows from 0). */
  x2?: T | null;
  /** Rows [start, start + count) of x (and of `norm.stats`) are the M input rows; default all. */
  xRows?: readonly [start: number, count: number];
  /**
   * LayerNorm + modulation of x first (no x2): x̂ = LN(x)·(1 + mod[scaleChunk·K + k]) + mod[shiftChunk·K + k],
   * LN from `stats` = rowStats(x) [rows of x, 3]; mod: [c·K] f32.
   */
  norm?: { stats: T; mod: T; shiftChunk: number; scaleChunk: number };
  /** SwiGLU: y = silu(x·W[rows]ᵀ) ⊙ (x·W[valueRow0 …]ᵀ), the value rows `count` long from valueRow0. */
  swiglu?: { valueRow0: number };
  /**
   * Write the M×N result into rows [row0, row0 + M) and columns [col0, col0 + N) of `t` (default
   * col0 0; t: [≥ row0 + M, ≥ col0 + N]) instead of a new tensor.
   */
  into?: { t: T; row0: number; col0?: number };
  /** With `into` (an f32 tensor): add instead of store, t += g ⊙ y with g = mod[chunk·N + n] (1 without gate). */
  residual?: { gate?: { mod: T; chunk: number } };
  /**
   * A low-rank term added to the product before bias and epilogue (LoRA at run time, src/model/lora.ts):
   * a[m, n] += Σ_r u[m, r]·b[row0 + n, r], and the value rows b[valueRow0 + n, r] under `swiglu`.
   * u: [M, R] f32, the LoRA down projections of the same M input rows (A·x̂, after the prologue);
   * b: [rows of W, R] f32, the up projections with strength·scale folded in.
   */
  lora?: { u: T; b: T } | null;
  /** Store the new (or `into`) tensor as f16 (GEMM outputs may be f16; residual streams stay f32). */
  f16?: boolean;
}
