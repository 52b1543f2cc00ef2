/**
 * EmbeddingRows: rows read with range requests from a safetensors file equal the whole table's
 * decode (bf16 / f16 / f32 exactly as `decodeToF32`, q8 / q4 / q8m exactly as `dequantize`), only the
 * needed rows are read, adjacent ids share one request, and the cache is an LRU bounded by bytes.
 */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import { Rng } from '../util/rng';
import { type WeightFormat, decodeToF32, f32ToBf16, f32ToF16 } from '../util/dtype';
import { WeightLoader } from './load';
import { dequantize, isQuantLayoutFormat, quantize } from '../util/quant';
import { openComponent } from './safetensors';
import { type WritableTensor, encodeSafetensors } from './safetensorsWrite';
import type { FileSource } from './source';
import { EmbeddingRows } from './embeddingRows';

const NAME = 'model.embed_tokens.weight';
const FILE = 'text_encoder/model.safetensors';

/** An in-memory FileSource that counts the range requests and bytes made after `reset`. */
function countingSource(file: Uint8Array) {
  const counts = { requests: 0, bytes: 0 };
  const src: FileSource = {
    id: 'memory',
    size: async () => file.length,
    range: async (_p, s, e) => {
      counts.requests++;
      counts.bytes += e - s;
      return file.slice(s, e);
    },
    json: async () => {
      throw new Error('no JSON files');
    },
    exists: async (p) => p === FILE,
  };
  return { src, counts, reset: () => Object.assign(counts, { requests: 0, bytes: 0 }) };
}

/**
 * A [v, d] table of N(0, 1) values stored as `format` in a safetensors file: plain dtypes as
 * themselves, q8/q4/q8m as the raw bytes of the quant.ts layout (an F32 tensor of byteLength/4 words,
 * as a pack stores them, with `group` weights per scale). Returns the file and the whole table
 * decoded the reference way.
 */
function table(format: WeightFormat, v: number, d: number, seed = 1, group?: number): { file: Uint8Array; want: Float32Array } {
  const rng = new Rng(seed);
  const w = Float32Array.from({ length: v * d }, () => rng.normal());
  let t: WritableTensor;
  let want: Float32Array;
  if (isQuantLayoutFormat(format)) {
    const q = quantize(w, v, d, format, group);
    t = { dtype: 'F32', shape: [q.data.byteLength / 4], data: new Float32Array(q.data.buffer) };
    want = dequantize(q);
  } else if (format === 'f32') {
    t = { dtype: 'F32', shape: [v, d], data: w };
    want = w;
  } else {
    const bits = format === 'bf16' ? f32ToBf16(w) : f32ToF16(w);
    t = { dtype: format === 'bf16' ? 'BF16' : 'F16', shape: [v, d], data: bits };
    want = decodeToF32(new Uint8Array(bits.buffer), format);
  }
  // another tensor first, so the table does not start at the data section's first byte
  return { file: encodeSafetensors({ 'model.norm.weight': { dtype: 'F32', shape: [3], data: new Float32Array(3) }, [NAME]: t }), want };
}

async function rowsOf(format: WeightFormat, v: number, d: number, cacheBytes?: number, group?: number) {
  const { file, want } = table(format, v, d, 1, group);
  const c = countingSource(file);
  const ckpt = await openComponent(c.src, 'text_encoder');
  if (group !== undefined) ckpt.info(NAME).group = group; // as the pack reader sets it (pack.ts)
  c.reset();
  return { rows: new EmbeddingRows(ckpt, NAME, format, [v, d], cacheBytes), want, counts: c.counts };
}

/** want's rows at ids: [ids.length, d]. */
function gather(want: Float32Array, d: number, ids: readonly number[]): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, t) => out.set(want.subarray(id * d, (id + 1) * d), t * d));
  return out;
}

/** [format, D, group size G (q8/q4: 64 when absent, q8m 32; 32 as GGUF repacks store it)]. */
const CASES: [WeightFormat, number, number?][] = [
  ['bf16', 48],
  ['f16', 48],
  ['f32', 48],
  ['q8', 40], // K < G: one padded group per row, rows' f16 scales not 4-byte aligned
  ['q8', 200], // 4 groups, the last padded
  ['q4', 40],
  ['q4', 200],
  ['q8', 200, 32], // 7 groups, the last padded: an odd number of f16 scales per row
  ['q4', 40, 32],
  ['q4', 200, 32],
  ['q8m', 40], // G = 32 (QUANT_GROUP.q8m): 2 groups, the last padded, mins read as q4's
  ['q8m', 200, 16], // 13 groups: an odd number of f16 scales and mins per row
];

describe('EmbeddingRows', () => {
  it.each(CASES)('%s rows (D = %i, G = %s) equal the whole table decoded', async (format, d, group) => {
    const v = 301;
    const { rows, want } = await rowsOf(format, v, d, undefined, group);
    const ids = [0, 5, 6, 7, 5, 300, 150, 151, 299, 300, 0, 42];
    expect(await rows.rows(Int32Array.from(ids))).toEqual(gather(want, d, ids));
    const again = [7, 8, 9, 150, 1]; // hits and misses mixed
    expect(await rows.rows(Int32Array.from(again))).toEqual(gather(want, d, again));
  });

  it('reads only the prompt rows: one request per run of adjacent ids, each row once', async () => {
    const d = 64;
    const pad = 1000;
    const { rows, want, counts } = await rowsOf('bf16', 1024, d);
    const prompt = new Int32Array(512).fill(pad);
    prompt.set([5, 6, 7, 100, 7, 42, 43, 6]);
    expect(await rows.rows(prompt)).toEqual(gather(want, d, [...prompt]));
    // distinct ids 5 6 7 | 42 43 | 100 | 1000 → 4 runs, 7 rows of 64 bf16
    expect(counts).toEqual({ requests: 4, bytes: 7 * d * 2 });
    expect(rows.stats).toEqual({ requests: 4, bytesFetched: 7 * d * 2, rowsFetched: 7, cacheHits: 0 });
    await rows.rows(Int32Array.from([7, 8, pad, 9]));
    expect(counts).toEqual({ requests: 5, bytes: 9 * d * 2 }); // rows 8, 9: one more request
    expect(rows.stats.cacheHits).toBe(2);
  });

  it('q4: a run is three requests (codes, scales, mins) of exactly its rows', async () => {
    const d = 128; // 2 groups: 64 B of codes, 4 B of scales, 4 B of mins per row
    const { rows, want, counts } = await rowsOf('q4', 512, d);
    const ids = [3, 4, 300, 4];
    expect(await rows.rows(Int32Array.from(ids))).toEqual(gather(want, d, ids));
    expect(counts).toEqual({ requests: 2 * 3, bytes: 3 * (64 + 4 + 4) });
  });

  it('evicts the least recently used rows beyond its byte bound', async () => {
    const d = 32;
    const { rows, want } = await rowsOf('f32', 64, d, 3 * d * 4); // three rows
    await rows.rows(Int32Array.from([1, 2, 3]));
    await rows.rows(Int32Array.from([1])); // 1 is now the most recent
    await rows.rows(Int32Array.from([4])); // evicts 2
    expect(rows.stats.rowsFetched).toBe(4);
    expect(await rows.rows(Int32Array.from([1, 3, 4]))).toEqual(gather(want, d, [1, 3, 4]));
    expect(rows.stats.rowsFetched).toBe(4);
    await rows.rows(Int32Array.from([2]));
    expect(rows.stats.rowsFetched).toBe(5);
    // a lookup wider than the bound is still served whole
    const wide = [10, 20, 30, 40, 50];
    expect(await rows.rows(Int32Array.from(wide))).toEqual(gather(want, d, wide));
  });

  it('names an id outside the table, and a stored size that does not fit the shape', async () => {
    const { rows } = await rowsOf('bf16', 16, 8);
    await expect(rows.rows(Int32Array.from([3, 16]))).rejects.toThrow(`${NAME}: id 16 at position 1 outside the table's [0, 16)`);
    await expect(rows.rows(Int32Array.from([-1]))).rejects.toThrow(/id -1/);
    const { file } = table('bf16', 16, 8);
    const ckpt = await openComponent(countingSource(file).src, 'text_encoder');
    expect(() => new EmbeddingRows(ckpt, NAME, 'f32', [16, 8])).toThrow(`weight ${NAME}: expected f32[16, 8] (512 bytes), got 256 bytes`);
  });

  it('WeightLoader.tokenEmbedding checks the shape and keeps one EmbeddingRows per name', async () => {
    const { file } = table('bf16', 16, 8);
    const loader = new WeightLoader(new CpuOps(), await openComponent(countingSource(file).src, 'text_encoder'));
    const e = loader.tokenEmbedding(NAME, [16, 8]);
    expect(loader.tokenEmbedding(NAME, [16, 8])).toBe(e);
    expect(() => loader.tokenEmbedding(NAME, [16, 4])).toThrow(`weight ${NAME}: expected [16, 4], got [16, 8]`);
    await e.rows(Int32Array.from([1]));
    expect(loader.loadedBytes).toBe(0); // row reads are not weight loads
  });
});
