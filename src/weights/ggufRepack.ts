/**
 * GGUF blocks that a quant.ts format holds exactly, repacked without a detour through f32 (which
 * would round twice: GGUF's quantization, then ours). With group size G = 32, one GGML block is one
 * of our groups:
 *
 *   Q8_0  d, qs[32] (int8)     y = qs·d          → q8: codes = qs, scale = d
 *   Q4_0  d, qs[16] (nibbles)  y = (q − 8)·d     → q4: codes = q,  scale = d, min = −8·d
 *   Q4_1  d, m, qs[16]         y = q·d + m       → q4: codes = q,  scale = d, min = m
 *
 * Nibble order differs: ggml puts element j in the low and element j + 16 in the high nibble of
 * qs[j] (ggml-common.h block_q4_0, ggml-quants.c dequantize_row_q4_0; ggufQuants.ts), quant.ts puts
 * element k in nibble k%8 of word k/8, i.e. elements 2b and 2b + 1 in the low and high nibble of
 * byte b. Q8_0 codes keep their byte order (quant.ts q8: element k is byte k of the row).
 *
 * Exactness: our dequantize (quant.ts) gives ggufQuants' `dequantize` bit for bit. q8 c·s is ggml's
 * qs·d. q4 m + c·s is ggml's q·d + m for Q4_1 (the same product and the same sum). For Q4_0,
 * −8·d is an exponent shift, exact in f16, and (q − 8)·d and −8·d + q·d are the same exactly
 * representable value (an f16 times an integer of ≤ 5 bits); a zero comes out +0 both ways (ggml's
 * decoder adds +0). Only a Q4_0 block whose −8·d is not a finite f16 (|d| > 8188, or d Inf/NaN)
 * cannot be held: that block alone is re-quantized from its decoded values (lossy, and counted in
 * the pack's relRms). Real weights have |d| ≪ 1.
 */
import { WeightMismatch } from '../errors';
import { f16BitsToF32, f32ToF16Bits } from '../util/dtype';
import { GGML_BLOCK, type GgmlType, dequantize as ggmlDequantize, ggmlBytes } from './ggufQuants';
import { type QuantFormat, type QuantizedTensor, quantLayout, quantize } from '../util/quant';

/** The GGML types repacked losslessly, and the quant.ts format each becomes. */
export const GGUF_REPACK: Readonly<Partial<Record<GgmlType, QuantFormat>>> = { Q8_0: 'q8', Q4_0: 'q4', Q4_1: 'q4' };
/** Group size of a repacked tensor: the 32-value block of Q8_0 / Q4_0 / Q4_1. */
export const GGUF_REPACK_GROUP = 32;

/**
 * `rows` rows of `cols` values of `type` (exactly their GGUF bytes, row after row) → the quant.ts
 * layout of [rows, cols] with G = 32 (format GGUF_REPACK[type]). `requantized` counts the Q4_0
 * blocks that could not be held exactly (see the file comment). Errors: WeightMismatch naming
 * `what` for a type without a lossless format, cols not whole blocks, or a wrong byte count.
 */
export function repackGguf(type: GgmlType, bytes: Uint8Array, rows: number, cols: number, what = 'tensor'): QuantizedTensor & { requantized: number } {
  const format = GGUF_REPACK[type];
  if (!format) throw new WeightMismatch(what, `one of ${Object.keys(GGUF_REPACK).join(', ')} to repack`, type);
  const want = rows * ggmlBytes(type, cols, what);
  if (bytes.length !== want) throw new WeightMismatch(what, `${want} bytes (${rows} rows of ${cols} ${type} values)`, `${bytes.length}`);
  const G = GGUF_REPACK_GROUP;
  const L = quantLayout(format, rows, cols, G);
  const data = new Uint8Array(L.byteLength);
  const halves = new Uint16Array(data.buffer);
  const blockBytes = GGML_BLOCK[type].bytes;
  const half = (o: number): number => (bytes[o] as number) | ((bytes[o + 1] as number) << 8);
  let requantized = 0;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < L.groups; g++) {
      const o = (r * L.groups + g) * blockBytes; // the block's first byte
      const gi = r * L.groups + g; // its scale / min index
      const codeAt = r * L.codeWordsPerRow * 4 + (g * G * (format === 'q8' ? 8 : 4)) / 8;
      const d = half(o);
      halves[L.scaleOffset / 2 + gi] = d;
      if (type === 'Q8_0') {
        data.set(bytes.subarray(o + 2, o + 2 + G), codeAt);
        continue;
      }
      let m: number;
      if (type === 'Q4_1') {
        m = half(o + 2);
      } else {
        const mv = -8 * f16BitsToF32(d);
        m = f32ToF16Bits(mv);
        if (!(Number.isFinite(mv) && f16BitsToF32(m) === mv)) {
          requantizeBlock(type, bytes.subarray(o, o + blockBytes), data, codeAt, L.scaleOffset / 2 + gi, L.minOffset / 2 + gi);
          requantized++;
          continue;
        }
      }
      halves[L.minOffset / 2 + gi] = m;
      const qs = o + (type === 'Q4_1' ? 4 : 2);
      const nibble = (e: number): number => (e < 16 ? (bytes[qs + e] as number) & 15 : (bytes[qs + e - 16] as number) >> 4);
      for (let b = 0; b < G / 2; b++) data[codeAt + b] = nibble(2 * b) | (nibble(2 * b + 1) << 4);
    }
  }
  return { format, rows, cols, groupSize: G, data, requantized };
}

/** One block decoded and quantized by quant.ts (q4, G = 32) into its place in `data`. */
function requantizeBlock(type: GgmlType, block: Uint8Array, data: Uint8Array, codeAt: number, scaleHalf: number, minHalf: number): void {
  const q = quantize(ggmlDequantize(type, block, GGUF_REPACK_GROUP), 1, GGUF_REPACK_GROUP, 'q4', GGUF_REPACK_GROUP);
  const L = quantLayout('q4', 1, GGUF_REPACK_GROUP, GGUF_REPACK_GROUP);
  data.set(q.data.subarray(0, GGUF_REPACK_GROUP / 2), codeAt);
  const src = new Uint16Array(q.data.buffer);
  const dst = new Uint16Array(data.buffer);
  dst[scaleHalf] = src[L.scaleOffset / 2] as number;
  dst[minHalf] = src[L.minOffset / 2] as number;
}
