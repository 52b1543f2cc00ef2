/**
 * The browser's model store: IndexedDB database `kleinbild-models` (through `idb`), one pack
 * (src/weights/packFormat.ts) per model id. Writes happen in this order, so a crash or a full disk at
 * any point leaves a state that lists as "partial" and resumes:
 *   models     id → ModelRecord: recipe, plan, ETags; written when a download starts
 *   chunks     [id, `chunks/NNNNN.bin`] → StoredBytes, one transaction per chunk
 *   files      [id, path] → StoredBytes: configs and tokenizer
 *   manifests  id → ManifestRecord; written LAST: a model without one is incomplete. A complete
 *              model may still lack its VAE encoder chunks (`deferred`): they are fetched, each
 *              written with its manifest update in one transaction, when editing is first used
 * Beside the models (version 2), the LoRA files the app applies (./loras.ts):
 *   loras      name → LoraRecord (no bytes: listing reads no file)
 *   loraFiles  name → ArrayBuffer, written and deleted with its record in one transaction
 * and (version 3) the safety checker's classifier files (./classifierFiles.ts, transformers.js'
 * custom cache in the safety worker), so a classifier downloaded once works offline:
 *   classifierFiles  file URL → ClassifierFileRecord (bytes and content type), one per transaction
 * Bytes are stored as ArrayBuffer, not Blob. Measured in headless Chromium (32 MiB values, 8 of
 * them): ArrayBuffer writes 190–290 MB/s and reads 340–385 MB/s; Blob writes 113–137 MB/s and reads
 * 650–1000 MB/s with 1–2 ms 4 KiB slices (ArrayBuffer: the whole 32 MiB, 86 ms). But in an incognito
 * profile (also Playwright's default context) reading the 8th stored Blob failed with
 * NotReadableError, while ArrayBuffers read back; storeSource.ts caches whole chunks instead of slicing.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { StorageFull } from '../errors';
import type { PackManifest } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import { formatBytes } from '../util/bytes';

export const DB_NAME = 'kleinbild-models';
/**
 * 1: the model stores; 2: adds `loras` and `loraFiles` (./loras.ts); 3: adds `classifierFiles`
 * (./classifierFiles.ts). Each upgrade keeps what the earlier versions stored.
 */
export const DB_VERSION = 3;

/** A download in progress or done: what it was asked for and what the source promised. */
export interface ModelRecord {
  id: string;
  recipe: PackRecipe;
  /** The job's plan (sha256 fields '' until produced); sizes are exact. */
  plan: PackManifest;
  /** Source string → file path → ETag seen while downloading (src/weights/source.ts `etags`). */
  etags: Record<string, Record<string, string>>;
  /** ms since the epoch. */
  createdAt: number;
}

/** A chunk or a small file, stored under the key [id, path]. */
export interface StoredBytes {
  id: string;
  path: string;
  bytes: ArrayBuffer;
  /** Lower-case hex SHA-256 of `bytes`, computed before writing. */
  sha256: string;
  /**
   * Chunks only: the source files its bytes came from, as depKey(id, source, file) (index `deps`);
   * [depKey(id, '*', '*')] when unknown. A file that changes on the server invalidates these chunks.
   */
  deps: string[];
}

/** Key of the `deps` index: one source file of one model. */
export function depKey(id: string, source: string, file: string): string {
  return `${id}\n${source}\n${file}`;
}

export interface ManifestRecord {
  id: string;
  /**
   * The pack's manifest. A deferred chunk's sha256 is '' (converted pack) or the source manifest's
   * (copied pack) until it is fetched; then it is the stored bytes' SHA-256.
   */
  manifest: PackManifest;
  completedAt: number;
  /**
   * Chunk paths not stored yet: the VAE encoder's (packFormat.ts encoderOnlyChunks), fetched when a
   * reference image is first encoded (deferred.ts), then removed from here. Absent = none (records
   * written before deferral existed).
   */
  deferred?: string[];
}

/** A stored LoRA file (./loras.ts): what the LoRA panel lists and restores after a reload. */
export interface LoraRecord {
  /** The name requests use (GenerateRequest.loras): the file name, unique in the store. */
  name: string;
  /** Where it came from: "file", a URL without credentials or query, or a hub "owner/name/file". */
  origin: string;
  /** Size of the file in bytes. */
  size: number;
  /** Applied to the next generations (the panel's switch). */
  enabled: boolean;
  /** −2…2 in the panel. */
  strength: number;
  /** What the engine said about it when it was added (LoraInfo.format / rank). */
  format: string;
  rank: number;
  /** ms since the epoch. */
  addedAt: number;
}

/** One file of the safety checker's classifier (./classifierFiles.ts), as transformers.js fetched it. */
export interface ClassifierFileRecord {
  /** The file's URL: transformers.js' cache key (e.g. `https://huggingface.co/<repo>/resolve/main/config.json`). */
  url: string;
  bytes: ArrayBuffer;
  /** `bytes.byteLength`, in bytes (index `meta` lists it without reading the bytes). */
  size: number;
  /** The response's Content-Type; '' when it had none. */
  contentType: string;
  /** ms since the epoch. */
  storedAt: number;
}

export interface ModelsSchema extends DBSchema {
  models: { key: string; value: ModelRecord };
  /** Index `hash` ([id, path, sha256]) lists the hashes of a model's chunks without reading bytes. */
  chunks: { key: [string, string]; value: StoredBytes; indexes: { hash: [string, string, string]; deps: string } };
  files: { key: [string, string]; value: StoredBytes };
  manifests: { key: string; value: ManifestRecord };
  /** LoRA name → its record without the bytes (./loras.ts). */
  loras: { key: string; value: LoraRecord };
  /** LoRA name → the file's bytes, written and deleted with its record. */
  loraFiles: { key: string; value: ArrayBuffer };
  /** File URL → a classifier file; index `meta` ([url, size, storedAt]) lists them without reading bytes. */
  classifierFiles: { key: string; value: ClassifierFileRecord; indexes: { meta: [string, number, number] } };
}

export type ModelsDb = IDBPDatabase<ModelsSchema>;

let opened: Promise<ModelsDb> | null = null;

/** The database, opened once per realm (window or worker); another tab's upgrade closes it. */
export function openModelsDb(): Promise<ModelsDb> {
  opened ??= openDB<ModelsSchema>(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('models');
        const chunks = db.createObjectStore('chunks');
        chunks.createIndex('hash', ['id', 'path', 'sha256']);
        chunks.createIndex('deps', 'deps', { multiEntry: true });
        db.createObjectStore('files');
        db.createObjectStore('manifests');
      }
      if (oldVersion < 2) {
        db.createObjectStore('loras');
        db.createObjectStore('loraFiles');
      }
      if (oldVersion < 3) {
        db.createObjectStore('classifierFiles').createIndex('meta', ['url', 'size', 'storedAt']);
      }
    },
    blocking() {
      void opened?.then((db) => db.close());
      opened = null;
    },
    terminated() {
      opened = null;
    },
  }).catch((e: unknown) => {
    opened = null;
    throw e;
  });
  return opened;
}

/** Every key [id, path] of one model in `chunks` or `files`. */
export function modelKeys(id: string): IDBKeyRange {
  // Arrays compare element-wise and an array sorts after every string: [id, []] is above all [id, path].
  return IDBKeyRange.bound([id], [id, []]);
}

/** Whether `e` is the browser's "storage quota exceeded" (a DOMException, also as a transaction's error). */
export function isQuotaError(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'QuotaExceededError';
}


/**
 * Throws StorageFull when the origin's quota cannot take `needed` more bytes; writes nothing.
 * Only a first guard: Chromium 156's estimate() reports usage + 10 GiB whatever the real quota
 * (a CDP quota override is enforced on writes yet not shown there), so writeOrFull is what catches
 * a full disk in Chromium.
 */
export async function checkSpace(name: string, needed: number): Promise<void> {
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const available = Math.max(0, quota - usage);
  if (needed > available) {
    throw new StorageFull(
      `Not enough storage for ${name}: ${formatBytes(needed)} needed, ${formatBytes(available)} available ` +
        `(this site may use ${formatBytes(quota)} and uses ${formatBytes(usage)}). Free disk space or delete stored models, then try again.`,
    );
  }
}

/** Runs a write; a QuotaExceededError becomes StorageFull naming what was being written. */
export async function writeOrFull(name: string, what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (!isQuotaError(e)) throw e;
    const { usage = 0, quota = 0 } = await navigator.storage.estimate();
    throw new StorageFull(
      `Storage is full: writing ${what} of ${name} failed (QuotaExceededError; this site uses ${formatBytes(usage)} of ${formatBytes(quota)}). ` +
        'What was stored before is kept: free disk space or delete stored models, then press Resume.',
    );
  }
}
