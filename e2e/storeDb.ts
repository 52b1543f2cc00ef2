/**
 * Reads and writes the app's IndexedDB model store (`kleinbild-models`, src/store/db.ts) from a
 * Playwright page, with the plain IndexedDB API: what the store specs check and the damage they do.
 */
import type { Page } from '@playwright/test';

/** Counts the records of the store's object stores (real IndexedDB, read in the page). */
export function countRecords(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const r = indexedDB.open('kleinbild-models');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const out: Record<string, number> = {};
    for (const name of ['models', 'chunks', 'files', 'manifests']) {
      out[name] = await new Promise<number>((ok, fail) => {
        const r = db.transaction(name).objectStore(name).count();
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
    }
    db.close();
    return out;
  });
}

/** Paths of the stored chunks (IndexedDB keys [id, path]). */
export function storedChunkPaths(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const r = indexedDB.open('kleinbild-models');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const keys = await new Promise<IDBValidKey[]>((ok, fail) => {
      const r = db.transaction('chunks').objectStore('chunks').getAllKeys();
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    db.close();
    return keys.map((k) => (k as [string, string])[1]);
  });
}

/** Stored chunks whose bytes do not hash to the manifest's SHA-256 (or have the wrong length). */
export function badStoredChunks(page: Page, want: Record<string, { sha256: string; bytes: number }>): Promise<string[]> {
  return page.evaluate(async (want) => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const r = indexedDB.open('kleinbild-models');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const values = await new Promise<Array<{ path: string; bytes: ArrayBuffer }>>((ok, fail) => {
      const r = db.transaction('chunks').objectStore('chunks').getAll();
      r.onsuccess = () => ok(r.result as Array<{ path: string; bytes: ArrayBuffer }>);
      r.onerror = () => fail(r.error);
    });
    db.close();
    const bad: string[] = [];
    for (const v of values) {
      const hex = [...new Uint8Array(await crypto.subtle.digest('SHA-256', v.bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
      if (hex !== want[v.path]?.sha256 || v.bytes.byteLength !== want[v.path]?.bytes) bad.push(v.path);
    }
    return bad;
  }, want);
}

/** Flips the first byte of one stored chunk, as a failing disk would. */
export function corruptStoredChunk(page: Page, path: string): Promise<void> {
  return page.evaluate(async (path) => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const r = indexedDB.open('kleinbild-models');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const tx = db.transaction('chunks', 'readwrite');
    const store = tx.objectStore('chunks');
    const key = await new Promise<IDBValidKey>((ok, fail) => {
      const r = store.getAllKeys();
      r.onsuccess = () => ok((r.result as Array<[string, string]>).find((k) => k[1] === path) as IDBValidKey);
      r.onerror = () => fail(r.error);
    });
    const v = await new Promise<{ bytes: ArrayBuffer }>((ok, fail) => {
      const r = store.get(key);
      r.onsuccess = () => ok(r.result as { bytes: ArrayBuffer });
      r.onerror = () => fail(r.error);
    });
    const bytes = new Uint8Array(v.bytes);
    bytes[0] = (bytes[0] as number) ^ 0xff;
    store.put({ ...v, bytes: bytes.buffer }, key);
    await new Promise((ok, fail) => {
      tx.oncomplete = ok;
      tx.onerror = () => fail(tx.error);
    });
    db.close();
  }, path);
}

/** What the store's manifest records say about deferred chunks (db.ts ManifestRecord), per model. */
export interface StoredManifest {
  id: string;
  /** Chunk paths left for the first edit; [] when none (or the field is absent). */
  deferred: string[];
  /** path → the manifest's SHA-256 of each chunk. */
  sha256: Record<string, string>;
}

/** Every manifest record of the store (the models that are complete). */
export function storedManifests(page: Page): Promise<StoredManifest[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const r = indexedDB.open('kleinbild-models');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    type Rec = { id: string; deferred?: string[]; manifest: { chunks: Array<{ path: string; sha256: string }> } };
    const values = await new Promise<Rec[]>((ok, fail) => {
      const r = db.transaction('manifests').objectStore('manifests').getAll();
      r.onsuccess = () => ok(r.result as Rec[]);
      r.onerror = () => fail(r.error);
    });
    db.close();
    return values.map((v) => ({ id: v.id, deferred: v.deferred ?? [], sha256: Object.fromEntries(v.manifest.chunks.map((c) => [c.path, c.sha256])) }));
  });
}
