/**
 * A checkpoint tensor as the pack converter sees it, whatever file format holds it (safetensors
 * bf16/f16/f32, safetensors fp8, GGUF blocks). Rows are the first dimension (a 1-D tensor is one
 * row; a 4-D conv weight [O, I, kh, kw] has O rows of I·kh·kw values). Every supported format stores
 * rows contiguously, so rows [r0, r1) are one byte range: the converter gathers the ranges of many
 * tensors, coalesces adjacent ones into few HTTP requests, then decodes each slice.
 */
import type { QuantLayoutFormat } from '../util/dtype';

export interface SourceTensor {
  /** diffusers / transformers name inside its component, e.g. `transformer_blocks.0.attn.to_q.weight`. */
  readonly name: string;
  /** Logical shape as the diffusers model expects it. */
  readonly shape: readonly number[];
  /** Storage type as the file spells it, for reports: 'BF16', 'F8_E4M3', 'Q4_K', … */
  readonly sourceDtype: string;
  /**
   * When the bytes are already an engine dtype ('bf16' | 'f16' | 'f32', little-endian, row-major),
   * that dtype: the converter may copy them unchanged. null for formats that must be decoded.
   */
  readonly plainDtype: 'bf16' | 'f16' | 'f32' | null;
  /**
   * File (path inside the source) and absolute byte range [start, end) covering rows [r0, r1): exactly
   * those rows for plain tensors, possibly more for reordered ones (diffusers' half-swapped
   * `norm_out.linear` decodes from the covering range; such tensors have plainDtype null).
   */
  rowBytes(r0: number, r1: number): { file: string; start: number; end: number };
  /**
   * Decodes the bytes `rowBytes(r0, r1)` named to rows [r0, r1) in f32,
   * row-major [r1 − r0, cols]. Throws WeightMismatch when the byte count is wrong.
   */
  decode(bytes: Uint8Array, r0: number, r1: number): Float32Array;
  /**
   * Present when the stored codes map onto a quant.ts format code for code (ggufRepack.ts: GGUF
   * Q8_0 / Q5_0 → q8, Q4_0 / Q4_1 → q4 and Q5_1 → q8m with G = 32, exact; Q4_K → q4 and Q5_K → q8m
   * G = 32, Q3_K → q4 G = 16, Q6_K → q8 G = 16, codes kept and only the per-group scales (and mins)
   * made f16s, ≤ 6e-4 relative RMS added): `repack` turns the bytes `rowBytes(r0, r1)` named into rows [r0, r1) in that layout
   * ([r1 − r0, cols], G = `group`). Throws WeightMismatch as `decode`.
   */
  readonly lossless?: LosslessQuant & { repack(bytes: Uint8Array, r0: number, r1: number): Uint8Array };
}

/** A quant.ts format and group size that a source's blocks convert to code for code (see SourceTensor.lossless). */
export interface LosslessQuant {
  readonly format: QuantLayoutFormat;
  /** Weights per scale (quant.ts G). */
  readonly group: number;
}

/** Rows and values per row of a shape (rows = shape[0]; a 0-D or 1-D tensor is one row). */
export function rowsCols(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length <= 1) return { rows: 1, cols: shape[0] ?? 1 };
  const rows = shape[0] as number;
  let cols = 1;
  for (let i = 1; i < shape.length; i++) cols *= shape[i] as number;
  return { rows, cols };
}

/** The three model components a pack holds, named as the diffusers repo folders. */
export type Component = 'text_encoder' | 'transformer' | 'vae';
export const COMPONENTS: readonly Component[] = ['text_encoder', 'transformer', 'vae'];

/**
 * The checkpoint names the engine reads, per component (model/tensorList.ts derives them from the
 * model loaders); the pack converter stores these and nothing else.
 */
export type NeededTensors = Readonly<Record<Component, ReadonlySet<string>>>;
