/**
 * A FileSource over a complete stored pack: `kleinbild-pack.json` (the stored manifest), the small
 * files and `chunks/NNNNN.bin` by the same paths as on disk, so src/weights/pack.ts reads it like any
 * other pack. Each chunk and file is checked against the manifest's SHA-256 when first read; a
 * mismatch (or a missing record) deletes that record and the manifest in one transaction, which turns
 * the model into a partial one: the next download (Resume) fetches exactly what was lost. A chunk the
 * download deferred (the VAE encoder's, ManifestRecord.deferred) is fetched from the network when
 * first read (deferred.ts), stored, then read like the others.
 */
import { sha256Hex } from '../weights/convert';
import { PACK_MANIFEST } from '../weights/packFormat';
import { type FileSource, checkJsonSize, checkModelPath } from '../weights/source';
import { InvalidInput, IntegrityFailure } from '../errors';
import { type ModelsDb, openModelsDb } from './db';
import { type DeferredOptions, fetchDeferred } from './deferred';
import { announce } from './models';

/**
 * Chunks kept after their first read. The loader reads tensor by tensor in pack order, many per
 * chunk, and an ArrayBuffer value cannot be read in part (db.ts): without a cache every tensor would
 * read its whole chunk again (86 ms per 32 MiB chunk in Chromium).
 */
const CACHED = 3;

/** The SHA-256 shown for a deferred chunk not yet hashed (download.ts DEFERRED_STAND_IN). */
const UNHASHED = '0'.repeat(64);

/** The model source string of a stored model. */
export const STORE_PREFIX = 'store:';

/**
 * Opens stored model `id`. Throws InvalidInput when it is not stored or only partly (saying to
 * resume). range() and json() throw IntegrityFailure naming the chunk or file that is corrupted or
 * missing, after deleting it and the manifest; reading a deferred chunk first fetches the deferred
 * chunks (`opts` for their sources), with fetchDeferred's errors (offline: InvalidInput saying so).
 */
export async function storeSource(id: string, opts: DeferredOptions = {}): Promise<FileSource> {
  const db = await openModelsDb();
  const rec = await db.get('manifests', id);
  if (!rec) {
    const partial = await db.get('models', id);
    throw new InvalidInput(
      partial
        ? `Model ${id} is only partly downloaded: press Resume in the Storage panel, then Load.`
        : `No model "${id}" in this browser's storage (it may have been deleted in another tab).`,
    );
  }
  const m = rec.manifest;
  // What readers get as kleinbild-pack.json: a deferred chunk of a converted model has no hash until
  // deferred.ts stores it ('' in the record), which readPackManifest refuses; it shows the stand-in
  // download.ts hands finish(). This source checks each chunk against `entries`, not against that.
  const unhashed = new Set(rec.deferred ?? []);
  const view = { ...m, chunks: m.chunks.map((c) => (c.sha256 === '' && unhashed.has(c.path) ? { ...c, sha256: UNHASHED } : c)) };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(view));
  const entries = new Map<string, { store: 'chunks' | 'files'; bytes: number; sha256: string }>();
  for (const c of m.chunks) entries.set(c.path, { store: 'chunks', bytes: c.bytes, sha256: c.sha256 });
  for (const f of m.files) entries.set(f.path, { store: 'files', bytes: f.bytes, sha256: f.sha256 });
  const srcId = `${STORE_PREFIX}${id}`;
  const notFound = (path: string) => new InvalidInput(`file not found in model ${srcId}: ${path}`);
  let deferred = new Set(rec.deferred ?? []);

  const cache = new Map<string, Promise<Uint8Array>>();
  const load = async (path: string): Promise<Uint8Array> => {
    const e = entries.get(path);
    if (!e) throw notFound(path);
    if (deferred.has(path)) {
      const now = await fetchDeferred(id, opts); // every deferred chunk: the encoder reads them all
      for (const c of now.manifest.chunks) {
        const entry = entries.get(c.path);
        if (entry) entry.sha256 = c.sha256;
      }
      deferred = new Set(now.deferred ?? []);
    }
    const v = await db.get(e.store, [id, path]);
    if (!v) {
      await forget(db, id, e.store, path);
      throw new IntegrityFailure(`Stored model ${id} lacks ${path} (deleted meanwhile?): press Resume in the Storage panel to fetch it again.`, path);
    }
    const bytes = new Uint8Array(v.bytes);
    const got = await sha256Hex(bytes);
    if (got !== e.sha256 || bytes.length !== e.bytes) {
      await forget(db, id, e.store, path);
      throw new IntegrityFailure(
        `Stored ${path} of model ${id} is corrupted (${bytes.length} bytes, SHA-256 ${got}; the manifest says ${e.bytes} bytes, ${e.sha256}). ` +
          'It was deleted: press Resume in the Storage panel to download it again.',
        path,
      );
    }
    return bytes;
  };
  /** Whole verified bytes of a chunk or file, through a small LRU cache. */
  const read = (path: string): Promise<Uint8Array> => {
    let p = cache.get(path);
    if (p) cache.delete(path); // re-inserted below as the most recent
    else {
      p = load(path);
      p.catch(() => cache.delete(path));
    }
    cache.set(path, p);
    for (const key of cache.keys()) {
      if (cache.size <= CACHED) break;
      cache.delete(key);
    }
    return p;
  };

  return {
    id: srcId,
    async size(path) {
      checkModelPath(path, srcId);
      if (path === PACK_MANIFEST) return manifestBytes.length;
      const e = entries.get(path);
      if (!e) throw notFound(path);
      return e.bytes;
    },
    async range(path, start, end) {
      checkModelPath(path, srcId);
      const size = path === PACK_MANIFEST ? manifestBytes.length : (entries.get(path)?.bytes ?? -1);
      if (size < 0) throw notFound(path);
      if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= size)) {
        throw new InvalidInput(`${srcId}/${path}: byte range [${start}, ${end}) outside the file (${size} bytes)`);
      }
      const all = path === PACK_MANIFEST ? manifestBytes : await read(path);
      return all.slice(start, end);
    },
    async json<T>(path: string): Promise<T> {
      checkModelPath(path, srcId);
      if (path === PACK_MANIFEST) return structuredClone(view) as T;
      const e = entries.get(path);
      if (!e) throw notFound(path);
      checkJsonSize(path, e.bytes, srcId);
      const text = new TextDecoder().decode(await read(path));
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new Error(`${srcId}/${path}: invalid JSON (${(e as Error).message})`);
      }
    },
    async exists(path) {
      checkModelPath(path, srcId);
      return path === PACK_MANIFEST || entries.has(path);
    },
  };
}

/** Deletes one stored chunk or file and the manifest (the model becomes partial), then tells the tabs. */
async function forget(db: ModelsDb, id: string, store: 'chunks' | 'files', path: string): Promise<void> {
  const tx = db.transaction([store, 'manifests'], 'readwrite');
  await Promise.all([tx.objectStore(store).delete([id, path]), tx.objectStore('manifests').delete(id), tx.done]);
  announce({ type: 'changed' });
}
