/**
 * planPack: a model (diffusers layout, per-component overrides, or an existing pack) → a PackJob
 * that produces the pack's chunks one at a time (packJob.ts, packFormat.ts).
 *
 * Conversion is row-local: every target format keeps rows independent (q4/q8 quantize groups along
 * a row; plain dtypes are row-major), so the bytes of chunk i need only the source rows whose output
 * lands in [i·C, (i+1)·C). A quantized tensor's output is planar (codes of all rows, then scales,
 * then mins; src/util/quant.ts), so a chunk may need up to three row intervals of one tensor;
 * each interval's source bytes are one range, and all ranges of a chunk are coalesced per file
 * (gaps ≤ COALESCE_GAP_BYTES) into few requests.
 *
 * GGUF blocks whose codes a q4 / q8 / q8m group holds are not decoded and re-quantized but repacked
 * code for code (ggufRepack.ts, PackTensor.group): Q8_0 / Q5_0 (q8), Q4_0 / Q4_1 (q4), Q5_1 (q8m)
 * and Q4_K (q4), Q5_K (q8m) at G = 32, Q3_K (q4) and Q6_K (q8) at G = 16; their relRms, measured as
 * for every quantized tensor, is 0 for the first five and ≤ 6e-4 for the K-quants (sub-block scales
 * × super-block scale rounded to f16). A repack is used when its format is the tensor's target, q8m
 * standing for q8 (Q6_K and Q5_0, q8 repacks, and Q5_1 / Q5_K, q8m, are re-quantized to q4 where a
 * q4 pack stores q4: a q4 pack keeps 4-bit memory).
 * Every other source is decoded to f32 and quantized at G = 64. Which format each tensor
 * gets: `targetDtype` (quantRule.ts).
 */
import { InvalidInput, WeightMismatch } from '../errors';
import { type DType, type QuantLayoutFormat, decodeToF32, f32ToBf16, f32ToF16 } from '../util/dtype';
import { dequantize, isQuantLayoutFormat, quantLayout, quantize } from '../util/quant';
import { type Checkpoint, openComponent } from './safetensors';
import { type FileSource, checkJsonSize } from './source';
import { COMPONENTS, type Component, type NeededTensors, type SourceTensor, rowsCols } from './sourceTensor';
import { DEFAULT_CHUNK_BYTES, PACK_FORMAT, PACK_MANIFEST, PACK_SMALL_FILES, PACK_VERSION, type PackManifest, type PackQuant, type PackTensor, TENSOR_ALIGN, chunkPath, isVaeEncoderTensor, storedBytes } from './packFormat';
import type { PackJob, PackRecipe } from './packJob';
import { readPackManifest } from './pack';
import { copyJob, finishManifest } from './packCopy';
import { quantFormatFor } from './quantRule';

/**
 * Two source ranges of one file closer than this are fetched as one request: a few wasted bytes
 * are cheaper than a request (the hub limits requests per IP; each costs a round trip).
 */
export const COALESCE_GAP_BYTES = 1 << 20;

/** Source values converted as one block (bounds the f32 scratch to 16 MB per block). */
const ROWS_BLOCK_VALUES = 4 << 20;

/**
 * Converted blocks kept for later chunks (bytes of stored format): with 32 MiB chunks a tensor's
 * scales section usually lands one chunk after its codes; 256 MiB keeps every block until then
 * even with a few chunks in flight, so no source byte is fetched twice in one session.
 */
const BLOCK_CACHE_BYTES = 256 << 20;

/**
 * Storage format of one tensor in a pack of `quant`: the quantized format quantRule.ts
 * `quantFormatFor` gives it (2-D weights of the text encoder, embedding included — its rows are
 * gathered on the host, any format works — and of the transformer; in a q4 pack the transformer's
 * embedders, modulations and final layer are q8); everything else (norms, biases, BatchNorm
 * statistics, the VAE) keeps its dtype, or f32 when the source is not a plain dtype (fp8, GGUF
 * blocks). Source blocks that repack without re-quantizing (SourceTensor.lossless: GGUF Q8_0, Q4_0,
 * Q4_1, Q5_0, Q5_1, Q3_K, Q4_K, Q5_K, Q6_K) keep their codes in whatever layout holds them (q4, q8,
 * q8m), in a q4 pack and a q8 pack alike: the pack then computes with the file's own mix, as llama.cpp
 * does (a Q4_K_M file's Q6_K tensors stay 6-bit: q8 at G = 16, where re-quantizing them to q4 would
 * add ≈ 0.09 relative error; a Q4_K tensor in a q8 pack stays q4, smaller and no less accurate).
 */
export function targetDtype(component: Component, t: Pick<SourceTensor, 'name' | 'shape' | 'plainDtype' | 'lossless'>, quant: PackQuant): PackTensor['dtype'] {
  const q = quant === 'none' ? null : quantFormatFor(component, t.name, t.shape, quant);
  if (q && t.lossless) return t.lossless.format;
  if (q) return q;
  if (t.plainDtype) return t.plainDtype;
  return quant === 'none' && t.shape.length >= 2 ? 'bf16' : 'f32';
}

/** quant.ts group size of `t` stored as `dtype`: the source's own when it repacks losslessly into it, else undefined (QUANT_GROUP). */
export function targetGroup(t: SourceTensor, dtype: PackTensor['dtype']): number | undefined {
  return t.lossless && t.lossless.format === dtype ? t.lossless.group : undefined;
}

const align = (n: number): number => Math.ceil(n / TENSOR_ALIGN) * TENSOR_ALIGN;

/** A safetensors tensor as a SourceTensor (plain float dtypes only). */
export function safetensorsSource(info: { name: string; dtype: string; shape: number[]; file: string; start: number; end: number }): SourceTensor {
  const plain: Record<string, DType> = { BF16: 'bf16', F16: 'f16', F32: 'f32' };
  const dt = plain[info.dtype];
  if (!dt) throw new WeightMismatch(info.name, 'dtype BF16, F16 or F32', `${info.dtype} (${info.file})`);
  const { rows, cols } = rowsCols(info.shape);
  const rowBytes = cols * (dt === 'f32' ? 4 : 2);
  if (rows * rowBytes !== info.end - info.start) throw new WeightMismatch(info.name, `${rows * rowBytes} bytes`, `${info.end - info.start}`);
  return {
    name: info.name,
    shape: info.shape,
    sourceDtype: info.dtype,
    plainDtype: dt,
    rowBytes: (r0, r1) => ({ file: info.file, start: info.start + r0 * rowBytes, end: info.start + r1 * rowBytes }),
    decode: (bytes, r0, r1) => {
      if (bytes.length !== (r1 - r0) * rowBytes) throw new WeightMismatch(info.name, `${(r1 - r0) * rowBytes} bytes for rows [${r0}, ${r1})`, `${bytes.length}`);
      return decodeToF32(bytes, dt);
    },
  };
}

/** The tensors of a checkpoint that `needed` names, as SourceTensors, in the checkpoint's order. */
function checkpointSources(ckpt: Checkpoint, needed: ReadonlySet<string>): SourceTensor[] {
  return [...ckpt.tensors.values()].filter((t) => needed.has(t.name)).map(safetensorsSource);
}

/** One tensor placed in the pack, with the source it comes from. */
interface Placed {
  component: Component;
  src: SourceTensor;
  /** The FileSource the source tensor's rowBytes refer to. */
  from: FileSource;
  meta: PackTensor;
  rows: number;
  cols: number;
  /** Per-row output sections: [section start within the tensor, bytes per row]. */
  sections: Array<{ at: number; rowBytes: number }>;
  /** Whether the source blocks are copied into meta.dtype without loss (src.lossless.repack). */
  repack: boolean;
  /** Rows converted together (a block is the unit of fetching, converting and caching). */
  blockRows: number;
}

function sectionsOf(dtype: PackTensor['dtype'], rows: number, cols: number, group?: number): Placed['sections'] {
  if (isQuantLayoutFormat(dtype)) {
    const L = quantLayout(dtype, rows, cols, group);
    const s = [{ at: 0, rowBytes: L.codeWordsPerRow * 4 }, { at: L.scaleOffset, rowBytes: L.groups * 2 }];
    if (L.minOffset >= 0) s.push({ at: L.minOffset, rowBytes: L.groups * 2 });
    return s;
  }
  return [{ at: 0, rowBytes: cols * (dtype === 'f32' ? 4 : 2) }];
}

/**
 * Rows [r0, r1) of `p` in its stored format: the bytes of each section for those rows, in section
 * order. `values` are the rows decoded, `bytes` their source bytes (repacked when `p.repack`).
 */
function encodeRows(p: Placed, values: Float32Array, bytes: Uint8Array, r0: number, r1: number): Uint8Array[] {
  const n = r1 - r0;
  const d = p.meta.dtype;
  if (isQuantLayoutFormat(d)) {
    const q = p.repack && p.src.lossless ? p.src.lossless.repack(bytes, r0, r1) : quantize(values, n, p.cols, d, p.meta.group).data;
    const L = quantLayout(d, n, p.cols, p.meta.group);
    const out = [q.subarray(0, n * L.codeWordsPerRow * 4), q.subarray(L.scaleOffset, L.scaleOffset + n * L.groups * 2)];
    if (L.minOffset >= 0) out.push(q.subarray(L.minOffset, L.minOffset + n * L.groups * 2));
    return out;
  }
  if (d === 'f32') return [new Uint8Array(values.buffer, values.byteOffset, values.byteLength)];
  const bits = d === 'bf16' ? f32ToBf16(values) : f32ToF16(values);
  return [new Uint8Array(bits.buffer)];
}

/** Fetches many ranges of one source with coalescing; returns one view per request in input order. */
export async function readCoalesced(
  src: FileSource,
  ranges: ReadonlyArray<{ file: string; start: number; end: number }>,
  gap = COALESCE_GAP_BYTES,
  signal?: AbortSignal,
): Promise<Uint8Array[]> {
  const order = ranges.map((r, i) => ({ ...r, i })).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.start - b.start));
  const out: Uint8Array[] = new Array<Uint8Array>(ranges.length);
  let k = 0;
  const fetches: Promise<void>[] = [];
  while (k < order.length) {
    const first = order[k] as (typeof order)[number];
    const group = [first];
    let end = first.end;
    k++;
    while (k < order.length) {
      const r = order[k] as (typeof order)[number];
      if (r.file !== first.file || r.start > end + gap) break;
      group.push(r);
      end = Math.max(end, r.end);
      k++;
    }
    fetches.push(
      src.range(first.file, first.start, end, signal).then((bytes) => {
        for (const r of group) out[r.i] = bytes.subarray(r.start - first.start, r.end - first.start);
      }),
    );
  }
  await Promise.all(fetches);
  return out;
}

async function readSmallFile(src: FileSource, path: string, signal?: AbortSignal): Promise<Uint8Array> {
  return src.range(path, 0, await src.size(path, signal), signal);
}

/** Per-tensor quantization error accumulated over the rows converted by this job. */
interface ErrAcc {
  err: number;
  ref: number;
  rows: number;
}

export { sha256Hex } from './packCopy';
export { PACK_SMALL_FILES, chunkPath, storedBytes } from './packFormat';

/**
 * Plans a pack. `open` turns a source string (recipe.base or an override's source) into a
 * FileSource. `needed` lists the tensors the engine reads from a base model (model/tensorList.ts
 * `neededTensors`); it is asked only when converting, not when copying a pack. Reads only configs,
 * tokenizer sizes and checkpoint headers. Errors: InvalidInput / WeightMismatch for missing files or
 * tensors, network errors from the source.
 */
export async function planPack(
  recipe: PackRecipe,
  open: (source: string) => FileSource,
  needed: (base: FileSource) => Promise<NeededTensors>,
  opts: { chunkBytes?: number; signal?: AbortSignal } = {},
): Promise<PackJob> {
  const base = open(recipe.base);
  if (await base.exists(PACK_MANIFEST)) return copyJob(base, await readPackManifest(base));
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < TENSOR_ALIGN || chunkBytes % TENSOR_ALIGN !== 0) {
    throw new InvalidInput(`chunk size ${chunkBytes}: use a multiple of ${TENSOR_ALIGN} bytes`);
  }

  const wanted = await needed(base);
  const placed: Placed[] = [];
  let offset = 0;
  const components = { text_encoder: {}, transformer: {}, vae: {} } as PackManifest['components'];
  for (const component of COMPONENTS) {
    const override = recipe.overrides?.[component];
    const from = override ? open(override.source) : base;
    const tensors = override ? await overrideSources(from, override, component, wanted[component]) : checkpointSources(await openComponent(base, component), wanted[component]);
    // VAE decoder first, encoder (only for editing) last: a reader needing the decoder touches fewer chunks
    const ordered = component === 'vae' ? [...tensors].sort((a, b) => Number(isVaeEncoderTensor(a.name)) - Number(isVaeEncoderTensor(b.name))) : tensors;
    for (const src of ordered) {
      if (!wanted[component].has(src.name)) continue;
      const dtype = targetDtype(component, src, recipe.quant);
      const group = targetGroup(src, dtype);
      const { rows, cols } = rowsCols(src.shape);
      const bytes = storedBytes(dtype, src.shape, group);
      const meta: PackTensor = { dtype, shape: [...src.shape], offset, bytes, from: src.sourceDtype, ...(group !== undefined && { group }) };
      components[component][src.name] = meta;
      const sections = sectionsOf(dtype, rows, cols, group);
      placed.push({ component, src, from, meta, rows, cols, sections, repack: group !== undefined, blockRows: Math.max(1, Math.floor(ROWS_BLOCK_VALUES / cols)) });
      offset = align(offset + bytes);
    }
  }
  const totalBytes = offset;
  const nChunks = Math.max(1, Math.ceil(totalBytes / chunkBytes));
  const chunks = Array.from({ length: nChunks }, (_, i) => ({
    path: chunkPath(i),
    bytes: Math.min(chunkBytes, totalBytes - i * chunkBytes),
    sha256: '',
  }));
  const files = await Promise.all(PACK_SMALL_FILES.map(async (path) => {
    const bytes = await base.size(path);
    checkJsonSize(path, bytes, base.id); // read whole by job.file: bounded before anything is allocated
    return { path, bytes, sha256: '' };
  }));
  const plan: PackManifest = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    name: recipe.name,
    source: describeRecipe(recipe),
    quant: recipe.quant,
    chunkBytes,
    totalBytes,
    files,
    chunks,
    components,
  };
  const errors = new Map<string, ErrAcc>();
  const cache = new BlockCache(errors);

  return {
    plan,
    file: (path, signal) => readSmallFile(base, path, signal),
    chunk: async (i, signal) => {
      const c = chunks[i];
      if (!c) throw new InvalidInput(`chunk ${i} does not exist (pack has ${nChunks})`);
      const lo = i * chunkBytes;
      const hi = lo + c.bytes;
      const out = new Uint8Array(c.bytes);
      // The row blocks whose section bytes overlap [lo, hi): a quantized tensor's codes, scales
      // and mins of the same rows often fall in different chunks, so blocks are cached.
      const needed: Array<{ p: Placed; block: number }> = [];
      for (const p of placed) {
        const t0 = p.meta.offset;
        if (t0 >= hi || t0 + p.meta.bytes <= lo) continue;
        for (const s of p.sections) {
          const a = Math.max(lo, t0 + s.at);
          const e = Math.min(hi, t0 + s.at + p.rows * s.rowBytes);
          if (a >= e) continue;
          const r0 = Math.floor((a - t0 - s.at) / s.rowBytes);
          const r1 = Math.ceil((e - t0 - s.at) / s.rowBytes);
          for (let bk = Math.floor(r0 / p.blockRows); bk * p.blockRows < r1; bk++) {
            if (!needed.some((n) => n.p === p && n.block === bk)) needed.push({ p, block: bk });
          }
        }
      }
      const blocks = await cache.get(needed, signal);
      needed.forEach(({ p, block }, j) => {
        const r0 = block * p.blockRows;
        const encoded = blocks[j] as Uint8Array[];
        p.sections.forEach((s, si) => {
          const sec = encoded[si] as Uint8Array;
          const at = p.meta.offset + s.at + r0 * s.rowBytes; // absolute position of row r0 in this section
          const a = Math.max(lo, at);
          const e = Math.min(hi, at + sec.length);
          if (a < e) out.set(sec.subarray(a - at, e - at), a - lo);
        });
      });
      return out;
    },
    finish: (chunkSha, fileSha) => finishManifest(plan, chunkSha, fileSha, (name, component) => {
      const acc = errors.get(`${component}/${name}`);
      const meta = components[component][name];
      return acc && meta && acc.rows >= (meta.shape[0] ?? 1) ? (acc.ref > 0 ? Math.sqrt(acc.err / acc.ref) : 0) : undefined;
    }),
  };
}

/**
 * Converted row blocks by (tensor, block), shared by concurrent chunk productions: a block is fetched
 * and converted once (its promise is cached before the fetch starts), evicted least recently used
 * beyond BLOCK_CACHE_BYTES. Missing blocks of one request are fetched together, coalesced.
 */
class BlockCache {
  private readonly entries = new Map<string, { promise: Promise<Uint8Array[]>; bytes: number }>();
  private bytes = 0;

  constructor(private readonly errors: Map<string, ErrAcc>) {}

  async get(wanted: ReadonlyArray<{ p: Placed; block: number }>, signal?: AbortSignal): Promise<Uint8Array[][]> {
    const key = (w: { p: Placed; block: number }) => `${w.p.component}/${w.p.src.name}#${w.block}`;
    const missing: Array<{ p: Placed; block: number; resolve: (v: Uint8Array[]) => void; reject: (e: unknown) => void }> = [];
    const promises = wanted.map((w) => {
      const k = key(w);
      const hit = this.entries.get(k);
      if (hit) {
        this.entries.delete(k); // re-insert: most recently used last
        this.entries.set(k, hit);
        return hit.promise;
      }
      let resolve!: (v: Uint8Array[]) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Uint8Array[]>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const entry = { promise, bytes: 0 };
      this.entries.set(k, entry);
      // a failed block is forgotten so that a retry fetches it again
      promise.then((v) => {
        entry.bytes = v.reduce((s, x) => s + x.byteLength, 0);
        this.bytes += entry.bytes;
        this.evict();
      }, () => {
        if (this.entries.get(k) === entry) this.entries.delete(k);
      });
      missing.push({ ...w, resolve, reject });
      return promise;
    });
    if (missing.length) this.fill(missing, signal).catch(() => {}); // errors reach the callers through the promises
    return Promise.all(promises);
  }

  private async fill(
    list: Array<{ p: Placed; block: number; resolve: (v: Uint8Array[]) => void; reject: (e: unknown) => void }>,
    signal?: AbortSignal,
  ): Promise<void> {
    const bySource = new Map<FileSource, typeof list>();
    for (const b of list) bySource.set(b.p.from, [...(bySource.get(b.p.from) ?? []), b]);
    await Promise.all([...bySource].map(async ([from, items]) => {
      try {
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        const ranges = items.map(({ p, block }) => p.src.rowBytes(block * p.blockRows, Math.min(p.rows, (block + 1) * p.blockRows)));
        const raw = await readCoalesced(from, ranges, COALESCE_GAP_BYTES, signal);
        items.forEach((it, j) => {
          try {
            it.resolve(this.convert(it.p, it.block, raw[j] as Uint8Array));
          } catch (e) {
            it.reject(e);
          }
        });
      } catch (e) {
        for (const it of items) it.reject(e);
      }
    }));
  }

  /** Source bytes of one block → its stored-format section bytes. */
  private convert(p: Placed, block: number, bytes: Uint8Array): Uint8Array[] {
    const r0 = block * p.blockRows;
    const r1 = Math.min(p.rows, r0 + p.blockRows);
    if (p.src.plainDtype === p.meta.dtype) return [bytes];
    const values = p.src.decode(bytes, r0, r1);
    const encoded = encodeRows(p, values, bytes, r0, r1);
    if (isQuantLayoutFormat(p.meta.dtype)) accumulateError(this.errors, p, values, encoded, r0, r1);
    return encoded;
  }

  private evict(): void {
    for (const [k, e] of this.entries) {
      if (this.bytes <= BLOCK_CACHE_BYTES) break;
      if (e.bytes === 0) continue; // still in flight
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }
}

function describeRecipe(r: PackRecipe): string {
  const parts = [`${r.base} (${r.quant})`];
  for (const c of COMPONENTS) {
    const o = r.overrides?.[c];
    if (o) parts.push(`${c}: ${o.source}/${o.path} (${o.format})`);
  }
  return parts.join('; ');
}

/** Adds the quantization error of rows [r0, r1) (dequantized from `encoded`) to the tensor's total. */
function accumulateError(errors: Map<string, ErrAcc>, p: Placed, values: Float32Array, encoded: Uint8Array[], r0: number, r1: number): void {
  // Rebuild the planar buffer of just these rows and dequantize it (the oracle the kernels match).
  const fmt = p.meta.dtype as QuantLayoutFormat;
  const n = r1 - r0;
  const L = quantLayout(fmt, n, p.cols, p.meta.group);
  const data = new Uint8Array(L.byteLength);
  data.set(encoded[0] as Uint8Array, 0);
  data.set(encoded[1] as Uint8Array, L.scaleOffset);
  if (L.minOffset >= 0) data.set(encoded[2] as Uint8Array, L.minOffset);
  const d = dequantize({ format: fmt, rows: n, cols: p.cols, groupSize: L.groupSize, data });
  const key = `${p.component}/${p.src.name}`;
  const acc = errors.get(key) ?? { err: 0, ref: 0, rows: 0 };
  for (let i = 0; i < values.length; i++) {
    const e = (values[i] as number) - (d[i] as number);
    acc.err += e * e;
    acc.ref += (values[i] as number) ** 2;
  }
  acc.rows += n;
  errors.set(key, acc);
}

/** Per-component override checkpoints (GGUF, BFL-named safetensors): loaded on demand. */
async function overrideSources(
  src: FileSource,
  o: NonNullable<PackRecipe['overrides']>[Component] & object,
  component: Component,
  needed: ReadonlySet<string>,
): Promise<SourceTensor[]> {
  if (component === 'vae') throw new InvalidInput('the VAE comes from the base model; overrides are for the text encoder and the transformer');
  if (o.format === 'gguf') {
    const gguf = await import('./gguf');
    return component === 'transformer' ? gguf.openGgufTransformer(src, o.path) : gguf.openGgufTextEncoder(src, o.path, needed);
  }
  if (component !== 'transformer') throw new InvalidInput(`a single-file safetensors override is supported for the transformer, not ${component}`);
  const { openFp8Tensors } = await import('./fp8');
  return openFp8Tensors(src, o.path);
}
