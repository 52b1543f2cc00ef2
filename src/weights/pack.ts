/**
 * Reading a pack (packFormat.ts) through any FileSource — a folder, a static URL, the IndexedDB
 * store — as the same `Checkpoint` interface the safetensors reader offers, so the model loaders
 * do not care where weights come from. `openCheckpoint` picks the pack or the diffusers layout.
 */
import { InvalidInput, WeightMismatch } from '../errors';
import { type Checkpoint, type TensorInfo, openComponent } from './safetensors';
import type { FileSource } from './source';
import { COMPONENTS, type Component } from './sourceTensor';
import { PACK_MANIFEST, type PackManifest, type PackTensor } from './packFormat';
import { validatePackManifest } from './packManifest';

/** Pack dtype → the `TensorInfo.dtype` spelling (safetensors style, plus Q4/Q8/Q8M). */
const INFO_DTYPE: Readonly<Record<PackTensor['dtype'], string>> = { q4: 'Q4', q8: 'Q8', q8m: 'Q8M', bf16: 'BF16', f16: 'F16', f32: 'F32' };

/**
 * Reads and validates `kleinbild-pack.json` (packManifest.ts: every field, path, hash and tensor
 * range). Errors: InvalidInput naming the source, the file, the field and the problem.
 */
export async function readPackManifest(src: FileSource): Promise<PackManifest> {
  return validatePackManifest(await src.json<unknown>(PACK_MANIFEST), `${src.id}/${PACK_MANIFEST}`);
}

/**
 * Bytes [start, end) of the pack's weight byte space, read from the chunk files that hold them
 * (one range request per chunk touched).
 */
export async function readPackBytes(src: FileSource, m: PackManifest, start: number, end: number): Promise<Uint8Array> {
  if (!(0 <= start && start <= end && end <= m.totalBytes)) throw new InvalidInput(`${src.id}: pack bytes [${start}, ${end}) outside [0, ${m.totalBytes})`);
  const out = new Uint8Array(end - start);
  const reads: Promise<void>[] = [];
  for (let i = Math.floor(start / m.chunkBytes); i * m.chunkBytes < end; i++) {
    const c = m.chunks[i];
    if (!c) throw new InvalidInput(`${src.id}: chunk ${i} missing from the manifest`);
    const c0 = i * m.chunkBytes;
    const a = Math.max(start, c0);
    const b = Math.min(end, c0 + c.bytes);
    reads.push(src.range(c.path, a - c0, b - c0).then((bytes) => out.set(bytes, a - start)));
  }
  await Promise.all(reads);
  return out;
}

/** One component of a pack as a Checkpoint. TensorInfo.start/end are positions in the weight byte space. */
export function packCheckpoint(src: FileSource, m: PackManifest, component: Component): Checkpoint {
  const tensors = new Map<string, TensorInfo>();
  let totalBytes = 0;
  for (const [name, t] of Object.entries(m.components[component])) {
    const chunk = m.chunks[Math.floor(t.offset / m.chunkBytes)]?.path ?? PACK_MANIFEST;
    const info: TensorInfo = { name, dtype: INFO_DTYPE[t.dtype], shape: t.shape, file: chunk, start: t.offset, end: t.offset + t.bytes };
    if (t.group !== undefined) info.group = t.group;
    tensors.set(name, info);
    totalBytes += t.bytes;
  }
  const info = (name: string): TensorInfo => {
    const t = tensors.get(name);
    if (!t) throw new WeightMismatch(`${component}/${name}`, 'present in the pack', 'missing');
    return t;
  };
  return {
    tensors,
    info,
    totalBytes,
    read: (name) => {
      const t = info(name);
      return readPackBytes(src, m, t.start, t.end);
    },
    readRange: (name, start, end) => {
      const t = info(name);
      if (!(0 <= start && start <= end && end <= t.end - t.start)) throw new InvalidInput(`${name}: bytes [${start}, ${end}) outside its ${t.end - t.start}`);
      return readPackBytes(src, m, t.start + start, t.start + end);
    },
  };
}

/** The three checkpoints of a model: from its pack manifest when there is one, else the diffusers layout. */
export async function openCheckpoints(src: FileSource): Promise<Record<Component, Checkpoint> & { pack: PackManifest | null }> {
  if (await src.exists(PACK_MANIFEST)) {
    const m = await readPackManifest(src);
    return { pack: m, text_encoder: packCheckpoint(src, m, 'text_encoder'), transformer: packCheckpoint(src, m, 'transformer'), vae: packCheckpoint(src, m, 'vae') };
  }
  const [text_encoder, transformer, vae] = await Promise.all(COMPONENTS.map((c) => openComponent(src, c)));
  return { pack: null, text_encoder: text_encoder as Checkpoint, transformer: transformer as Checkpoint, vae: vae as Checkpoint };
}
