/**
 * GGML tensor types as stored in GGUF files, and their dequantization to f32. A row of K values is
 * K / blockSize consecutive blocks of typeSize bytes, so rows are contiguous byte ranges.
 *
 * Block layouts (ggml-org/ggml `src/ggml-common.h`, dequantizers `src/ggml-quants.c`
 * `dequantize_row_*`, snapshot d99724f2; all little-endian, d/m/dmin are IEEE halves):
 *
 *   Q4_0  32 values, 18 B: d, qs[16]           y[j] = (qs[j] & 15 − 8)·d, y[j+16] = (qs[j] >> 4 − 8)·d
 *   Q4_1  32 values, 20 B: d, m, qs[16]        as Q4_0 without the −8, plus m
 *   Q5_0  32 values, 22 B: d, qh (u32), qs[16] 5th bit of y[j] is qh bit j, of y[j+16] qh bit j+16; −16
 *   Q5_1  32 values, 24 B: d, m, qh, qs[16]    as Q5_0 without the −16, plus m
 *   Q8_0  32 values, 34 B: d, qs[32] (int8)    y[j] = qs[j]·d
 *   Q3_K 256 values, 110 B: hmask[32], qs[64], scales[12], d
 *        16 sub-blocks of 16 with a 6-bit scale stored + 32 (getScaleQ3K): sc(i) − 32 ∈ −32…31;
 *        e = 128n + 32k + l (half n, quarter k = 0…3, l = 0…31): q = ((qs[32n + l] >> 2k) & 3) |
 *        (hmask[l] bit 4n + k) << 2, i.e. hmask[e % 32] bit ⌊e/32⌋; y[e] = d·(sc(e/16) − 32)·(q − 4)
 *   Q4_K 256 values, 144 B: d, dmin, scales[12], qs[128]
 *        8 sub-blocks of 32 with 6-bit scale sc and min m packed in `scales` (getScaleMinK4);
 *        64-value group g: y[64g+l] = d·sc(2g)·(qs[32g+l] & 15) − dmin·m(2g),
 *                          y[64g+32+l] = d·sc(2g+1)·(qs[32g+l] >> 4) − dmin·m(2g+1)
 *   Q5_K 256 values, 176 B: d, dmin, scales[12], qh[32], qs[128]
 *        as Q4_K plus a 5th bit: qh[l] bit 2g for y[64g+l], bit 2g+1 for y[64g+32+l]
 *   Q6_K 256 values, 210 B: ql[128], qh[64], scales[16] (int8), d
 *        half n (128 values), quarter k = 0…3, l = 0…31: low 4 bits from ql[64n + 32·(k&1) + l]
 *        (low nibble for k < 2, high for k ≥ 2), top 2 bits qh[32n + l] >> 2k; y = d·sc[i/16]·(q − 32)
 */
import { WeightMismatch } from '../errors';
import { bf16ToF32, f16BitsToF32 } from '../util/dtype';

/** GGML type id (GGUF tensor info `type`) → name, for every type this module decodes. */
export const GGML_TYPE_NAMES: Readonly<Record<number, GgmlType>> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0',
  11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 30: 'BF16',
};

export type GgmlType = 'F32' | 'F16' | 'BF16' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/** Values per block and bytes per block (ggml `type_traits` blck_size / type_size). */
export const GGML_BLOCK: Readonly<Record<GgmlType, { size: number; bytes: number }>> = {
  F32: { size: 1, bytes: 4 }, F16: { size: 1, bytes: 2 }, BF16: { size: 1, bytes: 2 },
  Q4_0: { size: 32, bytes: 18 }, Q4_1: { size: 32, bytes: 20 }, Q5_0: { size: 32, bytes: 22 },
  Q5_1: { size: 32, bytes: 24 }, Q8_0: { size: 32, bytes: 34 },
  Q3_K: { size: 256, bytes: 110 }, Q4_K: { size: 256, bytes: 144 }, Q5_K: { size: 256, bytes: 176 }, Q6_K: { size: 256, bytes: 210 },
};

/** Bytes of `n` values of `type`; throws when n is not a whole number of blocks. */
export function ggmlBytes(type: GgmlType, n: number, what: string): number {
  const b = GGML_BLOCK[type];
  if (n % b.size !== 0) throw new WeightMismatch(what, `a multiple of ${b.size} values per row (${type} blocks)`, `${n}`);
  return (n / b.size) * b.bytes;
}

/**
 * The 6-bit scale and min of sub-block j (0…7) of a Q4_K/Q5_K block, `q` = its 12 `scales` bytes:
 * j < 4: low 6 bits of q[j] and q[j+4]; j ≥ 4: low/high nibble of q[j+4] plus the top 2 bits of
 * q[j−4] (scale) and q[j] (min) as bits 4–5 (ggml `get_scale_min_k4`).
 */
export function getScaleMinK4(j: number, q: Uint8Array, at: number): [sc: number, m: number] {
  if (j < 4) return [(q[at + j] as number) & 63, (q[at + j + 4] as number) & 63];
  const lo = q[at + j + 4] as number;
  return [(lo & 0xf) | (((q[at + j - 4] as number) >> 6) << 4), (lo >> 4) | (((q[at + j] as number) >> 6) << 4)];
}

/**
 * The stored 6-bit scale of sub-block i (0…15) of a Q3_K block, `q` = its 12 `scales` bytes at `at`
 * (0…63; the signed scale is this − 32): low 4 bits from the low (i < 8) or high (i ≥ 8) nibble of
 * q[i % 8], bits 4–5 from bits 2·⌊i/4⌋, 2·⌊i/4⌋ + 1 of q[8 + i % 4] (ggml dequantize_row_q3_K's
 * kmask1/kmask2 unpacking of `aux`).
 */
export function getScaleQ3K(i: number, q: Uint8Array, at: number): number {
  const lo = ((q[at + (i & 7)] as number) >> (i < 8 ? 0 : 4)) & 0xf;
  return lo | ((((q[at + 8 + (i & 3)] as number) >> (2 * (i >> 2))) & 3) << 4);
}

/** Code e (0…255) of the Q3_K block at byte o of b: q ∈ 0…7 (y = d·(sc − 32)·(q − 4)). */
export function codeQ3K(b: Uint8Array, o: number, e: number): number {
  const l = e & 31;
  const lo = ((b[o + 32 + 32 * (e >> 7) + l] as number) >> (2 * ((e >> 5) & 3))) & 3;
  return lo | ((((b[o + l] as number) >> (e >> 5)) & 1) << 2);
}

/** Code e (0…255) of the Q4_K block at byte o of b: q ∈ 0…15 (y = d·sc·q − dmin·m). */
export function codeQ4K(b: Uint8Array, o: number, e: number): number {
  return ((b[o + 16 + 32 * (e >> 6) + (e & 31)] as number) >> (4 * ((e >> 5) & 1))) & 0xf;
}

/**
 * Code e (0…255) of the Q5_K block at byte o of b: q ∈ 0…31 (y = d·sc·q − dmin·m), the Q4_K nibble
 * of qs (at o + 48) plus bit ⌊e/32⌋ of qh[e % 32] (at o + 16) as bit 4.
 */
export function codeQ5K(b: Uint8Array, o: number, e: number): number {
  const lo = ((b[o + 48 + 32 * (e >> 6) + (e & 31)] as number) >> (4 * ((e >> 5) & 1))) & 0xf;
  return lo | ((((b[o + 16 + (e & 31)] as number) >> (e >> 5)) & 1) << 4);
}

/**
 * Code e (0…31) of the Q5_0 / Q5_1 block at byte o of b (`hasMin`: Q5_1, whose qh and qs sit 2 bytes
 * later): q ∈ 0…31, the low (e < 16) or high nibble of qs[e % 16] plus bit e of the u32 qh as bit 4
 * (Q5_0 y = (q − 16)·d, Q5_1 y = q·d + m).
 */
export function codeQ5(b: Uint8Array, o: number, e: number, hasMin: boolean): number {
  const qh = o + (hasMin ? 4 : 2);
  const nibble = ((b[qh + 4 + (e & 15)] as number) >> (e < 16 ? 0 : 4)) & 0xf;
  return nibble | ((((b[qh + (e >> 3)] as number) >> (e & 7)) & 1) << 4);
}

/** Code e (0…255) of the Q6_K block at byte o of b: q ∈ 0…63 (y = d·sc·(q − 32)). */
export function codeQ6K(b: Uint8Array, o: number, e: number): number {
  const k = (e >> 5) & 3;
  const ql = b[o + 64 * (e >> 7) + 32 * (k & 1) + (e & 31)] as number;
  const hi = ((b[o + 128 + 32 * (e >> 7) + (e & 31)] as number) >> (2 * k)) & 3;
  return (k < 2 ? ql & 0xf : ql >> 4) | (hi << 4);
}

type BlockDecoder = (b: Uint8Array, o: number, y: Float32Array, i: number) => void;

const half = (b: Uint8Array, o: number): number => f16BitsToF32((b[o] as number) | ((b[o + 1] as number) << 8));
const u32 = (b: Uint8Array, o: number): number =>
  ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;

/** 32-value blocks of nibbles: `min` null → symmetric with offset −8 (or −16 with a 5th bit). */
function decodeNibbles(b: Uint8Array, o: number, y: Float32Array, i: number, hasMin: boolean, fifth: boolean): void {
  const d = half(b, o);
  const m = hasMin ? half(b, o + 2) : 0;
  let at = o + (hasMin ? 4 : 2);
  const qh = fifth ? u32(b, at) : 0;
  if (fifth) at += 4;
  const offset = hasMin ? 0 : fifth ? 16 : 8;
  for (let j = 0; j < 16; j++) {
    const q = b[at + j] as number;
    const h0 = fifth ? ((qh >>> j) & 1) << 4 : 0;
    const h1 = fifth ? ((qh >>> (j + 16)) & 1) << 4 : 0;
    y[i + j] = ((q & 0xf) + h0 - offset) * d + m;
    y[i + j + 16] = ((q >> 4) + h1 - offset) * d + m;
  }
}

/** Q4_K (hasHigh false) and Q5_K (hasHigh true). */
function decodeK45(b: Uint8Array, o: number, y: Float32Array, i: number, hasHigh: boolean): void {
  const d = half(b, o);
  const dmin = half(b, o + 2);
  const qhAt = o + 16;
  const qsAt = hasHigh ? o + 48 : o + 16;
  for (let g = 0; g < 4; g++) {
    const [sc1, m1] = getScaleMinK4(2 * g, b, o + 4);
    const [sc2, m2] = getScaleMinK4(2 * g + 1, b, o + 4);
    for (let l = 0; l < 32; l++) {
      const q = b[qsAt + 32 * g + l] as number;
      const h = hasHigh ? (b[qhAt + l] as number) : 0;
      y[i + 64 * g + l] = d * sc1 * ((q & 0xf) + (((h >> (2 * g)) & 1) << 4)) - dmin * m1;
      y[i + 64 * g + 32 + l] = d * sc2 * ((q >> 4) + (((h >> (2 * g + 1)) & 1) << 4)) - dmin * m2;
    }
  }
}

/** Q3_K (matches ggml dequantize_row_q3_K). */
function decodeQ3K(b: Uint8Array, o: number, y: Float32Array, i: number): void {
  const d = half(b, o + 108);
  for (let e = 0; e < 256; e++) y[i + e] = d * (getScaleQ3K(e >> 4, b, o + 96) - 32) * (codeQ3K(b, o, e) - 4);
}

/** Q6_K (matches ggml dequantize_row_q6_K). */
function decodeQ6K(b: Uint8Array, o: number, y: Float32Array, i: number): void {
  const d = half(b, o + 208);
  for (let e = 0; e < 256; e++) y[i + e] = d * (((b[o + 192 + (e >> 4)] as number) << 24) >> 24) * (codeQ6K(b, o, e) - 32);
}

function decodeQ8_0(b: Uint8Array, o: number, y: Float32Array, i: number): void {
  const d = half(b, o);
  for (let j = 0; j < 32; j++) y[i + j] = (((b[o + 2 + j] as number) << 24) >> 24) * d;
}

const BLOCK_DECODERS: Readonly<Partial<Record<GgmlType, BlockDecoder>>> = {
  Q4_0: (b, o, y, i) => decodeNibbles(b, o, y, i, false, false),
  Q4_1: (b, o, y, i) => decodeNibbles(b, o, y, i, true, false),
  Q5_0: (b, o, y, i) => decodeNibbles(b, o, y, i, false, true),
  Q5_1: (b, o, y, i) => decodeNibbles(b, o, y, i, true, true),
  Q8_0: decodeQ8_0,
  Q3_K: decodeQ3K,
  Q4_K: (b, o, y, i) => decodeK45(b, o, y, i, false),
  Q5_K: (b, o, y, i) => decodeK45(b, o, y, i, true),
  Q6_K: decodeQ6K,
};

/**
 * Decodes `n` consecutive values of `type` from `bytes` (exactly ggmlBytes(type, n) bytes; need
 * not be aligned) → f32 [n]. Throws WeightMismatch naming `what` when the byte count is wrong.
 */
export function dequantize(type: GgmlType, bytes: Uint8Array, n: number, what = 'tensor'): Float32Array {
  const want = ggmlBytes(type, n, what);
  if (bytes.length !== want) throw new WeightMismatch(what, `${want} bytes (${n} ${type} values)`, `${bytes.length}`);
  if (type === 'F32' || type === 'F16' || type === 'BF16') {
    const a = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    if (type === 'F32') return new Float32Array(a.buffer, a.byteOffset, n).slice();
    const bits = new Uint16Array(a.buffer, a.byteOffset, n);
    if (type === 'BF16') return bf16ToF32(bits);
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) out[j] = f16BitsToF32(bits[j] as number);
    return out;
  }
  const decode = BLOCK_DECODERS[type] as BlockDecoder;
  const { size, bytes: bb } = GGML_BLOCK[type];
  const out = new Float32Array(n);
  for (let k = 0; k < n / size; k++) decode(bytes, k * bb, out, k * size);
  return out;
}
