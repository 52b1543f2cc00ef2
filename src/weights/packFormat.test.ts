/**
 * encoderOnlyChunks on real plans of the golden model-a: a pack without those chunks still serves
 * every tensor a text-to-image load reads (text encoder, transformer, VAE decoder), the chunks are as
 * many as possible (one fewer and a decoder read fails), and they hold nearly all encoder bytes.
 */
import { GOLDEN_DIR } from '../testing/golden';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../testing/memorySource';
import { buildPack } from '../testing/pack';
import { planPack } from './convert';
import { neededTensors } from '../model/tensorList';
import { folderSource } from './folderSource';
import { openCheckpoints } from './pack';
import { DEFAULT_CHUNK_BYTES, PACK_MANIFEST, type PackManifest, encoderOnlyChunks, isVaeEncoderTensor } from './packFormat';
import { COMPONENTS } from './sourceTensor';

const MODEL_A = resolve(GOLDEN_DIR, 'model-a');
/** The e2e pack's chunk size (e2e/env.ts PACK_A) and a smaller one where more borders fall inside tensors. */
const CHUNK_SIZES = [65536, 4096] as const;

/** Sum of the stored bytes of the VAE encoder's tensors. */
function encoderBytes(m: PackManifest): number {
  return Object.entries(m.components.vae).reduce((s, [name, t]) => s + (isVaeEncoderTensor(name) ? t.bytes : 0), 0);
}

/** Reads every tensor of the pack `files` except the VAE encoder's; rejects when a chunk is missing. */
async function readAllButEncoder(files: Map<string, Uint8Array | object>): Promise<number> {
  const pack = await openCheckpoints(memorySource(files));
  let n = 0;
  for (const c of COMPONENTS) {
    for (const name of pack[c].tensors.keys()) {
      if (c === 'vae' && isVaeEncoderTensor(name)) continue;
      await pack[c].read(name);
      n++;
    }
  }
  return n;
}

describe('encoderOnlyChunks (golden model-a, q4)', () => {
  for (const chunkBytes of CHUNK_SIZES) {
    it(`${chunkBytes}-byte chunks: the pack's tail; without it every other tensor still reads, and it is maximal`, async () => {
      const src = folderSource(MODEL_A);
      const job = await planPack({ name: 'test q4', quant: 'q4', base: MODEL_A }, () => src, neededTensors, { chunkBytes });
      const m = job.plan;
      const deferred = encoderOnlyChunks(m);
      expect(deferred.length).toBeGreaterThan(0);
      // a contiguous tail of the chunk list
      expect(deferred).toEqual(Array.from({ length: deferred.length }, (_, k) => m.chunks.length - deferred.length + k));
      // nearly all encoder bytes: at most the chunk straddling decoder and encoder holds some that are not deferred
      const deferredBytes = deferred.reduce((s, i) => s + (m.chunks[i]?.bytes ?? 0), 0);
      expect(deferredBytes).toBeGreaterThan(encoderBytes(m) - chunkBytes);
      expect(deferredBytes).toBeLessThanOrEqual(encoderBytes(m) + 256 * Object.keys(m.components.vae).length); // + alignment padding

      const files = await buildPack(job);
      const without = new Map(files);
      for (const i of deferred) without.delete(m.chunks[i]?.path as string);
      expect(await readAllButEncoder(without)).toBeGreaterThan(50);
      // the encoder's last tensor (in the last chunk) is unreadable without them
      const lastEncoder = Object.entries(m.components.vae).filter(([n]) => isVaeEncoderTensor(n)).sort((a, b) => b[1].offset - a[1].offset)[0]?.[0] as string;
      await expect((await openCheckpoints(memorySource(without))).vae.read(lastEncoder)).rejects.toThrow(/file not found/);
      // one more chunk left out and some tensor outside the encoder cannot be read
      const before = deferred[0] as number - 1;
      const fewer = new Map(without);
      fewer.delete(m.chunks[before]?.path as string);
      await expect(readAllButEncoder(fewer)).rejects.toThrow(`file not found in model memory: ${m.chunks[before]?.path}`);

      // copying the pack (a pack as the recipe's base) plans the same chunks
      const packSrc = memorySource(files);
      const copy = await planPack({ name: 'copy', quant: 'q4', base: 'pack' }, () => packSrc, neededTensors);
      expect(encoderOnlyChunks(copy.plan)).toEqual(deferred);
      expect((files.get(PACK_MANIFEST) as PackManifest).chunks.length).toBe(m.chunks.length);
    });
  }

  it('the default 32 MiB chunk holds the whole tiny model: nothing is encoder-only', async () => {
    const src = folderSource(MODEL_A);
    const job = await planPack({ name: 'test q4', quant: 'q4', base: MODEL_A }, () => src, neededTensors);
    expect(job.plan.chunkBytes).toBe(DEFAULT_CHUNK_BYTES);
    expect(job.plan.chunks.length).toBe(1);
    expect(encoderOnlyChunks(job.plan)).toEqual([]);
  });

  it('a pack without encoder tensors has no encoder-only chunk', async () => {
    const src = folderSource(MODEL_A);
    const { plan } = await planPack({ name: 'test q4', quant: 'q4', base: MODEL_A }, () => src, neededTensors, { chunkBytes: 65536 });
    const vae = Object.fromEntries(Object.entries(plan.components.vae).filter(([n]) => !isVaeEncoderTensor(n)));
    expect(encoderOnlyChunks({ ...plan, components: { ...plan.components, vae } })).toEqual([]);
  });
});
