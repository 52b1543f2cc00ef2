/**
 * download.ts against faults, in Node: the store's IndexedDB, Web Locks and storage estimate are the
 * in-memory ones of ./testing (fakeBrowser.ts), the network a hub-like server (fakeHub.ts) reached
 * through openSource's `fetch` option, so every request goes through the real HttpSource (Range
 * GETs, retries, ETag checks). Sources: the q4 pack of the golden model-a (copied, every chunk
 * checked against its SHA-256) and the model-a diffusers folder (converted while it downloads).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { buildPack, packOfFolder } from '../testing/pack';
import { memorySource } from '../testing/memorySource';
import { InvalidInput, IntegrityFailure, StorageFull } from '../errors';
import { planPack, sha256Hex } from '../weights/convert';
import { neededTensors } from '../model/tensorList';
import { PACK_MANIFEST, type PackManifest, encoderOnlyChunks } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import type { LocalFile } from '../weights/fileListSource';
import { type DownloadOptions, downloadModel, planDownload } from './download';
import { importFolder } from './importFolder';
import { modelKeys, openModelsDb } from './db';
import { modelId, storedModels } from './models';
import { installBrowser } from './testing/fakeBrowser';
import { FakeHub, brokenBody } from './testing/fakeHub';

const browser = installBrowser();
const hub = new FakeHub();
const MODEL_A = resolve(GOLDEN_DIR, 'model-a');
const CHUNK = 256 * 1024;
const TRANSFORMER = 'transformer/diffusion_pytorch_model.safetensors';

let pack: Map<string, Uint8Array | object>;
let manifest: PackManifest;
let folder: Map<string, Uint8Array>;

const recipe = (dir: string, name = dir): PackRecipe => ({ name, quant: 'q4', base: hub.url(dir) });
const options = (extra: DownloadOptions = {}): DownloadOptions => ({
  sourceOptions: { fetch: hub.fetch, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } },
  chunkBytes: CHUNK,
  ...extra,
});

/** The pack with `edit` applied to a copy of its manifest, published under `dir`. */
function publishEdited(dir: string, edit: (m: PackManifest) => void): void {
  const m = structuredClone(manifest);
  edit(m);
  hub.publish(dir, new Map([...pack, [PACK_MANIFEST, m]]));
}

/** What the store holds for `id`: record counts, the manifest record, and stored parts that fail their hash. */
async function stored(id: string) {
  const db = await openModelsDb();
  const chunks = await db.getAll('chunks', modelKeys(id));
  const files = await db.getAll('files', modelKeys(id));
  const bad: string[] = [];
  for (const v of [...chunks, ...files]) if ((await sha256Hex(new Uint8Array(v.bytes))) !== v.sha256) bad.push(v.path);
  return { record: await db.get('models', id), manifest: await db.get('manifests', id), chunks: new Map(chunks.map((c) => [c.path, c.sha256])), files: files.length, bad };
}

async function folderFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    out.set(relative(dir, full).split(sep).join('/'), new Uint8Array(await readFile(full)));
  }
  return out;
}

/** The manifest the pack CLI makes of `files` (a diffusers folder) with this test's recipe and chunk size. */
async function reference(files: Map<string, Uint8Array>, r: PackRecipe): Promise<PackManifest> {
  const src = memorySource(files, 'ref');
  const built = await buildPack(await planPack(r, () => src, neededTensors, { chunkBytes: CHUNK }));
  return built.get(PACK_MANIFEST) as PackManifest;
}

beforeAll(async () => {
  const p = await packOfFolder(MODEL_A, 'q4', CHUNK);
  pack = p.files;
  manifest = pack.get(PACK_MANIFEST) as PackManifest;
  folder = await folderFiles(MODEL_A);
  expect(encoderOnlyChunks(manifest).length).toBeGreaterThan(1);
});

beforeEach(() => {
  browser.reset();
  hub.files.clear();
  hub.log.length = 0;
  hub.fault = null;
  hub.publish('pack', pack);
  hub.publish('model-a', folder);
});

describe('a source that changes during the download (ETag)', () => {
  it('a chunk served again under a new ETag mid-transfer: the download re-plans and fetches it again, then completes', async () => {
    const path = 'pack/chunks/00002.bin';
    let hit = false;
    hub.fault = (r) => {
      if (hit || r.method !== 'GET' || r.path !== path) return undefined;
      hit = true;
      const f = hub.files.get(path) as { bytes: Uint8Array };
      const etag = hub.etag(path) as string;
      hub.set(path, f.bytes); // the same bytes re-uploaded: a new ETag from now on
      return brokenBody(f.bytes, 1000, { 'Content-Range': `bytes 0-${f.bytes.length - 1}/${f.bytes.length}`, ETag: etag });
    };
    const m = await downloadModel(recipe('pack'), options());
    expect(m.complete).toBe(true);
    // broken body, its resumption refused (another ETag), the fetch after the re-plan
    expect(hub.gets(path)).toHaveLength(3);
    expect(hub.gets(`pack/${PACK_MANIFEST}`)).toHaveLength(2);
    const s = await stored(m.id);
    expect(s.bad).toEqual([]);
    expect(s.manifest?.manifest.chunks.find((c) => c.path === 'chunks/00002.bin')?.sha256).toBe(manifest.chunks[2]?.sha256);
  });

  it('a new version of the pack published mid-transfer: the download starts over on it, no byte of the old one kept', async () => {
    const path = 'pack/chunks/00005.bin';
    const v2 = new Uint8Array(pack.get('chunks/00005.bin') as Uint8Array);
    v2[100] = (v2[100] as number) ^ 0xff;
    const m2 = structuredClone(manifest);
    (m2.chunks[5] as { sha256: string }).sha256 = await sha256Hex(v2);
    let hit = false;
    hub.fault = (r) => {
      if (hit || r.method !== 'GET' || r.path !== path) return undefined;
      hit = true;
      const old = hub.files.get(path) as { bytes: Uint8Array };
      const etag = hub.etag(path) as string;
      hub.set(path, v2);
      hub.set(`pack/${PACK_MANIFEST}`, m2);
      return brokenBody(old.bytes, 1000, { 'Content-Range': `bytes 0-${old.bytes.length - 1}/${old.bytes.length}`, ETag: etag });
    };
    const m = await downloadModel(recipe('pack'), options());
    const s = await stored(m.id);
    expect(s.bad).toEqual([]);
    expect(s.manifest?.manifest.chunks[5]?.sha256).toBe(m2.chunks[5]?.sha256);
    expect(s.record?.plan.chunks[5]?.sha256).toBe(m2.chunks[5]?.sha256);
  });

  it('a pack replaced before a chunk is first asked for (no ETag to compare): the chunk fails its SHA-256, the model stays partial; Resume gets the new version', async () => {
    const v2 = new Uint8Array(pack.get('chunks/00005.bin') as Uint8Array);
    v2[0] = (v2[0] as number) ^ 0xff;
    const m2 = structuredClone(manifest);
    (m2.chunks[5] as { sha256: string }).sha256 = await sha256Hex(v2);
    hub.set('pack/chunks/00005.bin', v2); // the manifest still lists the old hash: published chunk first
    const r = recipe('pack');
    const err = await downloadModel(r, options({ concurrency: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityFailure);
    expect((err as Error).message).toMatch(/chunks\/00005\.bin: SHA-256 [0-9a-f]{64} does not match/);
    const id = await modelId(r);
    expect((await stored(id)).manifest).toBeUndefined();
    expect((await storedModels())[0]).toMatchObject({ id, complete: false });
    hub.set(`pack/${PACK_MANIFEST}`, m2); // then the manifest
    const m = await downloadModel(r, options());
    const s = await stored(m.id);
    expect(s.bad).toEqual([]);
    expect(s.manifest?.manifest.chunks[5]?.sha256).toBe(m2.chunks[5]?.sha256);
  });

  it('a file whose ETag changes on every request: gives up after the re-plans with IntegrityFailure; what is stored is kept, nothing is complete', async () => {
    const path = 'pack/chunks/00001.bin';
    hub.fault = (r) => {
      if (r.method !== 'GET' || r.path !== path) return undefined;
      const f = hub.files.get(path) as { bytes: Uint8Array };
      const etag = hub.etag(path) as string;
      hub.set(path, f.bytes);
      return brokenBody(f.bytes, 1000, { 'Content-Range': `bytes 0-${f.bytes.length - 1}/${f.bytes.length}`, ETag: etag });
    };
    const r = recipe('pack');
    const err = await downloadModel(r, options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityFailure);
    expect((err as Error).message).toMatch(/changed on the server during the download/);
    const s = await stored(await modelId(r));
    expect(s.manifest).toBeUndefined();
    expect(s.record).toBeDefined();
    expect(s.bad).toEqual([]);
    expect(s.chunks.has('chunks/00001.bin')).toBe(false);
  });

  it('a converted model whose safetensors file changes mid-download: every converted chunk is made again from the new file (no mix of versions)', async () => {
    const v2 = new Uint8Array(folder.get(TRANSFORMER) as Uint8Array);
    for (let i = v2.length - 4096; i < v2.length; i++) v2[i] = (v2[i] as number) ^ 0x01; // last tensor's values change
    const r = recipe('model-a', 'converted');
    const want = await reference(new Map([...folder, [TRANSFORMER, v2]]), r);
    const old = await reference(folder, r);
    expect(want.chunks.map((c) => c.sha256)).not.toEqual(old.chunks.map((c) => c.sha256));
    let gets = 0;
    hub.fault = (q) => {
      if (q.method === 'GET' && q.path === `model-a/${TRANSFORMER}` && ++gets === 4) hub.set(q.path, v2); // served (new ETag) from this request on
      return undefined;
    };
    const m = await downloadModel(r, options());
    const s = await stored(m.id);
    expect(s.bad).toEqual([]);
    expect(s.manifest?.manifest.chunks.map((c) => c.sha256)).toEqual(want.chunks.map((c, i) => (s.manifest?.deferred?.includes(c.path) ? (s.manifest.manifest.chunks[i]?.sha256 ?? '') : c.sha256)));
    for (const [path, sha] of s.chunks) expect(sha, path).toBe(want.chunks.find((c) => c.path === path)?.sha256);
  });

  it('a converted model whose source changed between two sessions: the resumed download converts every chunk again from the new file', async () => {
    const r = recipe('model-a', 'resumed');
    const stop = new AbortController();
    const first = await downloadModel(r, options({ signal: stop.signal, onProgress: (p) => p.chunksDone >= 4 && stop.abort() })).catch((e: unknown) => e);
    expect((first as Error).name).toBe('Cancelled');
    const id = await modelId(r);
    expect((await stored(id)).chunks.size).toBeGreaterThanOrEqual(4);
    const v2 = new Uint8Array(folder.get(TRANSFORMER) as Uint8Array);
    for (let i = v2.length - 4096; i < v2.length; i++) v2[i] = (v2[i] as number) ^ 0x01;
    hub.set(`model-a/${TRANSFORMER}`, v2);
    const want = await reference(new Map([...folder, [TRANSFORMER, v2]]), r);
    await downloadModel(r, options());
    const s = await stored(id);
    expect(s.bad).toEqual([]);
    for (const [path, sha] of s.chunks) expect(sha, path).toBe(want.chunks.find((c) => c.path === path)?.sha256);
  });
});

describe('a pack manifest without usable hashes is refused before anything is stored', () => {
  const cases: Array<[string, (m: PackManifest) => void]> = [
    ['an empty chunk hash', (m) => void ((m.chunks[3] as { sha256: string }).sha256 = '')],
    ['a chunk hash in upper case', (m) => void ((m.chunks[3] as { sha256: string }).sha256 = (m.chunks[3]?.sha256 ?? '').toUpperCase())],
    ['a truncated chunk hash', (m) => void ((m.chunks[0] as { sha256: string }).sha256 = (m.chunks[0]?.sha256 ?? '').slice(0, 40))],
    ['a missing chunk hash', (m) => void delete (m.chunks[2] as { sha256?: string }).sha256],
    ['an empty hash of a deferred (VAE encoder) chunk', (m) => void ((m.chunks.at(-1) as { sha256: string }).sha256 = '')],
    ['an empty small-file hash', (m) => void ((m.files[0] as { sha256: string }).sha256 = '')],
    ['a small-file hash that is not hex', (m) => void ((m.files[1] as { sha256: string }).sha256 = 'z'.repeat(64))],
  ];
  for (const [what, edit] of cases) {
    it(`${what}: InvalidInput naming it, no chunk fetched, no record written`, async () => {
      publishEdited('edited', edit);
      const r = recipe('edited');
      const err = await downloadModel(r, options()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInput);
      expect((err as Error).message).toMatch(/SHA-256/);
      expect(hub.gets('edited/chunks/')).toEqual([]);
      expect(await storedModels()).toEqual([]);
      await expect(planDownload(r, options())).rejects.toThrow(InvalidInput);
    });
  }

  it('the same pack imported from a local folder: refused the same way', async () => {
    const m = structuredClone(manifest);
    (m.chunks[3] as { sha256: string }).sha256 = '';
    const files: LocalFile[] = [...pack].map(([path, v]) => ({ path: `local-pack/${path}`, file: new Blob([v instanceof Uint8Array ? (v as Uint8Array<ArrayBuffer>) : JSON.stringify(path === PACK_MANIFEST ? m : v)]) }));
    await expect(importFolder(files, 'q4')).rejects.toThrow(/SHA-256/);
    expect(await storedModels()).toEqual([]);
  });
});

describe('storage full', () => {
  it('the quota is hit mid-download (estimate says there is room): StorageFull, stored chunks kept, none half-written; Resume completes fetching only what is missing', async () => {
    browser.idb.quota = 4 * CHUNK;
    browser.estimateQuota = 1e12; // Chromium's estimate does not show the enforced quota
    const r = recipe('pack');
    const err = await downloadModel(r, options({ concurrency: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFull);
    expect((err as Error).message).toMatch(/QuotaExceededError.*press Resume/);
    const id = await modelId(r);
    const before = await stored(id);
    expect(before.manifest).toBeUndefined();
    expect(before.bad).toEqual([]);
    expect(before.chunks.size).toBeGreaterThan(0);
    browser.idb.quota = Infinity;
    hub.log.length = 0;
    const m = await downloadModel(r, options());
    const after = await stored(id);
    expect(m.complete).toBe(true);
    expect(after.bad).toEqual([]);
    expect(hub.gets('pack/chunks/').length).toBe(after.chunks.size - before.chunks.size);
  });

  it('the estimate shows too little room: StorageFull before any chunk is fetched', async () => {
    browser.estimateQuota = 1024;
    await expect(downloadModel(recipe('pack'), options())).rejects.toThrow(StorageFull);
    expect(hub.gets('pack/chunks/')).toEqual([]);
  });
});
