/**
 * The safety checker's classifier files, stored beside the models in `kleinbild-models` (db.ts,
 * version 3, store `classifierFiles`): transformers.js' custom cache (`env.customCache`, set by
 * src/safety/browser/safetyWorker.ts), so a classifier downloaded once loads offline and goes with
 * the models when the site's data is cleared. transformers.js keys a file by its URL (e.g.
 * `https://huggingface.co/<repo>/resolve/main/onnx/model.onnx`) and asks `match` before it fetches
 * and again before `put`. One record per file, each written in its own transaction: a full disk
 * leaves the files stored before and nothing of the one being written.
 */
import { type ClassifierFileRecord, openModelsDb, writeOrFull } from './db';

export type { ClassifierFileRecord };

/** What the store lists of one classifier file (no bytes). */
export interface ClassifierFileInfo {
  /** The file's URL (transformers.js' cache key). */
  url: string;
  /** In bytes. */
  size: number;
  /** ms since the epoch. */
  storedAt: number;
}

/** The part of the Web Cache API that transformers.js calls on `env.customCache`. */
export interface ClassifierCache {
  /**
   * The stored file of `url` as a 200 Response (headers content-type when known, content-length in
   * bytes), or undefined when none is stored. Errors: IndexedDB's when the store cannot be read.
   */
  match(url: string): Promise<Response | undefined>;
  /**
   * Reads `response`'s body whole and stores it under `url` with its content type, replacing what
   * was stored there (one record per URL). Progress is not reported. Errors: StorageFull naming the
   * URL when the quota is exceeded (nothing of the file is kept; transformers.js logs it as a
   * warning and the classifier still loads, unstored); the body's error when it cannot be read.
   */
  put(url: string, response: Response): Promise<void>;
}

/** The custom cache for transformers.js: `env.useCustomCache = true; env.customCache = classifierCache()`. */
export function classifierCache(): ClassifierCache {
  return {
    async match(url) {
      const r = await (await openModelsDb()).get('classifierFiles', url);
      if (!r) return undefined;
      const headers = new Headers({ 'content-length': String(r.size) });
      if (r.contentType) headers.set('content-type', r.contentType);
      return new Response(r.bytes, { status: 200, headers });
    },
    async put(url, response) {
      const bytes = await response.arrayBuffer();
      const record: ClassifierFileRecord = {
        url,
        bytes,
        size: bytes.byteLength,
        contentType: response.headers.get('content-type') ?? '',
        storedAt: Date.now(),
      };
      const db = await openModelsDb();
      await writeOrFull('the safety classifier', url, async () => {
        const tx = db.transaction('classifierFiles', 'readwrite');
        await Promise.all([tx.store.put(record, url), tx.done]);
      });
    },
  };
}

/** Every stored classifier file, by URL (index `meta`: no bytes read). */
export async function listClassifierFiles(): Promise<ClassifierFileInfo[]> {
  const db = await openModelsDb();
  const files: ClassifierFileInfo[] = [];
  const tx = db.transaction('classifierFiles');
  for (let cur = await tx.store.index('meta').openKeyCursor(); cur; cur = await cur.continue()) {
    const [url, size, storedAt] = cur.key;
    files.push({ url, size, storedAt });
  }
  await tx.done;
  return files;
}

/** Bytes held by the stored classifier files (for the storage figures). */
export async function classifierUsage(): Promise<number> {
  return (await listClassifierFiles()).reduce((n, f) => n + f.size, 0);
}

/**
 * Deletes the stored classifier files whose URL starts with `prefix` (all of them without one, e.g.
 * one classifier's files with its base URL `https://huggingface.co/<repo>/`), in one transaction;
 * their space is freed and the next load downloads them again. Returns how many were deleted.
 */
export async function deleteClassifierFiles(prefix = ''): Promise<number> {
  const db = await openModelsDb();
  const tx = db.transaction('classifierFiles', 'readwrite');
  const urls = (await tx.store.getAllKeys()).filter((url) => url.startsWith(prefix));
  await Promise.all([...urls.map((url) => tx.store.delete(url)), tx.done]);
  return urls.length;
}
