/**
 * Token-embedding lookup on the host (transformers `nn.Embedding(ids)` for Qwen3 `embed_tokens`):
 * only the rows of a prompt's token ids are read from the checkpoint, decoded to f32 and cached,
 * instead of uploading the whole [V, D] table (151936 × 2560 bf16 = 778 MB for klein, one GPU
 * binding). A 512-token prompt right-padded with one pad id has few distinct ids: ≈ 20–80 rows of
 * 5 KiB each (bf16, D = 2560) are read per new prompt.
 *
 * Rows of consecutive ids are one byte range, so a run of adjacent missing ids is one `readRange`
 * per section: plain dtypes (bf16 / f16 / f32) have one section, q8 two (codes, scales) and q4
 * three (codes, scales, mins), in the planar layout of src/util/quant.ts with the group size the
 * checkpoint gives the tensor (TensorInfo.group; 32 or 16 for GGUF repacks). Decoded rows live in an
 * LRU bounded by bytes; a lookup larger than the bound is still served whole.
 */
import { WeightMismatch } from '../errors';
import { BYTES_PER_ELEMENT, type WeightFormat, decodeToF32 } from '../util/dtype';
import { fmtShape } from '../util/assert';
import { QUANT_HAS_MIN, dequantize, isQuantLayoutFormat, quantLayout } from '../util/quant';
import type { Checkpoint } from './safetensors';
import type { TokenEmbedding } from './weightGetter';

/** What `EmbeddingRows` has read so far (tests, bench). */
export interface EmbeddingRowStats {
  /** `readRange` calls. */
  requests: number;
  /** Bytes those calls returned. */
  bytesFetched: number;
  /** Distinct rows read (each row once until evicted). */
  rowsFetched: number;
  /** Distinct ids of a lookup served from the cache. */
  cacheHits: number;
}

/** Default cache bound: 64 MiB of f32 rows = 6553 rows of klein's D = 2560. */
export const DEFAULT_ROW_CACHE_BYTES = 64 * 2 ** 20;
/** Range requests in flight at once (browsers allow about 6 connections per host). */
const CONCURRENT_REQUESTS = 6;

/** One section's byte range [start, end), relative to the tensor's first byte. */
export interface RowSpan {
  start: number;
  end: number;
}

/**
 * Byte ranges holding rows [r0, r1) of a stored [V, D] tensor: one for bf16/f16/f32; q8
 * (codes, scales) and q4 / q8m (codes, scales, mins) in the layout of quant.ts with `group` weights per
 * scale (default QUANT_GROUP), where row r's codes are words [r·Kp·bits/32, …) and its scales /
 * mins the f16s [r·g, (r+1)·g) of their sections.
 */
export function rowSpans(format: WeightFormat, [v, d]: readonly [number, number], r0: number, r1: number, group?: number): RowSpan[] {
  if (!isQuantLayoutFormat(format)) {
    const rowBytes = d * BYTES_PER_ELEMENT[format];
    return [{ start: r0 * rowBytes, end: r1 * rowBytes }];
  }
  const L = quantLayout(format, v, d, group);
  const spans = [
    { start: r0 * L.codeWordsPerRow * 4, end: r1 * L.codeWordsPerRow * 4 },
    { start: L.scaleOffset + 2 * r0 * L.groups, end: L.scaleOffset + 2 * r1 * L.groups },
  ];
  if (QUANT_HAS_MIN[format]) spans.push({ start: L.minOffset + 2 * r0 * L.groups, end: L.minOffset + 2 * r1 * L.groups });
  return spans;
}

/** Stored byte size of a [V, D] tensor in `format` (quantized: `group` weights per scale). */
function storedBytes(format: WeightFormat, [v, d]: readonly [number, number], group?: number): number {
  return isQuantLayoutFormat(format) ? quantLayout(format, v, d, group).byteLength : v * d * BYTES_PER_ELEMENT[format];
}

/** Rows read on demand from one checkpoint tensor, with a byte-bounded LRU of decoded rows. */
export class EmbeddingRows implements TokenEmbedding {
  readonly stats: EmbeddingRowStats = { requests: 0, bytesFetched: 0, rowsFetched: 0, cacheHits: 0 };
  /** id → decoded row [D]; Map order is recency (oldest first). */
  private readonly cache = new Map<number, Float32Array>();
  private cachedBytes = 0;
  /** Quantized formats: weights per scale, from the checkpoint's TensorInfo (undefined: QUANT_GROUP). */
  private readonly group: number | undefined;

  /**
   * @param format how the tensor is stored (checkpoint dtype, or q8/q4/q8m in a pack)
   * @param shape [V, D]; the stored byte size must match it. Errors: WeightMismatch.
   */
  constructor(
    private readonly ckpt: Checkpoint,
    readonly name: string,
    private readonly format: WeightFormat,
    readonly shape: readonly [number, number],
    private readonly cacheBytes = DEFAULT_ROW_CACHE_BYTES,
  ) {
    const t = ckpt.info(name);
    this.group = t.group;
    const want = storedBytes(format, shape, t.group);
    if (t.end - t.start !== want) throw new WeightMismatch(name, `${format}${fmtShape(shape)}${t.group ? ` G=${t.group}` : ''} (${want} bytes)`, `${t.end - t.start} bytes`);
  }

  async rows(ids: Int32Array): Promise<Float32Array> {
    const [v, d] = this.shape;
    const missing = new Set<number>();
    for (const [t, id] of ids.entries()) {
      if (!(id >= 0 && id < v)) throw new Error(`${this.name}: id ${id} at position ${t} outside the table's [0, ${v})`);
      if (!this.cache.has(id)) missing.add(id);
    }
    const fetched = await this.fetch([...missing].sort((a, b) => a - b));
    const out = new Float32Array(ids.length * d);
    const seen = new Map<number, Float32Array>();
    for (const [t, id] of ids.entries()) {
      let row = seen.get(id) ?? fetched.get(id);
      if (!row) {
        row = this.cache.get(id) as Float32Array;
        this.cache.delete(id); // re-inserted below as most recent
        this.cache.set(id, row);
        this.stats.cacheHits++;
      }
      seen.set(id, row);
      out.set(row, t * d);
    }
    for (const [id, row] of fetched) {
      this.cache.set(id, row);
      this.cachedBytes += row.byteLength;
    }
    for (const [id, row] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes) break;
      this.cache.delete(id);
      this.cachedBytes -= row.byteLength;
    }
    return out;
  }

  /** Reads sorted distinct ids, one run of consecutive ids at a time, CONCURRENT_REQUESTS runs in flight. */
  private async fetch(sorted: number[]): Promise<Map<number, Float32Array>> {
    const runs: [number, number][] = [];
    for (const id of sorted) {
      const last = runs[runs.length - 1];
      if (last && last[1] === id) last[1] = id + 1;
      else runs.push([id, id + 1]);
    }
    const out = new Map<number, Float32Array>();
    const d = this.shape[1];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) {
        const [r0, r1] = runs[next++] as [number, number];
        const values = await this.readRun(r0, r1);
        for (let r = r0; r < r1; r++) out.set(r, values.slice((r - r0) * d, (r - r0 + 1) * d));
        this.stats.rowsFetched += r1 - r0;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_REQUESTS, runs.length) }, worker));
    return out;
  }

  /** Rows [r0, r1) → [r1 − r0, D] f32. */
  private async readRun(r0: number, r1: number): Promise<Float32Array> {
    const { format } = this;
    const parts = await Promise.all(rowSpans(format, this.shape, r0, r1, this.group).map((s) => this.ckpt.readRange(this.name, s.start, s.end)));
    this.stats.requests += parts.length;
    for (const p of parts) this.stats.bytesFetched += p.byteLength;
    if (!isQuantLayoutFormat(format)) return decodeToF32(parts[0] as Uint8Array, format);
    // the run's sections as a [r1 − r0, D] tensor of its own, decoded by `dequantize` itself
    const rows = r1 - r0;
    const cols = this.shape[1];
    const L = quantLayout(format, rows, cols, this.group);
    const data = new Uint8Array(L.byteLength);
    data.set(parts[0] as Uint8Array, 0);
    data.set(parts[1] as Uint8Array, L.scaleOffset);
    if (QUANT_HAS_MIN[format]) data.set(parts[2] as Uint8Array, L.minOffset);
    return dequantize({ format, rows, cols, groupSize: L.groupSize, data });
  }
}
