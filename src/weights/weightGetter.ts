/**
 * The interface between the model loaders (src/model: loadQwen3, loadTransformer, loadDecoder,
 * loadEncoder) and wherever weights come from: WeightLoader over a checkpoint (load.ts),
 * RandomWeights for the benchmark (randomWeights.ts), the shape recorder that lists the tensors the
 * engine reads (model/tensorList.ts). A leaf: types only.
 */
import type { WeightFormat } from '../util/dtype';

/** A [V, D] token embedding table whose rows are looked up on the host. */
export interface TokenEmbedding {
  /** [V, D]: vocabulary size, hidden size. */
  readonly shape: readonly [number, number];
  /**
   * ids: [n] → [n, D] f32, row t = table[ids[t]] (decoded exactly as `ops.weight` would: bf16/f16
   * exact, q8/q4/q8m as `dequantize`). Errors: Error naming the first id outside [0, V).
   */
  rows(ids: Int32Array): Promise<Float32Array>;
}

/** How a weight is stored on the device: a plain dtype or a quantized format with its group size. */
export interface StorageFormat {
  format: WeightFormat;
  /** Quantized formats: weights per scale (absent: QUANT_GROUP). */
  group?: number;
}

/** What the model loaders need: one tensor by checkpoint name, with the shape the config implies. */
export interface WeightGetter<T> {
  get(name: string, shape: readonly number[]): Promise<T>;
  /**
   * A [V, D] token embedding table whose rows are read on the host per lookup (never uploaded
   * whole). The same object for the same name, so its row cache outlives reloads of the layers.
   */
  tokenEmbedding(name: string, shape: readonly [number, number]): TokenEmbedding;
  /** Bytes read (or made) so far through `get` (progress). */
  readonly loadedBytes: number;
  /**
   * The format `get(name, shape)` stores the tensor in, without reading it (plans of a loaded
   * model: src/pipeline/plan.ts). Absent: bf16.
   */
  storageFormat?(name: string, shape: readonly number[]): StorageFormat;
}
