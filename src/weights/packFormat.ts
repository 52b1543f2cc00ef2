/**
 * The Kleinbild pack: a model converted to the engine's storage layout (q4/q8/q8m linear weights, other
 * tensors in bf16/f16/f32), cut into chunk files of bounded size, described by one manifest written
 * last. The same files live on disk (`npm run pack`, self-hosting, kiosks), behind any static URL,
 * or in the browser's IndexedDB store; all are read through a FileSource with the same paths.
 *
 * Files of a pack (paths relative to its root):
 *   kleinbild-pack.json            the manifest (PackManifest); its presence marks a complete pack
 *   text_encoder/config.json, transformer/config.json, vae/config.json, tokenizer/…  copied as-is
 *   chunks/00000.bin …             the weight bytes: one byte space of `totalBytes`, chunk i holds
 *                                  [i·chunkBytes, min((i+1)·chunkBytes, totalBytes))
 * Every tensor occupies [offset, offset + bytes) of that byte space (offsets 256-byte aligned); a
 * large tensor simply spans consecutive chunks. A manifest comes from whoever made the pack:
 * readPackManifest (pack.ts) checks every field of it first (packManifest.ts).
 */
import type { QuantFormat, WeightFormat } from '../util/dtype';
import { isQuantLayoutFormat, quantLayout } from '../util/quant';
import { type Component, rowsCols } from './sourceTensor';

export const PACK_MANIFEST = 'kleinbild-pack.json';
export const PACK_FORMAT = 'kleinbild-pack';
export const PACK_VERSION = 1;
/** Default chunk size: small enough for one IndexedDB value, large enough for few requests. */
export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;
/** Tensor offsets are multiples of this (GPU upload alignment, and u32 views). */
export const TENSOR_ALIGN = 256;

/** Files copied verbatim into a pack (what readConfigs and loadTokenizer read): the only files besides chunks a manifest may list. */
export const PACK_SMALL_FILES = [
  'text_encoder/config.json',
  'transformer/config.json',
  'vae/config.json',
  'tokenizer/tokenizer.json',
  'tokenizer/tokenizer_config.json',
] as const;

/** `chunks/00012.bin`: chunk i's path (5 digits, more from chunk 100000 on). */
export function chunkPath(i: number): string {
  return `chunks/${String(i).padStart(5, '0')}.bin`;
}

/** Output bytes of a tensor stored as `dtype` (quantized: `group` weights per scale, default QUANT_GROUP). */
export function storedBytes(dtype: WeightFormat, shape: readonly number[], group?: number): number {
  const { rows, cols } = rowsCols(shape);
  if (isQuantLayoutFormat(dtype)) return quantLayout(dtype, rows, cols, group).byteLength;
  return rows * cols * (dtype === 'f32' ? 4 : 2);
}

/** How the pack's weights are stored: linear weights quantized to a QuantFormat, or ('none') the checkpoint's own dtypes. */
export type PackQuant = QuantFormat | 'none';

/** One stored tensor, in an engine WeightFormat. */
export interface PackTensor {
  dtype: WeightFormat;
  shape: number[];
  /** Absolute position in the pack's weight byte space. */
  offset: number;
  bytes: number;
  /** Source dtype it was converted from, for reports ('BF16', 'F8_E4M3', 'Q4_K', …). */
  from: string;
  /**
   * Quantized (q4/q8/q8m) only: weights per scale (quant.ts G). Absent = QUANT_GROUP (q4/q8: 64), as
   * in every pack before it existed; the GGUF block or sub-block for repacked GGUF codes
   * (ggufRepack.ts GGUF_REPACK_GROUP: 32 for Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q4_K / Q5_K, 16 for
   * Q3_K / Q6_K; q8m always has one).
   */
  group?: number;
  /** Relative RMS error of the stored values against the source values (0 when copied). */
  relRms?: number;
}

export interface PackChunk {
  /** e.g. `chunks/00012.bin`. */
  path: string;
  bytes: number;
  /** Lower-case hex SHA-256 of the chunk file. */
  sha256: string;
}

export interface PackFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface PackManifest {
  format: typeof PACK_FORMAT;
  version: typeof PACK_VERSION;
  /** Display name, e.g. "FLUX.2 [klein] 4B · q4". */
  name: string;
  /** Where it was converted from (hub id / URL / folder) and how. */
  source: string;
  quant: PackQuant;
  chunkBytes: number;
  totalBytes: number;
  /** Small files copied verbatim (configs, tokenizer). */
  files: PackFile[];
  chunks: PackChunk[];
  components: Record<Component, Record<string, PackTensor>>;
}

/**
 * Whether VAE tensor `name` is read only by the encoder (reference images, editing): `encoder.*` and
 * `quant_conv.*`. The decoder reads the rest (the BatchNorm statistics `bn.*` are shared); the same
 * split as Pipeline.load's `neededVae` (src/pipeline/generate.ts).
 */
export function isVaeEncoderTensor(name: string): boolean {
  return name.startsWith('encoder.') || name.startsWith('quant_conv.');
}

/**
 * Indices of the chunks of `m` that hold VAE-encoder bytes only (plus alignment padding): every chunk
 * that starts at or after the end of the last tensor anything else reads. planPack puts the VAE last
 * and its encoder tensors after the decoder's, so these are the pack's tail, which a text-to-image
 * reader never touches; a chunk straddling encoder and other bytes is not among them. A pack laid out
 * otherwise simply yields fewer (or no) chunks. Empty when the pack has no encoder tensor.
 */
export function encoderOnlyChunks(m: PackManifest): number[] {
  let otherEnd = 0;
  let encoder = false;
  for (const [component, tensors] of Object.entries(m.components)) {
    for (const [name, t] of Object.entries(tensors)) {
      if (component === 'vae' && isVaeEncoderTensor(name)) encoder = true;
      else otherEnd = Math.max(otherEnd, t.offset + t.bytes);
    }
  }
  if (!encoder) return [];
  const first = Math.ceil(otherEnd / m.chunkBytes);
  return Array.from({ length: Math.max(0, m.chunks.length - first) }, (_, k) => first + k);
}
