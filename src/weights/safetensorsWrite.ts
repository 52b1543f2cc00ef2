/**
 * safetensors writer for `--dump` outputs and test fixtures. Layout as the reference writer
 * (huggingface/safetensors `serialize`): u64 LE header length, JSON header padded with spaces to a
 * multiple of 8 bytes, then the tensors' little-endian bytes back to back in the given order.
 */
import { InvalidInput } from '../errors';
import { fmtShape, numel } from '../util/assert';

export type WritableDType = 'F32' | 'BF16' | 'F16' | 'I64' | 'F8_E4M3' | 'F8_E5M2' | 'U8';

export interface WritableTensor {
  dtype: WritableDType;
  shape: number[];
  /** F32 → Float32Array, BF16/F16 → Uint16Array bit patterns, I64 → BigInt64Array, F8_E4M3/F8_E5M2/U8 → Uint8Array bytes. */
  data: Float32Array | Uint16Array | BigInt64Array | Uint8Array;
}

const ARRAY_OF: Readonly<Record<WritableDType, Function>> = {
  F32: Float32Array,
  BF16: Uint16Array,
  F16: Uint16Array,
  I64: BigInt64Array,
  F8_E4M3: Uint8Array,
  F8_E5M2: Uint8Array,
  U8: Uint8Array,
};

/** Encodes `tensors` (in key order) as one safetensors file; throws InvalidInput on a dtype/length mismatch. */
export function encodeSafetensors(tensors: Record<string, WritableTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new InvalidInput('safetensors: "__metadata__" is not a tensor name');
    if (!(t.data instanceof ARRAY_OF[t.dtype])) {
      throw new InvalidInput(`safetensors: tensor ${name} is ${t.dtype} but its data is a ${t.data.constructor.name}`);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new InvalidInput(`safetensors: tensor ${name} has shape ${fmtShape(t.shape)} but ${t.data.length} elements`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let pos = 8 + n;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
