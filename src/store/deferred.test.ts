/**
 * deferred.ts against faults, in Node (fakeBrowser.ts: IndexedDB, Web Locks, storage estimate;
 * fakeHub.ts: the network): the VAE encoder chunks a download left out are fetched when editing is
 * first used, and whatever goes wrong (full storage, corrupted bytes, the model deleted or busy in
 * another tab, offline, the source changed) leaves the model complete and loadable, with exactly the
 * chunks not yet stored still listed as deferred.
 */
import { resolve } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { packOfFolder } from '../testing/pack';
import { InvalidInput, IntegrityFailure, StorageFull } from '../errors';
import { sha256Hex } from '../weights/convert';
import { PACK_MANIFEST, type PackManifest, encoderOnlyChunks } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import { type ModelsDb, modelKeys, openModelsDb } from './db';
import { type DeferredOptions, fetchDeferred } from './deferred';
import { downloadModel } from './download';
import { deleteModel, holdModel } from './models';
import { lockName } from './locks';
import { storeSource } from './storeSource';
import { installBrowser } from './testing/fakeBrowser';
import { FakeHub } from './testing/fakeHub';

const browser = installBrowser();
const hub = new FakeHub();
const CHUNK = 256 * 1024;

let pack: Map<string, Uint8Array | object>;
let manifest: PackManifest;
/** Paths of the pack's encoder-only chunks (what a download defers). */
let encoder: string[];
let id: string;

const recipe: PackRecipe = { name: 'deferred', quant: 'q4', base: hub.url('pack') };
const sourceOptions = { fetch: hub.fetch, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } };
const opts: DeferredOptions = { sourceOptions };

/** The model's manifest record, its stored chunk paths, and the stored chunks that fail their manifest hash. */
async function state(db: ModelsDb) {
  const rec = await db.get('manifests', id);
  const chunks = await db.getAll('chunks', modelKeys(id));
  const want = new Map(rec?.manifest.chunks.map((c) => [c.path, c.sha256]));
  const bad: string[] = [];
  for (const c of chunks) if ((await sha256Hex(new Uint8Array(c.bytes))) !== want.get(c.path)) bad.push(c.path);
  return { rec, paths: new Set(chunks.map((c) => c.path)), bad };
}

/** Every deferred chunk is either stored or still listed, never both, never neither. */
function consistent(s: Awaited<ReturnType<typeof state>>): void {
  const listed = new Set(s.rec?.deferred ?? []);
  for (const p of encoder) expect(listed.has(p) !== s.paths.has(p), p).toBe(true);
  expect(s.bad).toEqual([]);
}

/** Reads the first byte of the last (encoder) chunk through storeSource, as the VAE encoder's loader does. */
async function readEncoder(): Promise<Uint8Array> {
  const src = await storeSource(id, opts);
  return src.range(encoder.at(-1) as string, 0, 1);
}

beforeAll(async () => {
  pack = (await packOfFolder(resolve(GOLDEN_DIR, 'model-a'), 'q4', CHUNK)).files;
  manifest = pack.get(PACK_MANIFEST) as PackManifest;
  encoder = encoderOnlyChunks(manifest).map((i) => manifest.chunks[i]?.path as string);
  expect(encoder.length).toBeGreaterThan(1);
});

beforeEach(async () => {
  browser.reset();
  hub.files.clear();
  hub.fault = null;
  hub.publish('pack', pack);
  id = (await downloadModel(recipe, { sourceOptions })).id;
  hub.log.length = 0;
  const s = await state(await openModelsDb());
  expect(s.rec?.deferred).toEqual(encoder);
});

describe('fetchDeferred', () => {
  it('stores every encoder chunk with its hash, each fetched once, and leaves nothing deferred', async () => {
    const rec = await fetchDeferred(id, opts);
    expect(rec.deferred).toEqual([]);
    const s = await state(await openModelsDb());
    consistent(s);
    expect(hub.gets('pack/chunks/').map((r) => r.path).sort()).toEqual(encoder.map((p) => `pack/${p}`));
  });

  it('storage full on a write (the estimate said there was room): StorageFull; what was written stays, the rest stays deferred; a retry fetches only the rest', async () => {
    browser.estimateQuota = 1e12;
    browser.idb.quota = browser.idb.usage() + CHUNK + 64 * 1024; // room for one more chunk
    const err = await fetchDeferred(id, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFull);
    expect((err as Error).message).toMatch(/VAE encoder, for editing.*QuotaExceededError/);
    const s = await state(await openModelsDb());
    expect(s.rec).toBeDefined(); // still complete: loads, generates without references
    consistent(s);
    expect(s.rec?.deferred?.length).toBeGreaterThan(0);
    const left = [...(s.rec?.deferred ?? [])];
    browser.idb.quota = Infinity;
    hub.log.length = 0;
    expect((await fetchDeferred(id, opts)).deferred).toEqual([]);
    expect(hub.gets('pack/chunks/').map((r) => r.path).sort()).toEqual(left.map((p) => `pack/${p}`).sort());
    consistent(await state(await openModelsDb()));
  });

  it('storage full by the estimate: StorageFull before any chunk is fetched', async () => {
    browser.estimateQuota = browser.idb.usage() + 1000;
    await expect(fetchDeferred(id, opts)).rejects.toThrow(/Not enough storage for test q4/);
    expect(hub.gets('pack/chunks/')).toEqual([]);
    expect((await state(await openModelsDb())).rec?.deferred).toEqual(encoder);
  });

  it('a chunk that fails its SHA-256 (every time): IntegrityFailure saying editing needs the encoder; that chunk is not stored and stays deferred', async () => {
    const bad = encoder[0] as string;
    hub.fault = (r) => {
      if (r.method !== 'GET' || r.path !== `pack/${bad}`) return undefined;
      const bytes = new Uint8Array(pack.get(bad) as Uint8Array);
      bytes[7] = (bytes[7] as number) ^ 0xff;
      return new Response(bytes, { status: 206, headers: { 'Content-Range': `bytes 0-${bytes.length - 1}/${bytes.length}` } });
    };
    const err = await fetchDeferred(id, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityFailure);
    expect((err as Error).message).toMatch(/^Editing needs the VAE encoder of test q4 .*SHA-256.*Try again/);
    const s = await state(await openModelsDb());
    consistent(s);
    expect(s.paths.has(bad)).toBe(false);
    expect(s.rec?.deferred).toContain(bad);
    // the model still loads and reads what it has
    await expect((await storeSource(id, opts)).range(manifest.chunks[0]?.path as string, 0, 4)).resolves.toHaveLength(4);
  });

  it('the model was deleted (in another tab): InvalidInput saying to download it again, nothing fetched', async () => {
    await deleteModel(id);
    await expect(fetchDeferred(id, opts)).rejects.toThrow(/no longer completely stored.*download it again/);
    expect(hub.log).toEqual([]);
  });

  it('a delete while the fetch runs is refused (the fetch holds the model shared); the fetch completes', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let seen = false;
    const real = hub.fetch;
    const slow: typeof fetch = async (input, init) => {
      if (!seen) {
        seen = true;
        await gate;
      }
      return real(input, init);
    };
    const running = fetchDeferred(id, { sourceOptions: { ...sourceOptions, fetch: slow } });
    await vi.waitFor(() => expect(seen).toBe(true));
    await expect(deleteModel(id)).rejects.toThrow(InvalidInput);
    release();
    expect((await running).deferred).toEqual([]);
    consistent(await state(await openModelsDb()));
  });

  it('another tab downloads or deletes the model (its lock held exclusively): InvalidInput, nothing fetched', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let granted = false;
    const other = browser.tab('other-tab').request(lockName(id), { mode: 'exclusive' }, () => {
      granted = true;
      return held;
    });
    await vi.waitFor(() => expect(granted).toBe(true));
    await expect(fetchDeferred(id, opts)).rejects.toThrow(/Cannot fetch the VAE encoder of model .*another tab/);
    expect(hub.log).toEqual([]);
    release();
    await other;
  });

  it('another tab has the model loaded (shared): the fetch goes ahead', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let granted = false;
    const other = browser.tab('other-tab').request(lockName(id), { mode: 'shared' }, () => {
      granted = true;
      return held;
    });
    await vi.waitFor(() => expect(granted).toBe(true));
    expect((await fetchDeferred(id, opts)).deferred).toEqual([]);
    release();
    await other;
  });

  it('two realms (tabs) editing at once: the encoder is fetched once, the second finds it stored', async () => {
    vi.resetModules();
    const other = await import('./deferred');
    const [a, b] = await Promise.all([fetchDeferred(id, opts), other.fetchDeferred(id, opts)]);
    expect(a.deferred).toEqual([]);
    expect(b.deferred).toEqual([]);
    expect(hub.gets('pack/chunks/')).toHaveLength(encoder.length);
  });

  it('concurrent reads in one realm share one fetch', async () => {
    await Promise.all([readEncoder(), readEncoder(), fetchDeferred(id, opts)]);
    expect(hub.gets('pack/chunks/')).toHaveLength(encoder.length);
  });

  it('a read while this realm holds the model (a loaded pipeline) does not ask for the lock again, even with a waiting request queued behind the hold', async () => {
    const hold = await holdModel(id);
    const stop = new AbortController();
    // an exclusive request waiting behind the hold: a new shared request would queue behind it (or, ifAvailable, be refused)
    const waiting = browser.tab('other-tab').request(lockName(id), { signal: stop.signal }, async () => {}).catch(() => 'aborted');
    await expect(readEncoder()).resolves.toHaveLength(1);
    stop.abort();
    expect(await waiting).toBe('aborted');
    hold.release();
  });

  it('offline: InvalidInput saying to connect, nothing fetched', async () => {
    browser.setOnline(false);
    await expect(readEncoder()).rejects.toThrow(/this browser is offline: connect to the network/);
    expect(hub.log).toEqual([]);
  });

  it('the server no longer has an encoder chunk (HTTP 404): InvalidInput saying to download the model again, not to connect to the network', async () => {
    hub.files.delete(`pack/${encoder[1]}`);
    const err = await fetchDeferred(id, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toMatch(/^Editing needs the VAE encoder of test q4 .*, but https:\/\/hub\.test\/pack no longer serves it .*HTTP 404.*: delete the model and download it again\.$/);
    expect((err as Error).message).not.toMatch(/connect to the network/);
    consistent(await state(await openModelsDb()));
  });

  it('the server now serves a broken manifest: InvalidInput saying to download the model again; nothing fetched', async () => {
    hub.set(`pack/${PACK_MANIFEST}`, { ...manifest, chunkBytes: 3 });
    const err = await fetchDeferred(id, opts).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/no longer serves it .*chunkBytes.*: delete the model and download it again\.$/);
    expect(hub.gets('pack/chunks/')).toEqual([]);
  });

  it('a network that fails (HTTP 503 after the retries): InvalidInput saying to connect and try again; the model stays as it was', async () => {
    hub.fault = (r) => (r.path.startsWith('pack/chunks/') ? new Response('busy', { status: 503 }) : undefined);
    await expect(fetchDeferred(id, opts)).rejects.toThrow(/connect to the network and try again \(GET .*HTTP 503/);
    expect((await state(await openModelsDb())).rec?.deferred).toEqual(encoder);
  });

  it('the pack changed on the server since the download: InvalidInput saying to download it again; nothing stored', async () => {
    const m2 = structuredClone(manifest);
    const bytes = new Uint8Array(pack.get(encoder[0] as string) as Uint8Array);
    bytes[0] = (bytes[0] as number) ^ 1;
    const i = manifest.chunks.findIndex((c) => c.path === encoder[0]);
    (m2.chunks[i] as { sha256: string }).sha256 = await sha256Hex(bytes);
    hub.set(`pack/${PACK_MANIFEST}`, m2);
    hub.set(`pack/${encoder[0]}`, bytes);
    await expect(fetchDeferred(id, opts)).rejects.toThrow(/is not the model that was stored any more: delete it and download it again/);
    expect(hub.gets('pack/chunks/')).toEqual([]);
    expect((await state(await openModelsDb())).rec?.deferred).toEqual(encoder);
  });
});
