/**
 * GGUF v3 writer with simple quantizers, for tests and e2e fixtures (real GGUF files without
 * llama.cpp). Layout (ggml-org/ggml `docs/gguf.md`): "GGUF", u32 version 3, u64 tensor count,
 * u64 metadata count, metadata key/values, tensor infos (name, n_dims, dims innermost first, type,
 * offset relative to the data section), zero padding to `general.alignment`, then each tensor's
 * data at an aligned offset. Strings are u64 length + UTF-8 bytes; everything little-endian.
 *
 * The quantizers are deliberately plain (no error-weighted search as llama.cpp's): Q4_0/Q4_1/
 * Q5_0/Q5_1/Q8_0 follow ggml's `quantize_row_*_ref` rounding; the K-quants take each sub-block's
 * min/max (Q4_K/Q5_K, asymmetric, min clamped to ≤ 0) or signed absmax (Q6_K: the largest-|x| value
 * maps to −32; Q3_K: to −4), then round the sub-block scales to 6 (Q6_K: 8) bits against one f16
 * super-scale (Q3_K as ggml's quantize_row_q3_K_ref: the largest-|scale| sub-block gets −32, so d
 * has the sign of −that scale and can be negative).
 * Block layouts: ggufQuants.ts.
 */
import { InvalidInput } from '../errors';
import { fmtShape, numel } from '../util/assert';
import { f16BitsToF32, f32ToBf16, f32ToF16, f32ToF16Bits } from '../util/dtype';
import { GGML_BLOCK, type GgmlType, ggmlBytes } from './ggufQuants';

/** GGML type ids (ggml.h `enum ggml_type`), the inverse of GGML_TYPE_NAMES. */
const TYPE_ID: Readonly<Record<GgmlType, number>> = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30,
};

/**
 * A metadata value: string → STRING; boolean → BOOL; integer number in [0, 2³²) → UINT32, other
 * number → FLOAT32; bigint → UINT64; string[] → ARRAY of STRING; number[] → ARRAY of INT32.
 */
export type GgufMetaValue = string | boolean | number | bigint | string[] | number[];

export interface GgufTensorIn {
  name: string;
  type: GgmlType;
  /** Logical (PyTorch) shape, outermost first; written innermost first as GGUF `ne`. */
  shape: number[];
  /** Values to quantize (numel(shape) of them), or already-encoded bytes written as they are. */
  data: Float32Array | Uint8Array;
}

const round = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // C roundf
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
/** Stores v as an f16 at out[at] and returns the stored (rounded) value. */
function putHalf(out: Uint8Array, at: number, v: number): number {
  const h = f32ToF16Bits(v);
  out[at] = h & 0xff;
  out[at + 1] = h >> 8;
  return f16BitsToF32(h);
}

/** Q4_0/Q4_1/Q5_0/Q5_1 block of 32 (ggml reference rounding; d and m stored as f16). */
function quantNibbles(x: Float32Array, i: number, out: Uint8Array, o: number, hasMin: boolean, fifth: boolean): void {
  const levels = fifth ? 31 : 15;
  let d: number;
  let m = 0;
  if (hasMin) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < 32; j++) {
      lo = Math.min(lo, x[i + j] as number);
      hi = Math.max(hi, x[i + j] as number);
    }
    d = putHalf(out, o, (hi - lo) / levels);
    m = putHalf(out, o + 2, lo);
  } else {
    let max = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(x[i + j] as number) > Math.abs(max)) max = x[i + j] as number;
    d = putHalf(out, o, max / (fifth ? -16 : -8));
  }
  const offset = hasMin ? 0.5 : fifth ? 16.5 : 8.5;
  const code = (v: number): number => (d === 0 ? (hasMin ? 0 : offset - 0.5) : clamp(Math.trunc((v - m) / d + offset), 0, levels));
  let qh = 0;
  const qs = o + (hasMin ? 4 : 2) + (fifth ? 4 : 0);
  for (let j = 0; j < 16; j++) {
    const a = code(x[i + j] as number);
    const b = code(x[i + j + 16] as number);
    out[qs + j] = (a & 0xf) | ((b & 0xf) << 4);
    qh |= ((a >> 4) << j) | ((b >> 4) << (j + 16));
  }
  if (fifth) new DataView(out.buffer, out.byteOffset).setUint32(o + (hasMin ? 4 : 2), qh >>> 0, true);
}

function quantQ8_0(x: Float32Array, i: number, out: Uint8Array, o: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i + j] as number));
  const d = putHalf(out, o, amax / 127);
  for (let j = 0; j < 32; j++) out[o + 2 + j] = d === 0 ? 0 : clamp(round((x[i + j] as number) / d), -127, 127) & 0xff;
}

/** Q4_K (fifth false) / Q5_K (fifth true) super-block of 256: 8 sub-blocks of 32, min/max each. */
function quantK45(x: Float32Array, i: number, out: Uint8Array, o: number, fifth: boolean): void {
  const levels = fifth ? 31 : 15;
  const scales: number[] = [];
  const mins: number[] = [];
  for (let j = 0; j < 8; j++) {
    let lo = 0; // ggml keeps the min ≤ 0 so that it is stored as a non-negative −min
    let hi = -Infinity;
    for (let l = 0; l < 32; l++) {
      lo = Math.min(lo, x[i + 32 * j + l] as number);
      hi = Math.max(hi, x[i + 32 * j + l] as number);
    }
    scales.push(Math.max(0, hi - lo) / levels);
    mins.push(-lo);
  }
  const d = putHalf(out, o, Math.max(...scales) / 63);
  const dmin = putHalf(out, o + 2, Math.max(...mins) / 63);
  const ls = scales.map((s) => (d === 0 ? 0 : clamp(round(s / d), 0, 63)));
  const lm = mins.map((m) => (dmin === 0 ? 0 : clamp(round(m / dmin), 0, 63)));
  const sc = o + 4;
  for (let j = 0; j < 8; j++) {
    const s = ls[j] as number;
    const m = lm[j] as number;
    if (j < 4) {
      out[sc + j] = s;
      out[sc + j + 4] = m;
    } else {
      out[sc + j + 4] = (s & 0xf) | ((m & 0xf) << 4);
      out[sc + j - 4] = (out[sc + j - 4] as number) | ((s >> 4) << 6);
      out[sc + j] = (out[sc + j] as number) | ((m >> 4) << 6);
    }
  }
  const qh = o + 16;
  const qs = fifth ? o + 48 : o + 16;
  for (let g = 0; g < 4; g++) {
    for (let half = 0; half < 2; half++) {
      const j = 2 * g + half;
      const step = d * (ls[j] as number);
      const min = dmin * (lm[j] as number);
      for (let l = 0; l < 32; l++) {
        const q = step === 0 ? 0 : clamp(round(((x[i + 32 * j + l] as number) + min) / step), 0, levels);
        out[qs + 32 * g + l] = (out[qs + 32 * g + l] as number) | ((q & 0xf) << (4 * half));
        if (fifth) out[qh + l] = (out[qh + l] as number) | ((q >> 4) << j);
      }
    }
  }
}

/** Q6_K super-block of 256: 16 sub-blocks of 16, signed-absmax scale each, 8-bit scales. */
function quantQ6K(x: Float32Array, i: number, out: Uint8Array, o: number): void {
  const scales: number[] = [];
  for (let s = 0; s < 16; s++) {
    let v = 0;
    for (let l = 0; l < 16; l++) if (Math.abs(x[i + 16 * s + l] as number) > Math.abs(v)) v = x[i + 16 * s + l] as number;
    scales.push(v / -32);
  }
  const d = putHalf(out, o + 208, Math.max(...scales.map(Math.abs)) / 127);
  const sc = scales.map((s) => (d === 0 ? 0 : clamp(round(s / d), -127, 127)));
  for (let s = 0; s < 16; s++) out[o + 192 + s] = (sc[s] as number) & 0xff;
  for (let e = 0; e < 256; e++) {
    const step = d * (sc[e >> 4] as number);
    const q = (step === 0 ? 0 : clamp(round((x[i + e] as number) / step), -32, 31)) + 32;
    const n = e >> 7;
    const k = (e >> 5) & 3;
    const l = e & 31;
    const at = o + 64 * n + 32 * (k & 1) + l;
    out[at] = (out[at] as number) | ((q & 0xf) << (k < 2 ? 0 : 4));
    out[o + 128 + 32 * n + l] = (out[o + 128 + 32 * n + l] as number) | ((q >> 4) << (2 * k));
  }
}

/**
 * Q3_K super-block of 256: 16 sub-blocks of 16, signed-absmax scale each (largest-|x| value → −4),
 * the sub-block scales as 6-bit sc − 32 ∈ −32…31 of d = (largest-|scale| sub-block's scale) / −32;
 * codes q = clamp(round(x / (d·sc)), −4, 3) + 4, split into qs (low 2 bits) and hmask (bit 2).
 */
function quantQ3K(x: Float32Array, i: number, out: Uint8Array, o: number): void {
  const scales: number[] = [];
  for (let s = 0; s < 16; s++) {
    let v = 0;
    for (let l = 0; l < 16; l++) if (Math.abs(x[i + 16 * s + l] as number) > Math.abs(v)) v = x[i + 16 * s + l] as number;
    scales.push(v / -4);
  }
  let max = 0;
  for (const s of scales) if (Math.abs(s) > Math.abs(max)) max = s;
  const d = putHalf(out, o + 108, max / -32);
  const sc = scales.map((s) => (max === 0 ? 0 : clamp(round((-32 * s) / max), -32, 31)));
  for (let s = 0; s < 16; s++) {
    const l = (sc[s] as number) + 32;
    out[o + 96 + (s & 7)] = (out[o + 96 + (s & 7)] as number) | ((l & 0xf) << (s < 8 ? 0 : 4));
    out[o + 104 + (s & 3)] = (out[o + 104 + (s & 3)] as number) | ((l >> 4) << (2 * (s >> 2)));
  }
  for (let e = 0; e < 256; e++) {
    const step = d * (sc[e >> 4] as number);
    const q = (step === 0 ? 0 : clamp(round((x[i + e] as number) / step), -4, 3)) + 4;
    const l = e & 31;
    out[o + 32 + 32 * (e >> 7) + l] = (out[o + 32 + 32 * (e >> 7) + l] as number) | ((q & 3) << (2 * ((e >> 5) & 3)));
    out[o + l] = (out[o + l] as number) | ((q >> 2) << (e >> 5));
  }
}

type BlockQuantizer = (x: Float32Array, i: number, out: Uint8Array, o: number) => void;

const QUANTIZERS: Readonly<Partial<Record<GgmlType, BlockQuantizer>>> = {
  Q4_0: (x, i, out, o) => quantNibbles(x, i, out, o, false, false),
  Q4_1: (x, i, out, o) => quantNibbles(x, i, out, o, true, false),
  Q5_0: (x, i, out, o) => quantNibbles(x, i, out, o, false, true),
  Q5_1: (x, i, out, o) => quantNibbles(x, i, out, o, true, true),
  Q8_0: quantQ8_0,
  Q3_K: quantQ3K,
  Q4_K: (x, i, out, o) => quantK45(x, i, out, o, false),
  Q5_K: (x, i, out, o) => quantK45(x, i, out, o, true),
  Q6_K: quantQ6K,
};

/** f32 values → the bytes of `type` (x.length a multiple of its block size). */
export function quantizeGgml(type: GgmlType, x: Float32Array): Uint8Array {
  const nbytes = ggmlBytes(type, x.length, `quantize ${type}`);
  if (type === 'F32') return new Uint8Array(x.slice().buffer);
  if (type === 'F16') return new Uint8Array(f32ToF16(x).buffer);
  if (type === 'BF16') return new Uint8Array(f32ToBf16(x).buffer);
  const out = new Uint8Array(nbytes);
  const q = QUANTIZERS[type] as BlockQuantizer;
  const { size, bytes } = GGML_BLOCK[type];
  for (let k = 0; k < x.length / size; k++) q(x, k * size, out, k * bytes);
  return out;
}

/** Appends little-endian fields to a growing byte list. */
class ByteWriter {
  private chunks: Uint8Array[] = [];
  length = 0;
  bytes(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  private num(n: number, set: (v: DataView) => void): void {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    this.bytes(b);
  }
  u32(v: number): void { this.num(4, (d) => d.setUint32(0, v, true)); }
  i32(v: number): void { this.num(4, (d) => d.setInt32(0, v, true)); }
  u64(v: number | bigint): void { this.num(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  f32(v: number): void { this.num(4, (d) => d.setFloat32(0, v, true)); }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(align: number): void { this.bytes(new Uint8Array((align - (this.length % align)) % align)); }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** GGUF metadata value types (gguf.md `gguf_metadata_value_type`). */
const VT = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10 } as const;

function writeValue(w: ByteWriter, key: string, v: GgufMetaValue): void {
  if (typeof v === 'string') {
    w.u32(VT.STRING);
    w.str(v);
  } else if (typeof v === 'boolean') {
    w.u32(VT.BOOL);
    w.bytes(new Uint8Array([v ? 1 : 0]));
  } else if (typeof v === 'bigint') {
    w.u32(VT.UINT64);
    w.u64(v);
  } else if (typeof v === 'number') {
    const u32 = Number.isInteger(v) && v >= 0 && v < 2 ** 32;
    w.u32(u32 ? VT.UINT32 : VT.FLOAT32);
    if (u32) w.u32(v);
    else w.f32(v);
  } else if (v.every((e) => typeof e === 'string')) {
    w.u32(VT.ARRAY);
    w.u32(VT.STRING);
    w.u64(v.length);
    for (const s of v) w.str(s as string);
  } else if (v.every((e) => typeof e === 'number' && Number.isInteger(e))) {
    w.u32(VT.ARRAY);
    w.u32(VT.INT32);
    w.u64(v.length);
    for (const n of v) w.i32(n as number);
  } else {
    throw new InvalidInput(`gguf: metadata ${key} is an array of neither strings nor integers`);
  }
}

/**
 * Encodes a GGUF v3 file. `metadata` must hold `general.architecture`; `general.alignment`
 * (default 32) is written when given and used for the data section. Throws InvalidInput on a
 * data length that does not match the shape or type.
 */
export function encodeGguf(metadata: Record<string, GgufMetaValue>, tensors: GgufTensorIn[]): Uint8Array {
  if (typeof metadata['general.architecture'] !== 'string') throw new InvalidInput('gguf: general.architecture is required');
  const align = (metadata['general.alignment'] as number | undefined) ?? 32;
  const datas = tensors.map((t) => {
    const n = numel(t.shape);
    if (t.data instanceof Float32Array) {
      if (t.data.length !== n) throw new InvalidInput(`gguf: tensor ${t.name} ${fmtShape(t.shape)} given ${t.data.length} values`);
      return quantizeGgml(t.type, t.data);
    }
    const want = ggmlBytes(t.type, n, t.name);
    if (t.data.length !== want) throw new InvalidInput(`gguf: tensor ${t.name} ${t.type} ${fmtShape(t.shape)} needs ${want} bytes, given ${t.data.length}`);
    return t.data;
  });
  const w = new ByteWriter();
  w.bytes(new TextEncoder().encode('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(Object.keys(metadata).length);
  for (const [k, v] of Object.entries(metadata)) {
    w.str(k);
    writeValue(w, k, v);
  }
  let offset = 0;
  tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(Math.max(1, t.shape.length));
    const ne = t.shape.length === 0 ? [1] : [...t.shape].reverse();
    ne.forEach((d) => w.u64(d));
    w.u32(TYPE_ID[t.type]);
    w.u64(offset);
    offset += Math.ceil((datas[i] as Uint8Array).length / align) * align;
  });
  w.pad(align);
  for (const d of datas) {
    w.bytes(d);
    w.pad(align);
  }
  return w.concat();
}
