/**
 * Storage dtypes and host-side conversions. bf16 → f32 is exact (`bits << 16`); f32 → bf16 rounds
 * to nearest even (matches torch's `.to(torch.bfloat16)`).
 */
export type DType = 'f32' | 'f16' | 'bf16';

/**
 * Group-quantized weight formats that `quantize` makes from float weights and a recipe, pack or
 * `--quant` may ask for (layouts in src/util/quant.ts).
 */
export type QuantFormat = 'q8' | 'q4';

/**
 * Every group-quantized storage layout (src/util/quant.ts): the QuantFormats and q8m (8-bit codes
 * with a per-group min), which only GGUF Q5_1 / Q5_K repacks produce (src/weights/ggufRepack.ts).
 */
export type QuantLayoutFormat = QuantFormat | 'q8m';

/** How a weight is stored: a plain dtype or a quantized layout. */
export type WeightFormat = DType | QuantLayoutFormat;

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { f32: 4, f16: 2, bf16: 2 };

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** bf16 bit patterns → f32 values (exact). */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = (bits[i] as number) << 16;
  return new Float32Array(out.buffer);
}

/** f32 values → bf16 bit patterns, round to nearest even (NaN stays NaN). */
export function f32ToBf16(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = u[i] as number;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) {
      out[i] = (b >>> 16) | 0x40;
      continue;
    }
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** 2^(e − 15) for the f16 exponent field e = 0 … 31 (`**` is a pow call; this is a load). */
const F16_EXP_SCALE = Float64Array.from({ length: 32 }, (_, e) => 2 ** (e - 15));

/** IEEE half bit pattern → f32 value. */
export function f16BitsToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * (F16_EXP_SCALE[e] as number);
}

/** f16 bit patterns → f32 values (exact). */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i] as number);
  return out;
}

/** f32 value → IEEE half bits, round to nearest even, overflow → ±Inf. */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is correct rounding
  return sign | h;
}

/** f32 values → f16 bit patterns. */
export function f32ToF16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32ToF16Bits(x[i] as number);
  return out;
}

/** Raw little-endian bytes of one dtype → f32 values. `bytes` need not be aligned. */
export function decodeToF32(bytes: Uint8Array, dtype: DType): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / BYTES_PER_ELEMENT[dtype];
  if (dtype === 'f32') return new Float32Array(aligned.buffer, aligned.byteOffset, n).slice();
  const bits = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  return dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits);
}
