/** Builds packs in memory for tests, the way the CLI and the store do (chunks, files, manifest last). */
import { planPack, sha256Hex } from '../weights/convert';
import { neededTensors } from '../model/tensorList';
import { folderSource } from '../weights/folderSource';
import { PACK_MANIFEST, type PackQuant } from '../weights/packFormat';
import type { PackJob } from '../weights/packJob';
import { type MemorySource, memorySource } from './memorySource';

/** Runs every step of `job` into a path → bytes map; the manifest (an object) is added last. */
export async function buildPack(job: PackJob): Promise<Map<string, Uint8Array | object>> {
  const files = new Map<string, Uint8Array | object>();
  const fileSha: string[] = [];
  for (const f of job.plan.files) {
    const b = await job.file(f.path);
    files.set(f.path, b);
    fileSha.push(await sha256Hex(b));
  }
  const chunkSha: string[] = [];
  for (let i = 0; i < job.plan.chunks.length; i++) {
    const b = await job.chunk(i);
    files.set(job.plan.chunks[i]?.path as string, b);
    chunkSha.push(await sha256Hex(b));
  }
  files.set(PACK_MANIFEST, job.finish(chunkSha, fileSha));
  return files;
}

/** A pack of the model folder `dir` in `quant`, served from memory. */
export async function packOfFolder(dir: string, quant: PackQuant, chunkBytes?: number): Promise<MemorySource> {
  const src = folderSource(dir);
  const job = await planPack({ name: `test ${quant}`, quant, base: dir }, () => src, neededTensors, chunkBytes === undefined ? {} : { chunkBytes });
  return memorySource(await buildPack(job), `pack:${quant}`);
}
