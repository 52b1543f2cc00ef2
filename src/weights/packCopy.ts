/**
 * Finishing a pack manifest with the hashes of what was written, and copying an existing pack
 * chunk by chunk with every chunk and file checked against its SHA-256 (planPack's job for a
 * source that already is a pack).
 */
import type { PackManifest } from './packFormat';
import type { PackJob } from './packJob';
import type { FileSource } from './source';
import { InvalidInput, IntegrityFailure } from '../errors';
import { COMPONENTS, type Component } from './sourceTensor';

/** The SHA-256 of `bytes` as lower-case hex (Web Crypto; browser and Node). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** `plan` with the chunk and file hashes filled in and each tensor's relRms where `relRms` knows it. */
export function finishManifest(
  plan: PackManifest,
  chunkSha: readonly string[],
  fileSha: readonly string[],
  relRms: (name: string, component: Component) => number | undefined,
): PackManifest {
  if (chunkSha.length !== plan.chunks.length || fileSha.length !== plan.files.length) {
    throw new InvalidInput(`finish: ${chunkSha.length}/${plan.chunks.length} chunk and ${fileSha.length}/${plan.files.length} file hashes`);
  }
  const hex = /^[0-9a-f]{64}$/;
  for (const h of [...chunkSha, ...fileSha]) if (!hex.test(h)) throw new InvalidInput(`finish: "${h}" is not a SHA-256 hex digest`);
  const components = { text_encoder: {}, transformer: {}, vae: {} } as PackManifest['components'];
  for (const c of COMPONENTS) {
    for (const [name, t] of Object.entries(plan.components[c])) {
      const e = relRms(name, c);
      components[c][name] = e === undefined ? { ...t } : { ...t, relRms: e };
    }
  }
  return {
    ...plan,
    chunks: plan.chunks.map((ch, i) => ({ ...ch, sha256: chunkSha[i] as string })),
    files: plan.files.map((f, i) => ({ ...f, sha256: fileSha[i] as string })),
    components,
  };
}

/** A job that copies an existing pack, checking every chunk and file against its manifest. */
export function copyJob(src: FileSource, manifest: PackManifest): PackJob {
  const verified = async (path: string, bytes: Uint8Array, want: string): Promise<Uint8Array> => {
    const got = await sha256Hex(bytes);
    // an empty or malformed hash matches nothing: every copied byte is checked (readPackManifest refuses such a manifest first)
    if (got !== want) throw new IntegrityFailure(`${src.id}/${path}: SHA-256 ${got} does not match the manifest's ${want || '(empty hash)'} (corrupted or changed on the server)`, path);
    return bytes;
  };
  return {
    plan: manifest,
    file: async (path, signal) => {
      const f = manifest.files.find((x) => x.path === path);
      if (!f) throw new InvalidInput(`${src.id}: ${path} is not a file of this pack`);
      return verified(path, await src.range(path, 0, f.bytes, signal), f.sha256);
    },
    chunk: async (i, signal) => {
      const c = manifest.chunks[i];
      if (!c) throw new InvalidInput(`chunk ${i} does not exist (pack has ${manifest.chunks.length})`);
      return verified(c.path, await src.range(c.path, 0, c.bytes, signal), c.sha256);
    },
    finish: (chunkSha, fileSha) => finishManifest(manifest, chunkSha, fileSha, (name, c) => manifest.components[c][name]?.relRms),
  };
}

