/**
 * GGUF blocks repacked into a quant.ts format code for code, without a detour through f32 (which
 * would round twice: GGUF's quantization, then ours). One group of G weights is one GGML block
 * (Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1) or one sub-block of a K-quant super-block of 256
 * (ggufQuants.ts layouts):
 *
 *   type  G   ggml value                  quant.ts  codes      scale         min
 *   Q8_0  32  y = qs·d                    q8        qs         d             —
 *   Q5_0  32  y = (q − 16)·d              q8        q − 16     d             —              (d < 0: 16 − q, −d)
 *   Q4_0  32  y = (q − 8)·d               q4        q          d             −8·d
 *   Q4_1  32  y = q·d + m                 q4        q          d             m
 *   Q5_1  32  y = q·d + m                 q8m       q (0…31)   d             m
 *   Q3_K  16  y = d·(sc − 32)·(q − 4)     q4        q (0…7)    f16(d·sc′)    −4·f16(d·sc′)  (sc′ = sc − 32)
 *   Q4_K  32  y = d·sc·q − dmin·m         q4        q (0…15)   ≈ d·sc        ≈ −dmin·m      (f16 pair fitted, fitPair)
 *   Q5_K  32  y = d·sc·q − dmin·m         q8m       q (0…31)   ≈ d·sc        ≈ −dmin·m      (f16 pair fitted, fitPair)
 *   Q6_K  16  y = d·sc·(q − 32)           q8        q − 32     f16(d·sc)     —
 *
 * Every quantized type ggufQuants.ts decodes is repacked. q8m (8-bit unsigned codes with a min,
 * quant.ts) exists for Q5_1 and Q5_K: their 32 levels do not fit q4's 16, and q8 has no min.
 *
 * Element order: quant.ts puts element k of a row in nibble k%8 of word k/8 (q4: elements 2b, 2b + 1
 * in the low and high nibble of byte b) or byte k (q8, q8m). ggml's differs: Q4_0/Q4_1 put element j
 * in the low and j + 16 in the high nibble of qs[j] (ggml-common.h block_q4_0, ggml-quants.c
 * dequantize_row_q4_0), Q5_0/Q5_1 likewise with bit 4 of element j in bit j of qh (codeQ5); Q4_K
 * puts element l of sub-block 2g in the low and of sub-block 2g + 1 in the high nibble of
 * qs[32g + l] (dequantize_row_q4_K), Q5_K likewise with bit 4 of sub-block j's element l in qh[l]
 * bit j (codeQ5K); Q3_K and Q6_K split a code over two bit planes (codeQ3K, codeQ6K in
 * ggufQuants.ts). Every code is read out and written at its quant.ts place.
 *
 * Exactness. Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1: our dequantize (quant.ts) gives ggufQuants'
 * `dequantize` bit for bit. q8 c·s is ggml's qs·d (Q8_0) and (q − 16)·d (Q5_0); q4 and q8m m + c·s
 * are ggml's q·d + m for Q4_1 and Q5_1 (the same product and the same sum). For Q4_0, −8·d is an
 * exponent shift, exact in f16, and (q − 8)·d and −8·d + q·d are the same exactly representable
 * value (an f16 times an integer of ≤ 5 bits); a zero comes out +0 both ways (ggufQuants' decoder
 * adds +0 as the min of the symmetric types; ggml's C decoder gives −0 for d < 0). Q5_0 keeps that:
 * a d with its sign bit set is stored as −d with codes 16 − q (the same products), d = ±0 as scale
 * +0 and codes 0, so that code 0 never multiplies a negative or −0 scale.
 * K-quants: the codes are kept, but a group's scale d·sc (an f16 times a 6- or 8-bit integer, exact
 * in f32) and Q4_K's / Q5_K's min −dmin·m become f16s. Q6_K / Q3_K: the scale rounded to nearest
 * (relative error ≤ 2⁻¹¹); Q3_K's min is −4 × that rounded scale, exact in f16 (so y = s·(q − 4)
 * with s = f16(d·sc′), −4·s = f16(−4·d·sc′), and code 4 is exactly 0 as in ggml). Q4_K / Q5_K: the
 * min cancels much of q·s, so its rounding error is large next to y, and scale and min rounded
 * independently add up to 6.7e-4 relative RMS (Q4_K; 9.5e-4 on other seeded data with outliers);
 * fitPair takes, among the f16 neighbours of d·sc and of the least-squares min for each, the pair
 * closest to ggml's values: codes unchanged, ≤ 4.9e-4 (Q4_K) and ≤ 5.6e-4 (Q5_K) on the same data.
 * Added relative RMS against ggml's values, measured in ggufRepack.test.ts (N(0, 0.02) weights with
 * outliers): Q4_K ≤ 4.9e-4, Q5_K ≤ 5.6e-4, Q6_K ≤ 2.1e-4, Q3_K ≤ 2.2e-4, the block types 0, where
 * decoding and re-quantizing to q4 at G = 64 adds 0.09–0.12 (quant.ts table; to q8 at G = 64 ≈ 6e-3).
 *
 * A group whose scale or min is not a finite f16 (Q4_0: |d| > 8188, so −8·d overflows; K-quants:
 * |d·sc| or |dmin·m| > 65504, Q3_K: |4·d·sc′| > 65504; or d Inf/NaN) cannot be held: that group
 * alone is re-quantized by quant.ts from its decoded values (lossy, counted in `requantized` and in
 * the pack's relRms). Real weights have |d| ≪ 1. Q8_0 / Q5_0 / Q5_1 / Q4_1 store GGUF's own f16 d
 * (Q5_0: |d|) and m: never re-quantized.
 */
import { WeightMismatch } from '../errors';
import { f16BitsToF32, f32ToF16Bits } from '../util/dtype';
import { GGML_BLOCK, type GgmlType, codeQ3K, codeQ4K, codeQ5, codeQ5K, codeQ6K, dequantize as ggmlDequantize, getScaleMinK4, getScaleQ3K, ggmlBytes } from './ggufQuants';
import { QUANT_BITS, QUANT_HAS_MIN, type QuantLayoutFormat, type QuantizedTensor, quantLayout, quantize } from '../util/quant';

/** The GGML types repacked code for code, and the quant.ts format each becomes. */
export const GGUF_REPACK: Readonly<Partial<Record<GgmlType, QuantLayoutFormat>>> = {
  Q8_0: 'q8', Q4_0: 'q4', Q4_1: 'q4', Q5_0: 'q8', Q5_1: 'q8m', Q3_K: 'q4', Q4_K: 'q4', Q5_K: 'q8m', Q6_K: 'q8',
};

/**
 * Group size G of each repacked type: the values sharing one GGML scale, i.e. a Q8_0 / Q4_0 / Q4_1 /
 * Q5_0 / Q5_1 block of 32, a Q4_K or Q5_K sub-block of 32, a Q3_K or Q6_K sub-block of 16 (all
 * multiples of 8, as quantLayout and the kernels require).
 */
export const GGUF_REPACK_GROUP: Readonly<Partial<Record<GgmlType, number>>> = { Q8_0: 32, Q4_0: 32, Q4_1: 32, Q5_0: 32, Q5_1: 32, Q3_K: 16, Q4_K: 32, Q5_K: 32, Q6_K: 16 };

/** The repacked types whose dequantized values equal the GGUF decoder's bit for bit (the K-quants round their scale products to f16). */
export const GGUF_REPACK_EXACT: ReadonlySet<GgmlType> = new Set<GgmlType>(['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']);

/** The types of 32-value blocks with one scale each (repackBlocks); the rest are K-quant super-blocks. */
type BlockType = 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1';
const isBlockType = (t: GgmlType): t is BlockType => t === 'Q8_0' || t === 'Q4_0' || t === 'Q4_1' || t === 'Q5_0' || t === 'Q5_1';

/**
 * `rows` rows of `cols` values of `type` (exactly their GGUF bytes, row after row) → the quant.ts
 * layout of [rows, cols] in format GGUF_REPACK[type] with G = GGUF_REPACK_GROUP[type].
 * `requantized` counts the groups that could not be held (see the file comment). Errors:
 * WeightMismatch naming `what` for a type that is not repacked, cols not whole blocks, or a wrong
 * byte count.
 */
export function repackGguf(type: GgmlType, bytes: Uint8Array, rows: number, cols: number, what = 'tensor'): QuantizedTensor & { requantized: number } {
  const format = GGUF_REPACK[type];
  const G = GGUF_REPACK_GROUP[type];
  if (!format || !G) throw new WeightMismatch(what, `one of ${Object.keys(GGUF_REPACK).join(', ')} to repack`, type);
  const want = rows * ggmlBytes(type, cols, what);
  if (bytes.length !== want) throw new WeightMismatch(what, `${want} bytes (${rows} rows of ${cols} ${type} values)`, `${bytes.length}`);
  const L = quantLayout(format, rows, cols, G);
  const data = new Uint8Array(L.byteLength);
  const requantized = isBlockType(type) ? repackBlocks(type, bytes, rows, L, data) : repackSuperBlocks(type, format, bytes, rows, L, data);
  return { format, rows, cols, groupSize: G, data, requantized };
}

const half = (b: Uint8Array, o: number): number => (b[o] as number) | ((b[o + 1] as number) << 8);

/** Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 (G = 32, one block per group) into `data`; returns the groups re-quantized. */
function repackBlocks(type: BlockType, bytes: Uint8Array, rows: number, L: ReturnType<typeof quantLayout>, data: Uint8Array): number {
  const G = L.groupSize;
  const halves = new Uint16Array(data.buffer);
  const blockBytes = GGML_BLOCK[type].bytes;
  const bits = QUANT_BITS[GGUF_REPACK[type] as QuantLayoutFormat];
  let requantized = 0;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < L.groups; g++) {
      const o = (r * L.groups + g) * blockBytes; // the block's first byte
      const gi = r * L.groups + g; // its scale / min index
      const codeAt = r * L.codeWordsPerRow * 4 + (g * G * bits) / 8;
      const d = half(bytes, o);
      halves[L.scaleOffset / 2 + gi] = d;
      if (type === 'Q8_0') {
        data.set(bytes.subarray(o + 2, o + 2 + G), codeAt);
        continue;
      }
      if (type === 'Q5_1') {
        // → q8m: code q, scale d, min m (ggml dequantize_row_q5_1: y = q·d + m)
        halves[L.minOffset / 2 + gi] = half(bytes, o + 2);
        for (let e = 0; e < G; e++) data[codeAt + e] = codeQ5(bytes, o, e, true);
        continue;
      }
      if (type === 'Q5_0') {
        // → q8: code q − 16, scale d (ggml dequantize_row_q5_0: y = (q − 16)·d); d with its sign bit
        // set: code 16 − q, scale −d (the same products), and d = ±0: codes 0, scale +0, so that a zero
        // comes out +0 as from Q4_0's m + c·s (see the file comment on exactness)
        if ((d & 0x7fff) === 0) {
          halves[L.scaleOffset / 2 + gi] = 0;
          continue;
        }
        const sign = d & 0x8000 ? -1 : 1;
        halves[L.scaleOffset / 2 + gi] = d & 0x7fff;
        for (let e = 0; e < G; e++) data[codeAt + e] = (sign * (codeQ5(bytes, o, e, false) - 16)) & 0xff;
        continue;
      }
      let m: number;
      if (type === 'Q4_1') {
        m = half(bytes, o + 2);
      } else {
        const mv = -8 * f16BitsToF32(d);
        m = f32ToF16Bits(mv);
        if (!(Number.isFinite(mv) && f16BitsToF32(m) === mv)) {
          requantizeGroup('q4', ggmlDequantize(type, bytes.subarray(o, o + blockBytes), G), data, codeAt, L.scaleOffset / 2 + gi, L.minOffset / 2 + gi);
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
  return requantized;
}

/**
 * How to read one sub-block j (one quant.ts group) of a K-quant block at byte o: its unrounded
 * scale and min (the min as `min + minSteps·s`, s the scale rounded to f16), and its codes.
 */
interface SubBlockReader {
  scale(b: Uint8Array, o: number, j: number): { scale: number; min: number; minSteps: number };
  /** Codes of sub-block j (G values) as the quant.ts format stores them (q4: 0…15; q8: −128…127; q8m: 0…255) → out. */
  codes(b: Uint8Array, o: number, j: number, out: Int32Array): void;
  /** Whether the min is free (Q4_K, Q5_K): scale and min are then fitted as a pair (fitPair). */
  freeMin: boolean;
}

/** Q4_K / Q5_K sub-block j: scale d·sc, min −dmin·m (getScaleMinK4 of the 12 scale bytes at o + 4). */
function scaleMinK45(b: Uint8Array, o: number, j: number): { scale: number; min: number; minSteps: number } {
  const [sc, m] = getScaleMinK4(j, b, o + 4);
  return { scale: f16BitsToF32(half(b, o)) * sc, min: -f16BitsToF32(half(b, o + 2)) * m, minSteps: 0 };
}

const SUB_BLOCKS: Readonly<Partial<Record<GgmlType, SubBlockReader>>> = {
  // ggml dequantize_row_q3_K: y = d·(sc − 32)·(q − 4) = s·q − 4·s
  Q3_K: {
    scale: (b, o, j) => ({ scale: f16BitsToF32(half(b, o + 108)) * (getScaleQ3K(j, b, o + 96) - 32), min: 0, minSteps: -4 }),
    codes: (b, o, j, out) => {
      for (let t = 0; t < 16; t++) out[t] = codeQ3K(b, o, 16 * j + t);
    },
    freeMin: false,
  },
  // ggml dequantize_row_q4_K: y = (d·sc)·q − dmin·m
  Q4_K: {
    scale: scaleMinK45,
    codes: (b, o, j, out) => {
      for (let t = 0; t < 32; t++) out[t] = codeQ4K(b, o, 32 * j + t);
    },
    freeMin: true,
  },
  // ggml dequantize_row_q5_K: y = (d·sc)·q − dmin·m, q = 0…31
  Q5_K: {
    scale: scaleMinK45,
    codes: (b, o, j, out) => {
      for (let t = 0; t < 32; t++) out[t] = codeQ5K(b, o, 32 * j + t);
    },
    freeMin: true,
  },
  // ggml dequantize_row_q6_K: y = (d·sc)·(q − 32), sc int8
  Q6_K: {
    scale: (b, o, j) => ({ scale: f16BitsToF32(half(b, o + 208)) * (((b[o + 192 + j] as number) << 24) >> 24), min: 0, minSteps: 0 }),
    codes: (b, o, j, out) => {
      for (let t = 0; t < 16; t++) out[t] = codeQ6K(b, o, 16 * j + t) - 32;
    },
    freeMin: false,
  },
};

/** K-quant super-blocks (each 256 / G groups) into `data`; returns the groups re-quantized. */
function repackSuperBlocks(type: GgmlType, format: QuantLayoutFormat, bytes: Uint8Array, rows: number, L: ReturnType<typeof quantLayout>, data: Uint8Array): number {
  const reader = SUB_BLOCKS[type] as SubBlockReader;
  const G = L.groupSize;
  const perBlock = 256 / G;
  const blocksPerRow = L.groups / perBlock;
  const blockBytes = GGML_BLOCK[type].bytes;
  const bits = QUANT_BITS[format];
  const halves = new Uint16Array(data.buffer);
  const codes = new Int32Array(G);
  let requantized = 0;
  for (let r = 0; r < rows; r++) {
    for (let sb = 0; sb < blocksPerRow; sb++) {
      const o = (r * blocksPerRow + sb) * blockBytes;
      let decoded: Float32Array | undefined; // the block's values, decoded only for a group that needs them
      for (let j = 0; j < perBlock; j++) {
        const gi = r * L.groups + sb * perBlock + j;
        const codeAt = r * L.codeWordsPerRow * 4 + ((sb * 256 + j * G) * bits) / 8;
        reader.codes(bytes, o, j, codes);
        const { scale, min, minSteps } = reader.scale(bytes, o, j);
        let sBits: number;
        let mBits = 0;
        if (reader.freeMin) {
          [sBits, mBits] = fitPair(scale, min, codes);
        } else {
          sBits = f32ToF16Bits(scale);
          if (QUANT_HAS_MIN[format]) mBits = f32ToF16Bits(min + minSteps * f16BitsToF32(sBits));
        }
        if (!(Number.isFinite(f16BitsToF32(sBits)) && Number.isFinite(f16BitsToF32(mBits)))) {
          decoded ??= ggmlDequantize(type, bytes.subarray(o, o + blockBytes), 256);
          requantizeGroup(format, decoded.subarray(j * G, (j + 1) * G), data, codeAt, L.scaleOffset / 2 + gi, L.minOffset / 2 + gi);
          requantized++;
          continue;
        }
        halves[L.scaleOffset / 2 + gi] = sBits;
        if (QUANT_HAS_MIN[format]) halves[L.minOffset / 2 + gi] = mBits;
        if (bits === 4) {
          for (let t = 0; t < G; t += 2) data[codeAt + t / 2] = (codes[t] as number) | ((codes[t + 1] as number) << 4);
        } else {
          for (let t = 0; t < G; t++) data[codeAt + t] = (codes[t] as number) & 0xff;
        }
      }
    }
  }
  return requantized;
}

/**
 * f16 bits of the scale and min (s, m) for a group y_t = min + q_t·scale with the codes q_t kept:
 * of the f16 values bracketing `scale` and, for each, those bracketing the least-squares min
 * min + (scale − s)·mean(q), the pair with the least Σ_t (y_t − m − q_t·s)² (in closed form from
 * Σq, Σq²). Exactly (scale, min) when both are f16 values; non-finite bits when one is not finite
 * or beyond the f16 range.
 */
function fitPair(scale: number, min: number, codes: Int32Array): [sBits: number, mBits: number] {
  const G = codes.length;
  let sum = 0;
  let sum2 = 0;
  for (let t = 0; t < G; t++) {
    sum += codes[t] as number;
    sum2 += (codes[t] as number) ** 2;
  }
  let best: [number, number] = [f32ToF16Bits(scale), f32ToF16Bits(min)];
  let bestSse = Infinity;
  for (const sBits of f16Bracket(scale)) {
    const ds = scale - f16BitsToF32(sBits);
    for (const mBits of f16Bracket(min + (ds * sum) / G)) {
      const dm = min - f16BitsToF32(mBits);
      const sse = G * dm * dm + 2 * dm * ds * sum + ds * ds * sum2;
      if (sse < bestSse) {
        bestSse = sse;
        best = [sBits, mBits];
      }
    }
  }
  return best;
}

/** f16 bits of v if v is an f16 value (or rounds to ±Inf / NaN), else of the two f16 values either side of it. */
function f16Bracket(v: number): number[] {
  const b = f32ToF16Bits(v);
  const x = f16BitsToF32(b);
  if (x === v || !Number.isFinite(x)) return [b];
  const up = (h: number): number => (h === 0x8000 ? 0x0001 : h & 0x8000 ? h - 1 : h + 1); // next larger f16
  const down = (h: number): number => (h === 0x0000 ? 0x8001 : h & 0x8000 ? h + 1 : h - 1); // next smaller
  return x < v ? [b, up(b)] : [down(b), b];
}

/** One group of decoded `values` quantized by quant.ts (`format`, G = values.length) into its place in `data`. */
function requantizeGroup(format: QuantLayoutFormat, values: Float32Array, data: Uint8Array, codeAt: number, scaleHalf: number, minHalf: number): void {
  const G = values.length;
  const q = quantize(values, 1, G, format, G);
  const L = quantLayout(format, 1, G, G);
  data.set(q.data.subarray(0, (G * QUANT_BITS[format]) / 8), codeAt);
  const src = new Uint16Array(q.data.buffer);
  const dst = new Uint16Array(data.buffer);
  dst[scaleHalf] = src[L.scaleOffset / 2] as number;
  if (QUANT_HAS_MIN[format]) dst[minHalf] = src[L.minOffset / 2] as number;
}
