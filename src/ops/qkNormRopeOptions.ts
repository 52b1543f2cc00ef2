/** RoPE pair layout: 'interleaved' rotates (2p, 2p+1) (FLUX DiT), 'halfSplit' (p, p+Dh/2) (Qwen3). */
export type RopeLayout = 'interleaved' | 'halfSplit';

/**
 * Options of `Ops.qkNormRope`: where q and k sit in the rows of the joint buffer, the RMSNorm
 * weights ([Dh] each; a second set for rows from `split` on: the image stream of a FLUX double
 * block, whose text rows come first), the RoPE layout and eps.
 */
export interface QkNormRopeOptions<T> {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** First column of q and of k in each row. */
  qCol: number;
  kCol: number;
  /** RMSNorm weights of q and k for rows before `split` (all rows without it). */
  normQ: T;
  normK: T;
  /** Weights for rows ≥ split. */
  after?: { split: number; normQ: T; normK: T };
  layout: RopeLayout;
  eps: number;
  /**
   * Rows per sequence P when x holds B = S/P sequences of the same layout one after another (the
   * CFG batch of 2): row r uses table row r mod P and `after.split` is compared with r mod P;
   * table: [P, Dh/2, 2]. Default S (one sequence).
   */
  period?: number;
}
