/** Options of `Ops.attention` beyond the math: where q, k, v sit in their buffers, how the output is stored. */

/**
 * Column windows and output storage of `attention`: q, k and v may be windows of wider rows (e.g. one
 * joint [S, 3·H·Dh] q|k|v buffer, each window starting at its column), f32 or f16 alike; the output
 * may be stored as f16.
 */
export interface AttentionViews {
  /** Dh; needed with column windows (else q's row width / H). */
  headDim?: number;
  /** First column of the q, k, v windows (multiples of 4); without one, the tensor's rows are exactly the window. */
  qCol?: number;
  kCol?: number;
  vCol?: number;
  /** Store the output [Sq, H·Dh] as f16. */
  f16?: boolean;
  /**
   * Independent sequences B (default 1): q's rows are B equal consecutive sequences of Sq/B rows, k's
   * and v's B of Sk/B, and the queries of sequence b attend only the keys of sequence b (a batch, e.g.
   * the two classifier-free-guidance branches in one pass). `causal` then holds within each sequence.
   */
  batches?: number;
}
