/**
 * safetensors reader (format: https://github.com/huggingface/safetensors#format): an 8-byte
 * little-endian u64 header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [a, b]}}`
 * (offsets relative to the data section at 8 + N; `__metadata__` ignored), then the data.
 * `openComponent` reads only headers up front; each tensor is then one range request.
 */
import { InvalidInput, WeightMismatch } from '../errors';
import type { DType, QuantLayoutFormat, WeightFormat } from '../util/dtype';
import { fmtShape, numel } from '../util/assert';
import type { FileSource } from './source';

/** One tensor's place in a file. `start`/`end` are absolute byte offsets in `file`. */
export interface TensorInfo {
  name: string;
  /** As spelled in the file: 'BF16' | 'F16' | 'F32' | 'I64' | …; a pack's quantized tensors: 'Q4' | 'Q8' (pack.ts). */
  dtype: string;
  shape: number[];
  /** Q4/Q8 tensors of a pack: weights per scale, quant.ts G (absent: QUANT_GROUP). */
  group?: number;
  /** Path within the source (or a label for in-memory buffers). */
  file: string;
  start: number;
  end: number;
}

/** One model component (transformer / text_encoder / vae), possibly sharded. */
export interface Checkpoint {
  tensors: Map<string, TensorInfo>;
  /** The tensor's info; throws WeightMismatch(name, 'present', 'missing'). */
  info(name: string): TensorInfo;
  /** One tensor's raw little-endian bytes (one range request). */
  read(name: string): Promise<Uint8Array>;
  /**
   * Bytes [start, end) of one tensor's stored data, relative to its first byte (one range request;
   * e.g. a few rows of the token embedding table). Throws Error when not 0 ≤ start ≤ end ≤ its bytes.
   */
  readRange(name: string, start: number, end: number): Promise<Uint8Array>;
  /** Sum of all tensors' data bytes (what reading every tensor downloads). */
  totalBytes: number;
}

/** Bytes per element of every safetensors dtype. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

const COMPUTE_DTYPE: Readonly<Record<string, DType>> = { BF16: 'bf16', F16: 'f16', F32: 'f32' };
const QUANT_DTYPE: Readonly<Record<string, QuantLayoutFormat>> = { Q4: 'q4', Q8: 'q8', Q8M: 'q8m' };

/** Maps a float tensor's file dtype to the engine DType; throws WeightMismatch for others. */
export function dtypeOf(info: TensorInfo): DType {
  const d = COMPUTE_DTYPE[info.dtype];
  if (!d) throw new WeightMismatch(info.name, 'dtype BF16, F16 or F32', `${info.dtype} (${info.file})`);
  return d;
}

/** The engine's storage format of a tensor: dtypeOf, or q4/q8/q8m for a pack's quantized tensors. */
export function weightFormatOf(info: TensorInfo): WeightFormat {
  return QUANT_DTYPE[info.dtype] ?? dtypeOf(info);
}

/**
 * Largest header accepted, in bytes: the reference implementation's limit (huggingface/safetensors
 * `MAX_HEADER_SIZE = 100_000_000`, which it refuses with HeaderTooLarge); real headers are ≤ 1 MB.
 * Checked on the first 8 bytes, before the header is requested or any buffer for it allocated.
 */
export const MAX_HEADER_BYTES = 100_000_000;

/** Header byte length N from the first 8 bytes (throws unless N + 8 ≤ fileSize and N ≤ MAX_HEADER_BYTES). */
function headerLength(first8: Uint8Array, file: string, fileSize: number): number {
  if (first8.length < 8 || fileSize < 8) throw new InvalidInput(`${file}: ${fileSize} bytes, too short for a safetensors file`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n + 8n > BigInt(fileSize)) throw new InvalidInput(`${file}: header length ${n} beyond file size ${fileSize}`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new InvalidInput(`${file}: header length ${n} bytes; safetensors headers are at most ${MAX_HEADER_BYTES} (not a safetensors file, or a hostile one)`);
  return Number(n);
}

/** Validates the JSON header and turns relative offsets into absolute TensorInfos. */
function parseHeaderJson(json: Uint8Array, file: string, fileSize: number): Map<string, TensorInfo> {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidInput(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new InvalidInput(`${file}: header is not a JSON object`);
  }
  const dataStart = 8 + json.length;
  const tensors = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bytes = typeof e.dtype === 'string' ? DTYPE_BYTES[e.dtype] : undefined;
    if (bytes === undefined) throw new InvalidInput(`${file}: tensor ${name} has unknown dtype ${String(e.dtype)}`);
    const shape = e.shape;
    const offs = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new InvalidInput(`${file}: tensor ${name} has invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new InvalidInput(`${file}: tensor ${name} has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [a, b] = offs as [number, number];
    const want = numel(shape as number[]) * bytes;
    if (b < a || b - a !== want || dataStart + b > fileSize) {
      throw new InvalidInput(
        `${file}: tensor ${name} ${e.dtype} ${fmtShape(shape as number[])} has data_offsets [${a}, ${b}] ` +
          `(${want} bytes expected, data section ${fileSize - dataStart} bytes)`,
      );
    }
    tensors.set(name, { name, dtype: e.dtype as string, shape: shape as number[], file, start: dataStart + a, end: dataStart + b });
  }
  return tensors;
}

/**
 * Parses the header of a safetensors file held in memory. `bytes` must hold at least the first
 * 8 + N bytes; `fileSize` (default `bytes.length`) bounds the tensor offsets.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file = 'buffer', fileSize = bytes.length): Map<string, TensorInfo> {
  const n = headerLength(bytes, file, fileSize);
  if (bytes.length < 8 + n) throw new InvalidInput(`${file}: need ${8 + n} header bytes, have ${bytes.length}`);
  return parseHeaderJson(bytes.subarray(8, 8 + n), file, fileSize);
}

/** Whole in-memory file → every tensor with a view of its bytes (small files: noise, goldens). */
export function parseSafetensors(bytes: Uint8Array, file = 'buffer'): Map<string, { info: TensorInfo; bytes: Uint8Array }> {
  const out = new Map<string, { info: TensorInfo; bytes: Uint8Array }>();
  for (const [name, info] of parseSafetensorsHeader(bytes, file)) {
    out.set(name, { info, bytes: bytes.subarray(info.start, info.end) });
  }
  return out;
}

/** First read of a file: header length plus, usually, the whole header in one request. */
const HEADER_PROBE_BYTES = 64 * 1024;

/**
 * Reads one file's header with at most two range requests (the second only for a header over 64 KiB,
 * after its length passed MAX_HEADER_BYTES and the file size); TensorInfo.file = `file`.
 */
export async function readSafetensorsHeader(src: FileSource, file: string): Promise<Map<string, TensorInfo>> {
  const fileSize = await src.size(file);
  const probe = await src.range(file, 0, Math.min(fileSize, HEADER_PROBE_BYTES));
  const n = headerLength(probe, `${src.id}/${file}`, fileSize);
  const json = probe.length >= 8 + n ? probe.subarray(8, 8 + n) : await src.range(file, 8, 8 + n);
  const tensors = parseHeaderJson(json, `${src.id}/${file}`, fileSize);
  for (const t of tensors.values()) t.file = file;
  return tensors;
}

/** Candidate files in lookup order: transformers / diffusers index, then single files. */
const CHECKPOINT_FILES = [
  'model.safetensors.index.json',
  'diffusion_pytorch_model.safetensors.index.json',
  'model.safetensors',
  'diffusion_pytorch_model.safetensors',
] as const;

/**
 * Probe order for a folder: the form the hub repo uses first, so a real download makes no failed
 * request (FLUX.2-klein-4B: sharded text_encoder, single-file transformer and vae); then the rest.
 */
function probeOrder(folder: string): string[] {
  const first = folder === 'text_encoder' ? 'model.safetensors.index.json' : 'diffusion_pytorch_model.safetensors';
  return [first, ...CHECKPOINT_FILES.filter((f) => f !== first)];
}

/**
 * Opens `folder` ('transformer' | 'text_encoder' | 'vae') of a model: the first of
 * CHECKPOINT_FILES present wins; an index's `weight_map` names the shards (the real Qwen3 encoder is
 * `model-0000{1,2}-of-00002.safetensors`). Every weight_map entry must be in its shard's header.
 */
export async function openComponent(src: FileSource, folder: string): Promise<Checkpoint> {
  let found: string | undefined;
  for (const f of probeOrder(folder)) {
    if (await src.exists(`${folder}/${f}`)) {
      found = f;
      break;
    }
  }
  if (!found) throw new WeightMismatch(`${src.id}/${folder}`, `one of ${CHECKPOINT_FILES.join(', ')}`, 'none of them');

  const tensors = new Map<string, TensorInfo>();
  if (found.endsWith('.index.json')) {
    const index = await src.json<{ weight_map?: Record<string, string> }>(`${folder}/${found}`);
    const weightMap = index.weight_map;
    if (!weightMap || typeof weightMap !== 'object') throw new InvalidInput(`${src.id}/${folder}/${found}: no weight_map`);
    const shards = [...new Set(Object.values(weightMap))];
    const headers = await Promise.all(shards.map((s) => readSafetensorsHeader(src, `${folder}/${s}`)));
    for (const h of headers) {
      for (const [name, info] of h) {
        const prev = tensors.get(name);
        if (prev) throw new InvalidInput(`${src.id}: tensor ${name} is in both ${prev.file} and ${info.file}`);
        tensors.set(name, info);
      }
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      if (tensors.get(name)?.file !== `${folder}/${shard}`) {
        throw new WeightMismatch(name, `present in ${folder}/${shard} (${found})`, 'missing');
      }
    }
  } else {
    for (const [name, info] of await readSafetensorsHeader(src, `${folder}/${found}`)) tensors.set(name, info);
  }

  let totalBytes = 0;
  for (const t of tensors.values()) totalBytes += t.end - t.start;
  const info = (name: string): TensorInfo => {
    const t = tensors.get(name);
    if (!t) throw new WeightMismatch(name, 'present', 'missing');
    return t;
  };
  return {
    tensors,
    info,
    totalBytes,
    read: async (name) => {
      const t = info(name);
      return src.range(t.file, t.start, t.end);
    },
    readRange: async (name, start, end) => {
      const t = info(name);
      if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= t.end - t.start)) {
        throw new Error(`${src.id}/${t.file}: bytes [${start}, ${end}) outside tensor ${name} (${t.end - t.start} bytes)`);
      }
      return src.range(t.file, t.start + start, t.start + end);
    },
  };
}
