/**
 * Validation of a `kleinbild-pack.json` read from anywhere (a folder, a URL, a picked folder, the
 * store): whoever made the pack wrote every field, hashes included, so nothing in it is trusted
 * before this check. What it enforces (packFormat.ts describes the format):
 * - format and version; `name` and `source` strings; `quant` q4 | q8 | none;
 * - every number a non-negative safe integer; `chunkBytes` a positive multiple of TENSOR_ALIGN;
 * - chunk i is exactly `chunks/NNNNN.bin` (chunkPath) with the bytes the layout implies, as many as
 *   `totalBytes` needs; files only PACK_SMALL_FILES, each once, within its JSON size bound
 *   (source.ts jsonLimit); every SHA-256 exactly 64 lower-case hex digits;
 * - `components` holds exactly text_encoder, transformer and vae, each name → tensor with a known
 *   dtype, a shape of positive integers, a group only for q4/q8/q8m (a positive multiple of 8),
 *   `bytes` equal to storedBytes of its dtype, shape and group, a TENSOR_ALIGN-aligned offset, and
 *   [offset, offset + bytes) inside the weight byte space and overlapping no other tensor's range.
 * Every error is InvalidInput naming the file and the field (`components.vae["x"].offset: …`).
 */
import { InvalidInput } from '../errors';
import { isQuantLayoutFormat } from '../util/quant';
import { PACK_FORMAT, PACK_MANIFEST, PACK_SMALL_FILES, PACK_VERSION, type PackManifest, type PackTensor, TENSOR_ALIGN, chunkPath, storedBytes } from './packFormat';
import { jsonLimit, modelPathError } from './source';
import { COMPONENTS } from './sourceTensor';

/** The dtypes a pack may store, in the order messages list them. */
export const PACK_DTYPES: readonly PackTensor['dtype'][] = ['q4', 'q8', 'q8m', 'bf16', 'f16', 'f32'];
const PACK_QUANTS = ['q4', 'q8', 'none'] as const;
const SHA256 = /^[0-9a-f]{64}$/;
/** Bounds of the free-text fields (shown in the UI) and of a tensor's rank. */
const MAX_TEXT = 4096;
const MAX_RANK = 8;

/** A value for a message: JSON, cut to 80 characters; `missing` for undefined. */
function show(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/**
 * `raw` (parsed JSON) as a PackManifest, or InvalidInput `${where}: ${field}: ${problem}`; `where`
 * names the file (default kleinbild-pack.json; readers prefix the source id).
 */
export function validatePackManifest(raw: unknown, where: string = PACK_MANIFEST): PackManifest {
  const fail = (field: string, problem: string): never => {
    throw new InvalidInput(`${where}: ${field}: ${problem}`);
  };
  const object = (v: unknown, field: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(field, `${show(v)}, expected an object`);
    return v as Record<string, unknown>;
  };
  const uint = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(field, `${show(v)}, expected a non-negative integer below 2^53`);
    return v;
  };
  const text = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v.length > MAX_TEXT) return fail(field, `${show(v)}, expected a string of at most ${MAX_TEXT} characters`);
    return v;
  };
  const sha = (v: unknown, field: string): void => {
    if (typeof v !== 'string' || !SHA256.test(v)) fail(field, `${show(v)}, expected a SHA-256: 64 lower-case hex digits`);
  };

  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidInput(`${where}: not a Kleinbild pack (not a JSON object)`);
  const m = raw as Record<string, unknown>;
  if (m.format !== PACK_FORMAT) throw new InvalidInput(`${where}: not a Kleinbild pack (format ${show(m.format)})`);
  if (m.version !== PACK_VERSION) throw new InvalidInput(`${where}: pack version ${show(m.version)}; this app reads version ${PACK_VERSION}`);
  text(m.name, 'name');
  text(m.source, 'source');
  if (!(PACK_QUANTS as readonly unknown[]).includes(m.quant)) fail('quant', `${show(m.quant)}, expected one of ${PACK_QUANTS.join(', ')}`);
  const chunkBytes = uint(m.chunkBytes, 'chunkBytes');
  if (chunkBytes === 0 || chunkBytes % TENSOR_ALIGN !== 0) fail('chunkBytes', `${chunkBytes}, expected a positive multiple of ${TENSOR_ALIGN}`);
  const totalBytes = uint(m.totalBytes, 'totalBytes');

  // chunks: exactly the layout's, by name
  if (!Array.isArray(m.chunks)) fail('chunks', `${show(m.chunks)}, expected an array`);
  const chunks = m.chunks as unknown[];
  const nChunks = Math.max(1, Math.ceil(totalBytes / chunkBytes));
  if (chunks.length !== nChunks) fail('chunks', `${chunks.length} chunks; totalBytes ${totalBytes} in chunks of ${chunkBytes} bytes makes ${nChunks}`);
  chunks.forEach((raw, i) => {
    const c = object(raw, `chunks[${i}]`);
    if (c.path !== chunkPath(i)) fail(`chunks[${i}].path`, `${show(c.path)}, expected "${chunkPath(i)}"`);
    const want = Math.min(chunkBytes, totalBytes - i * chunkBytes);
    if (uint(c.bytes, `chunks[${i}].bytes`) !== want) fail(`chunks[${i}].bytes`, `${show(c.bytes)}, the layout implies ${want}`);
    sha(c.sha256, `chunks[${i}].sha256`);
  });

  // files: the known small files only, each once, within its size bound
  if (!Array.isArray(m.files)) fail('files', `${show(m.files)}, expected an array`);
  const seen = new Set<string>();
  (m.files as unknown[]).forEach((raw, i) => {
    const f = object(raw, `files[${i}]`);
    const path = f.path;
    if (typeof path !== 'string' || !(PACK_SMALL_FILES as readonly string[]).includes(path)) {
      const why = typeof path === 'string' ? modelPathError(path) : null;
      fail(`files[${i}].path`, `${show(path)}${why ? ` ${why}` : ''}; a pack holds only ${PACK_SMALL_FILES.join(', ')} besides its chunks`);
    }
    if (seen.has(path as string)) fail(`files[${i}].path`, `${show(path)} is listed twice`);
    seen.add(path as string);
    const limit = jsonLimit(path as string);
    if (uint(f.bytes, `files[${i}].bytes`) > limit) fail(`files[${i}].bytes`, `${f.bytes}; ${path as string} may hold at most ${limit} bytes`);
    sha(f.sha256, `files[${i}].sha256`);
  });

  // components: the three known ones, each name → a tensor whose bytes match its layout
  const components = object(m.components, 'components');
  for (const key of Object.keys(components)) {
    if (!(COMPONENTS as readonly string[]).includes(key)) fail(`components[${show(key)}]`, `not a component; a pack holds ${COMPONENTS.join(', ')}`);
  }
  const ranges: Array<{ field: string; start: number; end: number }> = [];
  for (const c of COMPONENTS) {
    const tensors = object(components[c], `components.${c}`);
    for (const [name, rawTensor] of Object.entries(tensors)) {
      const field = `components.${c}[${show(name)}]`;
      ranges.push(checkTensor(rawTensor, field, totalBytes, { object, uint, fail }));
    }
  }
  ranges.sort((a, b) => a.start - b.start);
  for (let k = 1; k < ranges.length; k++) {
    const a = ranges[k - 1] as (typeof ranges)[number];
    const b = ranges[k] as (typeof ranges)[number];
    if (b.start < a.end) fail(`${b.field}.offset`, `bytes [${b.start}, ${b.end}) overlap ${a.field} [${a.start}, ${a.end})`);
  }
  return raw as PackManifest;
}

interface Checks {
  object(v: unknown, field: string): Record<string, unknown>;
  uint(v: unknown, field: string): number;
  fail(field: string, problem: string): never;
}

/** One tensor entry: its byte range in the weight space, or the first problem (via `fail`). */
function checkTensor(raw: unknown, field: string, totalBytes: number, { object, uint, fail }: Checks): { field: string; start: number; end: number } {
  const t = object(raw, field);
  const dtype = t.dtype;
  if (!(PACK_DTYPES as readonly unknown[]).includes(dtype)) fail(`${field}.dtype`, `${show(dtype)}; this app reads ${PACK_DTYPES.join(', ')}`);
  const d = dtype as PackTensor['dtype'];
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1)) {
    fail(`${field}.shape`, `${show(shape)}, expected at most ${MAX_RANK} positive integers`);
  }
  const dims = shape as number[];
  if (!Number.isSafeInteger(dims.reduce((a, b) => a * b, 1))) fail(`${field}.shape`, `${show(shape)} has more than 2^53 elements`);
  if (t.group !== undefined && !(isQuantLayoutFormat(d) && Number.isSafeInteger(t.group) && (t.group as number) >= 8 && (t.group as number) % 8 === 0)) {
    fail(`${field}.group`, `${d} with group ${show(t.group)}; a group size belongs to q4/q8/q8m and is a positive multiple of 8`);
  }
  const offset = uint(t.offset, `${field}.offset`);
  if (offset % TENSOR_ALIGN !== 0) fail(`${field}.offset`, `${offset} is not a multiple of ${TENSOR_ALIGN}`);
  const bytes = uint(t.bytes, `${field}.bytes`);
  const want = storedBytes(d, dims, t.group as number | undefined);
  if (bytes !== want) fail(`${field}.bytes`, `${bytes}; ${d}${t.group === undefined ? '' : ` G${t.group as number}`} [${dims.join(', ')}] is stored in ${want}`);
  if (offset + bytes > totalBytes) fail(`${field}.offset`, `bytes [${offset}, ${offset + bytes}) lie outside the ${totalBytes} weight bytes`);
  if (typeof t.from !== 'string' || t.from.length > 64) fail(`${field}.from`, `${show(t.from)}, expected the source dtype's name`);
  if (t.relRms !== undefined && !(typeof t.relRms === 'number' && Number.isFinite(t.relRms) && t.relRms >= 0)) fail(`${field}.relRms`, `${show(t.relRms)}, expected a number ≥ 0`);
  return { field, start: offset, end: offset + bytes };
}
