/**
 * classifierFiles.ts in Node (fakeBrowser.ts): the version-3 upgrade keeps what version 2 stored
 * (models and LoRAs); transformers.js' custom cache (a miss is undefined, a stored file comes back
 * with its bytes and headers, a URL holds one record); listing, usage and deleting by prefix; a full
 * quota leaving nothing of the file being written.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StorageFull } from '../errors';
import { DB_VERSION, openModelsDb } from './db';
import { classifierCache, classifierUsage, deleteClassifierFiles, listClassifierFiles } from './classifierFiles';
import { listLoras, loraBytes } from './loras';
import { installBrowser } from './testing/fakeBrowser';
import { openOldModelsDb } from './testing/oldSchema';

const browser = installBrowser();

const BASE = 'https://hub.example/owner/nsfw-classifier/resolve/main/';
const OTHER = 'https://hub.example/owner/other/resolve/main/';

/** A response as transformers.js hands it to put(): the bytes, with content-length (and a type when given). */
function response(bytes: Uint8Array, contentType?: string): Response {
  const headers = new Headers({ 'content-length': String(bytes.byteLength) });
  if (contentType) headers.set('content-type', contentType);
  return new Response(bytes.slice(), { headers });
}

describe('the version-3 upgrade', () => {
  // First in the file: the database must not have been opened by db.ts yet.
  it('adds `classifierFiles` and keeps the models and LoRAs version 2 stored', async () => {
    const v2 = await openOldModelsDb(2);
    await v2.put('models', { id: 'm1', createdAt: 5 }, 'm1');
    await v2.put('chunks', { id: 'm1', path: 'chunks/00000.bin', bytes: new ArrayBuffer(8), sha256: 'h0', deps: [] }, ['m1', 'chunks/00000.bin']);
    await v2.put('loras', { name: 'a.safetensors', origin: 'file', size: 2, enabled: true, strength: 0.5, format: 'ai-toolkit', rank: 4, addedAt: 1 }, 'a.safetensors');
    await v2.put('loraFiles', Uint8Array.of(3, 4).buffer, 'a.safetensors');
    v2.close();

    const db = await openModelsDb();
    expect(DB_VERSION).toBe(3);
    expect(db.version).toBe(3);
    expect([...db.objectStoreNames].sort()).toEqual(['chunks', 'classifierFiles', 'files', 'loraFiles', 'loras', 'manifests', 'models']);
    expect(await db.get('models', 'm1')).toMatchObject({ id: 'm1', createdAt: 5 });
    expect((await db.get('chunks', ['m1', 'chunks/00000.bin']))?.bytes.byteLength).toBe(8);
    expect(await db.getAllKeysFromIndex('chunks', 'hash')).toEqual([['m1', 'chunks/00000.bin']]);
    expect((await listLoras()).map((r) => [r.name, r.strength])).toEqual([['a.safetensors', 0.5]]);
    expect([...(await loraBytes('a.safetensors'))]).toEqual([3, 4]);
    expect(await listClassifierFiles()).toEqual([]);
  });
});

describe('the classifier cache', () => {
  beforeEach(() => browser.reset());

  it('a URL not stored is a miss: undefined, not a Response', async () => {
    const cache = classifierCache();
    expect(await cache.match(`${BASE}config.json`)).toBeUndefined();
    await cache.put(`${BASE}config.json`, response(Uint8Array.of(1)));
    expect(await cache.match(`${BASE}onnx/model.onnx`)).toBeUndefined();
    expect(await cache.match('/models/owner/nsfw-classifier/config.json')).toBeUndefined(); // transformers.js' local path, also asked
  });

  it('gives back the stored bytes with their content type and length, also to a cache made later', async () => {
    const config = new TextEncoder().encode('{"model_type":"vit"}');
    const onnx = Uint8Array.from({ length: 457 }, (_, i) => (i * 31) & 255);
    await classifierCache().put(`${BASE}config.json`, response(config, 'application/json; charset=utf-8'));
    await classifierCache().put(`${BASE}onnx/model.onnx`, response(onnx));

    const cache = classifierCache();
    const got = await cache.match(`${BASE}onnx/model.onnx`);
    expect(got?.status).toBe(200);
    expect(got?.headers.get('content-length')).toBe('457');
    expect(got?.headers.get('content-type')).toBeNull(); // none was given
    expect(new Uint8Array(await (got as Response).arrayBuffer())).toEqual(onnx);
    const json = await cache.match(`${BASE}config.json`);
    expect(json?.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json?.json()).toEqual({ model_type: 'vit' });
    // a stored value is a plain ArrayBuffer (db.ts: no Blobs)
    expect((await (await openModelsDb()).get('classifierFiles', `${BASE}config.json`))?.bytes).toBeInstanceOf(ArrayBuffer);
  });

  it('reads a streamed body whole', async () => {
    const parts = [Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6)];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(p);
        c.close();
      },
    });
    await classifierCache().put(`${BASE}onnx/model.onnx`, new Response(body));
    const got = await classifierCache().match(`${BASE}onnx/model.onnx`);
    expect([...new Uint8Array(await (got as Response).arrayBuffer())]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(got?.headers.get('content-length')).toBe('6');
  });

  it('a second put of a URL replaces its record: one record, the new bytes and size', async () => {
    const cache = classifierCache();
    await cache.put(`${BASE}config.json`, response(Uint8Array.of(1, 2, 3), 'application/json'));
    await cache.put(`${BASE}config.json`, response(Uint8Array.of(9), 'text/plain'));
    const db = await openModelsDb();
    expect(await db.count('classifierFiles')).toBe(1);
    const got = await cache.match(`${BASE}config.json`);
    expect([...new Uint8Array(await (got as Response).arrayBuffer())]).toEqual([9]);
    expect(got?.headers.get('content-type')).toBe('text/plain');
    expect((await listClassifierFiles()).map((f) => [f.url, f.size])).toEqual([[`${BASE}config.json`, 1]]);
  });

  it('lists URLs, sizes and times, sums the usage, deletes by prefix or all', async () => {
    const before = Date.now();
    const cache = classifierCache();
    await cache.put(`${BASE}preprocessor_config.json`, response(new Uint8Array(10)));
    await cache.put(`${OTHER}config.json`, response(new Uint8Array(7)));
    await cache.put(`${BASE}onnx/model.onnx`, response(new Uint8Array(457)));
    const files = await listClassifierFiles();
    expect(files.map((f) => [f.url, f.size])).toEqual([
      [`${BASE}onnx/model.onnx`, 457],
      [`${BASE}preprocessor_config.json`, 10],
      [`${OTHER}config.json`, 7],
    ]);
    for (const f of files) expect(f.storedAt).toBeGreaterThanOrEqual(before);
    expect(await classifierUsage()).toBe(474);

    expect(await deleteClassifierFiles(BASE)).toBe(2);
    expect((await listClassifierFiles()).map((f) => f.url)).toEqual([`${OTHER}config.json`]);
    expect(await cache.match(`${BASE}onnx/model.onnx`)).toBeUndefined();
    expect(await classifierUsage()).toBe(7);
    expect(await deleteClassifierFiles('https://nowhere.example/')).toBe(0);
    expect(await deleteClassifierFiles()).toBe(1);
    expect(await classifierUsage()).toBe(0);
    expect(await (await openModelsDb()).count('classifierFiles')).toBe(0);
  });

  it('a full quota is StorageFull naming the file; nothing of it is stored, the files before are kept', async () => {
    const cache = classifierCache();
    await cache.put(`${BASE}config.json`, response(Uint8Array.of(1, 2)));
    browser.idb.quota = (await navigator.storage.estimate()).usage ?? 0;
    const err = await cache.put(`${BASE}onnx/model.onnx`, response(new Uint8Array(5000))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFull);
    expect((err as Error).message).toMatch(/^Storage is full: writing https:\/\/hub\.example\/owner\/nsfw-classifier\/resolve\/main\/onnx\/model\.onnx of the safety classifier failed \(QuotaExceededError; /);
    expect(await cache.match(`${BASE}onnx/model.onnx`)).toBeUndefined();
    // a replacement that does not fit keeps the stored file as it was
    await expect(cache.put(`${BASE}config.json`, response(new Uint8Array(5000)))).rejects.toBeInstanceOf(StorageFull);
    expect((await listClassifierFiles()).map((f) => [f.url, f.size])).toEqual([[`${BASE}config.json`, 2]]);
    expect([...new Uint8Array(await ((await cache.match(`${BASE}config.json`)) as Response).arrayBuffer())]).toEqual([1, 2]);
  });
});
