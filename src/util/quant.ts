/**
 * Group-quantized weight formats for linear layers: `q8` (int8, symmetric) and `q4` (4-bit,
 * asymmetric), both with one f16 scale (q4: and one f16 min) per group of G consecutive weights
 * along K. G is 64 (QUANT_GROUP) unless a tensor says otherwise: GGUF Q8_0 / Q4_0 / Q4_1 blocks are
 * repacked without loss at G = 32 (ggufRepack.ts), and every reader takes G from the tensor. `quantize` produces the exact byte layout the fused kernels read
 * (shaders/matmul_q.wgsl, matvec_q.wgsl); `dequantize` is its CPU inverse and the oracle.
 *
 *   q8: code c ∈ [−127, 127], scale s = f16(max|w| / 127),        w ≈ c·s
 *   q4: code c ∈ [0, 15],     min m = f16(min w), s = f16((max w − m) / 15),  w ≈ m + c·s
 * Codes are round-half-away-from-zero of (w − m)/s using the f16-rounded s and m, then clamped.
 *
 * Choice of format (measured: N = 256 rows, K = 3072, relative RMS error of W and of y = x·Wᵀ for
 * x ~ N(0, 1) [16, K]; "gauss" W ~ N(0, 1/K), "t4" Student-t ν = 4 scaled to the same variance,
 * "outl" gauss with 0.2% of entries ×15; B/w counts codes + f16 scales (+ mins)):
 *
 *   | format          | G   | B/w    | gauss W | gauss y | t4 W   | t4 y   | outl W | outl y |
 *   | q8              | 32  | 1.0625 | 0.0053  | 0.0053  | 0.0073 | 0.0073 | 0.0082 | 0.0081 |
 *   | q8              | 64  | 1.0313 | 0.0059  | 0.0058  | 0.0089 | 0.0088 | 0.0109 | 0.0109 |
 *   | q8              | 128 | 1.0156 | 0.0064  | 0.0064  | 0.0108 | 0.0107 | 0.0146 | 0.0145 |
 *   | q4 sym, s=max/7 | 32  | 0.5625 | 0.0967  | 0.0959  | 0.1312 | 0.1307 | 0.1352 | 0.1321 |
 *   | q4 sym, s=−v/8  | 32  | 0.5625 | 0.0858  | 0.0863  | 0.1155 | 0.1161 | 0.1221 | 0.1195 |
 *   | q4 asym         | 32  | 0.6250 | 0.0780  | 0.0768  | 0.0937 | 0.0938 | 0.0909 | 0.0885 |
 *   | q4 sym, s=max/7 | 64  | 0.5313 | 0.1072  | 0.1058  | 0.1599 | 0.1597 | 0.1765 | 0.1749 |
 *   | q4 sym, s=−v/8  | 64  | 0.5313 | 0.0946  | 0.0941  | 0.1406 | 0.1404 | 0.1600 | 0.1597 |
 *   | q4 asym         | 64  | 0.5625 | 0.0894  | 0.0919  | 0.1173 | 0.1194 | 0.1182 | 0.1164 |
 *   | q4 sym, s=−v/8  | 128 | 0.5156 | 0.1027  | 0.1030  | 0.1694 | 0.1698 | 0.2122 | 0.2099 |
 *   | q4 asym         | 128 | 0.5313 | 0.0994  | 0.0985  | 0.1441 | 0.1461 | 0.1556 | 0.1514 |
 *   ("s=−v/8": llama.cpp Q4_0 style, the largest-|w| value v maps to code −8 exactly.)
 *
 * The y error tracks the W error (x is independent of the rounding). q4: at equal bytes (0.5625)
 * asym G=64 and sym G=32 tie (±4%); asym G=64 is taken because it is the published MLX klein 4-bit
 * layout (2.18 GB transformer) and the better of the two on outlier rows; G=128 loses 20–30% on
 * heavy tails for 6% fewer bytes. q8: every G is ≤ 1.5% error; G=64 shares the q4 group size.
 *
 * Byte layout of `data` (one buffer, little-endian; R rows, K cols, Kp = K rounded up to G,
 * g = Kp/G groups per row; sections start on 4-byte boundaries):
 *   codes  @ 0:           R × Kp·bits/32 u32 words; row r starts at word r·Kp·bits/32; element k of
 *                          the row is byte k%4 of word k/4 (q8, two's complement) or nibble k%8
 *                          (bits 4·(k%8)) of word k/8 (q4, unsigned)
 *   scales @ scaleOffset:  R × g f16, flat index r·g + k/G, two per u32 word, low half first
 *   mins   @ minOffset:    (q4 only) same layout as scales
 * Columns K..Kp−1 (when K is not a multiple of G; the real model's K are all multiples of 128)
 * hold code 0 and are never read; group statistics use the real columns only.
 */
import { assert } from './assert';
import { type QuantFormat, type WeightFormat, f16BitsToF32, f32ToF16Bits } from './dtype';

export type { QuantFormat, WeightFormat };


export function isQuantFormat(f: string): f is QuantFormat {
  return f === 'q8' || f === 'q4';
}

/** Bits per code of each format. */
export const QUANT_BITS: Readonly<Record<QuantFormat, number>> = { q8: 8, q4: 4 };
/** Default group size G of each format (see the table above): what `quantize` makes and a tensor without its own G has. */
export const QUANT_GROUP: Readonly<Record<QuantFormat, number>> = { q8: 64, q4: 64 };

export interface QuantizedTensor {
  readonly format: QuantFormat;
  readonly rows: number;
  readonly cols: number;
  readonly groupSize: number;
  /** The exact GPU layout (see the file comment and `quantLayout`). */
  readonly data: Uint8Array;
}

export interface QuantLayout {
  groupSize: number;
  /** Kp: cols rounded up to a multiple of groupSize. */
  paddedCols: number;
  /** Groups per row, Kp / G. */
  groups: number;
  /** u32 code words per row. */
  codeWordsPerRow: number;
  /** Byte offsets of the sections; minOffset is −1 for q8. */
  scaleOffset: number;
  minOffset: number;
  byteLength: number;
}

/**
 * Section offsets and sizes for a [rows, cols] weight in `format` with `group` weights per scale.
 * Errors: assertion failures for an empty shape or a group that is not a positive multiple of 8
 * (a u32 code word must not straddle two groups: the kernels read one scale per word).
 */
export function quantLayout(format: QuantFormat, rows: number, cols: number, group = QUANT_GROUP[format]): QuantLayout {
  assert(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1, () => `quantLayout: bad shape [${rows}, ${cols}]`);
  assert(Number.isInteger(group) && group >= 8 && group % 8 === 0, () => `quantLayout: group size ${group} is not a positive multiple of 8`);
  const G = group;
  const paddedCols = Math.ceil(cols / G) * G;
  const groups = paddedCols / G;
  const codeWordsPerRow = (paddedCols * QUANT_BITS[format]) / 32;
  const tableBytes = Math.ceil((rows * groups) / 2) * 4; // f16 pairs in u32 words
  const scaleOffset = rows * codeWordsPerRow * 4;
  const minOffset = format === 'q4' ? scaleOffset + tableBytes : -1;
  const byteLength = scaleOffset + tableBytes * (format === 'q4' ? 2 : 1);
  return { groupSize: G, paddedCols, groups, codeWordsPerRow, scaleOffset, minOffset, byteLength };
}

const roundHalfAway = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

/** w: [rows, cols] row-major f32 → the `format` layout with `group` weights per scale. */
export function quantize(w: Float32Array, rows: number, cols: number, format: QuantFormat, group = QUANT_GROUP[format]): QuantizedTensor {
  assert(w.length === rows * cols, () => `quantize: ${w.length} values for [${rows}, ${cols}]`);
  const L = quantLayout(format, rows, cols, group);
  const G = L.groupSize;
  const data = new Uint8Array(L.byteLength);
  const words = new Uint32Array(data.buffer);
  const halves = new Uint16Array(data.buffer);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < L.groups; g++) {
      const k0 = g * G;
      const k1 = Math.min(k0 + G, cols);
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = k0; k < k1; k++) {
        const v = w[r * cols + k] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const gi = r * L.groups + g;
      // format parameters in f16, and the codes computed from the rounded values
      const minBits = format === 'q4' ? f32ToF16Bits(lo) : 0;
      const m = f16BitsToF32(minBits);
      const scaleBits = f32ToF16Bits(format === 'q8' ? Math.max(-lo, hi) / 127 : (hi - m) / 15);
      const s = f16BitsToF32(scaleBits);
      halves[L.scaleOffset / 2 + gi] = scaleBits;
      if (format === 'q4') halves[L.minOffset / 2 + gi] = minBits;
      for (let k = k0; k < k1; k++) {
        const v = w[r * cols + k] as number;
        const wi = r * L.codeWordsPerRow;
        if (format === 'q8') {
          const c = s > 0 ? Math.max(-127, Math.min(127, roundHalfAway(v / s))) : 0;
          words[wi + (k >> 2)] = ((words[wi + (k >> 2)] as number) | ((c & 0xff) << (8 * (k & 3)))) >>> 0;
        } else {
          const c = s > 0 ? Math.max(0, Math.min(15, roundHalfAway((v - m) / s))) : 0;
          words[wi + (k >> 3)] = ((words[wi + (k >> 3)] as number) | (c << (4 * (k & 7)))) >>> 0;
        }
      }
    }
  }
  return { format, rows, cols, groupSize: G, data };
}

/** The layout → [rows, cols] f32 (exactly what the kernels compute per weight). */
export function dequantize(q: QuantizedTensor): Float32Array {
  const L = quantLayout(q.format, q.rows, q.cols, q.groupSize);
  assert(q.data.byteLength === L.byteLength, () => `dequantize: ${q.data.byteLength} bytes for ${q.format}[${q.rows}, ${q.cols}] G=${q.groupSize}, want ${L.byteLength}`);
  const data = q.data.byteOffset % 4 === 0 ? q.data : q.data.slice();
  const words = new Uint32Array(data.buffer, data.byteOffset, L.byteLength / 4);
  const halves = new Uint16Array(data.buffer, data.byteOffset, L.byteLength / 2);
  const out = new Float32Array(q.rows * q.cols);
  for (let r = 0; r < q.rows; r++) {
    for (let k = 0; k < q.cols; k++) {
      const gi = r * L.groups + Math.floor(k / L.groupSize);
      const s = f16BitsToF32(halves[L.scaleOffset / 2 + gi] as number);
      const word = words[r * L.codeWordsPerRow + (k >> (q.format === 'q8' ? 2 : 3))] as number;
      out[r * q.cols + k] = q.format === 'q8'
        ? ((word << (24 - 8 * (k & 3))) >> 24) * s // sign-extend byte k%4
        : f16BitsToF32(halves[L.minOffset / 2 + gi] as number) + ((word >>> (4 * (k & 7))) & 15) * s;
    }
  }
  return out;
}

/** Relative RMS error ‖w − ŵ‖/‖w‖ and the largest |w − ŵ| of q against the original w. */
export function quantError(w: Float32Array, q: QuantizedTensor): { relRms: number; maxAbs: number } {
  const d = dequantize(q);
  assert(d.length === w.length, () => `quantError: ${w.length} values vs ${q.format}[${q.rows}, ${q.cols}]`);
  let err = 0;
  let ref = 0;
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs((w[i] as number) - (d[i] as number));
    err += e * e;
    ref += (w[i] as number) ** 2;
    if (e > maxAbs) maxAbs = e;
  }
  return { relRms: ref > 0 ? Math.sqrt(err / ref) : Math.sqrt(err), maxAbs };
}

/** One line for a pack report: `name q4 [R, K] 0.5625 B/w relRms 8.9e-2 maxAbs 1.2e-3`. */
export function quantReport(name: string, w: Float32Array, rows: number, cols: number, format: QuantFormat): string {
  const q = quantize(w, rows, cols, format);
  const { relRms, maxAbs } = quantError(w, q);
  const bpw = q.data.byteLength / (rows * cols);
  return `${name} ${format} [${rows}, ${cols}] ${bpw.toFixed(4)} B/w relRms ${relRms.toExponential(2)} maxAbs ${maxAbs.toExponential(2)}`;
}
