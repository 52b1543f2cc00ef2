/**
 * The browser model store (src/store) in Chromium with real IndexedDB, Web Locks and BroadcastChannel:
 * the q4 pack of model-a (141 chunks of 64 KiB, made by globalSetup with `npm run pack`) is
 * downloaded from the hub-like server, whose scripted faults (hubServer.ts `setFaults`) drop
 * connections, answer 503/429, corrupt bytes and throttle transfers; its log of GETs with the body
 * bytes sent counts what was fetched twice. Only the last test generates an image (offline). A
 * download leaves out the chunks that hold only the VAE encoder (`deferred`, fetched on the first
 * edit: lazy-encoder.spec.ts), so "every chunk" below means every chunk but those.
 */
import { createHash } from 'node:crypto';
import { type Page, expect, test } from '@playwright/test';
import { type PackManifest, encoderOnlyChunks } from '../src/weights/packFormat';
import { formatBytes } from '../src/ui/format';
import { HUB_URL, PACK_A } from './env';
import { openModelPanels } from './app';
import { type Served, clearFaults, servedLog, setFaults, chunkTraffic as packTraffic } from './hubServer';
import { badStoredChunks, corruptStoredChunk, countRecords, storedChunkPaths } from './storeDb';

const PACK_URL = `${HUB_URL}/${PACK_A.name}`;
const CHUNKS = `${PACK_A.name}/chunks/`;
/** A download of the 20 MB pack takes seconds; a throttled one up to a minute. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

let manifest: PackManifest;
let packTotal = 0;
/** The chunks a download stores: all but the VAE encoder's (deferred to the first edit). */
let stored: PackManifest['chunks'] = [];
let deferredBytes = 0;

test.beforeAll(async () => {
  manifest = (await (await fetch(`${PACK_URL}/kleinbild-pack.json`)).json()) as PackManifest;
  packTotal = manifest.totalBytes + manifest.files.reduce((s, f) => s + f.bytes, 0);
  const deferred = new Set(encoderOnlyChunks(manifest));
  stored = manifest.chunks.filter((_, i) => !deferred.has(i));
  deferredBytes = manifest.totalBytes - stored.reduce((n, c) => n + c.bytes, 0);
  expect(deferred.size).toBeGreaterThan(0);
});

test.beforeEach(async () => {
  await clearFaults(HUB_URL);
  await servedLog(HUB_URL, true);
});

test.afterEach(async () => {
  await clearFaults(HUB_URL);
});

/** Chunk GETs of PACK_A in a served log: path → body bytes sent and request count. */
const chunkTraffic = (log: readonly Served[]) => packTraffic(log, PACK_A.name);

const sum = (m: Map<string, { bytes: number }>): number => [...m.values()].reduce((s, e) => s + e.bytes, 0);

async function openApp(page: Page): Promise<void> {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled(); // the worker is up
  await openModelPanels(page);
}

/** Picks "Other source" with the pack URL and waits for its size. */
async function pickPack(page: Page): Promise<void> {
  await page.getByTestId('model-choice-custom').check();
  await page.getByTestId('model-download-source').fill(PACK_URL);
  await expect(page.getByTestId('model-download-button')).toBeEnabled();
}

const storedModel = (page: Page) => page.getByTestId('stored-model');

async function waitComplete(page: Page): Promise<void> {
  await expect(storedModel(page)).toHaveAttribute('data-state', 'complete', { timeout: DOWNLOAD_TIMEOUT_MS });
  await expect(page.getByTestId('model-download-progress')).toBeHidden();
}

test('download: size before starting, progress with bytes, speed and time left; drops, 503 and 429 are retried without refetching', async ({ page }) => {
  await openApp(page);
  await pickPack(page);
  await expect(page.getByTestId('model-download-button')).toContainText(`Download model (${formatMiB(packTotal)} to store)`);
  await setFaults(HUB_URL, {
    rules: [
      { match: CHUNKS, requests: [5], action: { drop: { afterBytes: 30_000 } } },
      { match: CHUNKS, requests: [20], action: { status: 503 } },
      { match: CHUNKS, requests: [40], action: { status: 429, headers: { 'Retry-After': '1' } } },
    ],
    throttle: { match: CHUNKS, bytesPerSec: 1_500_000 },
  });
  await page.getByTestId('model-download-button').click();
  const progress = page.getByTestId('model-download-progress');
  await expect(progress).toContainText(/MiB \/ \d+\.\d MiB · \d+(\.\d)? (KiB|MiB)\/s · \d+ s left/);
  await expect(progress).toContainText(/3 retries/, { timeout: DOWNLOAD_TIMEOUT_MS });
  await waitComplete(page);
  await expect(storedModel(page)).toContainText(manifest.name);
  await expect(page.getByTestId('stored-status')).toHaveText(`Stored: loads offline; the VAE encoder for editing (${formatBytes(deferredBytes)}) downloads when first used.`);
  await expect(page.getByTestId('storage-usage')).toContainText(/persistent storage: (granted|not granted)/);

  const traffic = chunkTraffic(await servedLog(HUB_URL));
  expect([...traffic.keys()].sort()).toEqual(stored.map((c) => c.path).sort());
  // the dropped body resumed after its last byte: every stored chunk's byte was sent exactly once
  expect(sum(traffic)).toBe(manifest.totalBytes - deferredBytes);
  expect(await countRecords(page)).toEqual({ models: 1, chunks: stored.length, files: manifest.files.length, manifests: 1 });
});

function formatMiB(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

async function downloadPack(page: Page): Promise<void> {
  await pickPack(page);
  await page.getByTestId('model-download-button').click();
  await waitComplete(page);
}

test('a reload mid-download resumes: exactly the chunks not stored are fetched again', async ({ page }) => {
  await openApp(page);
  await pickPack(page);
  await setFaults(HUB_URL, { throttle: { match: CHUNKS, bytesPerSec: 250_000 } });
  await page.getByTestId('model-download-button').click();
  const bar = page.getByTestId('model-download-progress').getByRole('progressbar');
  // chunks are 45 % of the pack (the tokenizer file comes last): reload a third of the way through them
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: DOWNLOAD_TIMEOUT_MS }).toBeGreaterThanOrEqual(15);
  const before = chunkTraffic(await servedLog(HUB_URL, true));
  await page.reload();
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  await expect(storedModel(page)).toHaveAttribute('data-state', 'partial');
  await expect(page.getByTestId('stored-status')).toContainText(/^Partial \(\d+ %\): resume or delete\.$/);
  const kept = new Set(await storedChunkPaths(page));
  expect((await countRecords(page)).manifests).toBe(0);
  expect(kept.size).toBeGreaterThan(10);
  expect(kept.size).toBeLessThan(stored.length);

  await clearFaults(HUB_URL);
  await servedLog(HUB_URL, true);
  await page.getByTestId('stored-resume').click();
  await expect(page.getByTestId('model-download-progress')).toBeVisible();
  await waitComplete(page);
  const after = chunkTraffic(await servedLog(HUB_URL));
  const notStored = stored.filter((c) => !kept.has(c.path));
  expect([...after.keys()].sort()).toEqual(notStored.map((c) => c.path).sort());
  expect(sum(after)).toBe(notStored.reduce((n, c) => n + c.bytes, 0));
  // fetched completely before the reload but not yet written: at most the chunks in flight (3)
  const refetched = notStored.filter((c) => before.get(c.path)?.bytes === c.bytes);
  console.log(`reload resume: ${kept.size}/${stored.length} chunks kept, ${notStored.length} fetched after the reload, ` +
    `${refetched.length} of them (${refetched.reduce((n, c) => n + c.bytes, 0)} bytes) had been received whole before it`);
  expect(refetched.length).toBeLessThanOrEqual(3);
  expect(await badStoredChunks(page, Object.fromEntries(manifest.chunks.map((c) => [c.path, c])))).toEqual([]);
});

test('a corrupted chunk: caught by the download check and fetched again; corrupted in storage: caught at Load, deleted, and Resume fetches only it', async ({ page }) => {
  await openApp(page);
  await setFaults(HUB_URL, { rules: [{ match: CHUNKS, requests: [3], action: { corrupt: true } }] });
  await downloadPack(page);
  const traffic = chunkTraffic(await servedLog(HUB_URL, true));
  expect([...traffic.values()].filter((t) => t.requests === 2)).toHaveLength(1);
  expect(sum(traffic)).toBe(manifest.totalBytes - deferredBytes + manifest.chunkBytes);
  await clearFaults(HUB_URL);

  // a chunk the loader reads at Load (the transformer's first tensor; the embedding table is read lazily)
  const first = Math.min(...Object.values(manifest.components.transformer).map((t) => t.offset));
  const victim = manifest.chunks[Math.floor(first / manifest.chunkBytes)]?.path as string;
  await corruptStoredChunk(page, victim);
  await page.getByTestId('stored-load').click();
  await expect(page.getByTestId('error-name')).toHaveText('(IntegrityFailure)', { timeout: DOWNLOAD_TIMEOUT_MS });
  await expect(page.getByTestId('error-message')).toContainText(`Stored ${victim} of model`);
  await expect(page.getByTestId('error-message')).toContainText('is corrupted');
  await expect(storedModel(page)).toHaveAttribute('data-state', 'partial');
  expect(await countRecords(page)).toMatchObject({ chunks: stored.length - 1, manifests: 0 });

  await page.getByTestId('stored-resume').click();
  await waitComplete(page);
  const refetch = chunkTraffic(await servedLog(HUB_URL));
  expect([...refetch.keys()]).toEqual([victim]);
  await page.getByTestId('stored-load').click();
  await expect(page.getByTestId('model-info')).toContainText('store:', { timeout: DOWNLOAD_TIMEOUT_MS });
});

test('storage full mid-download: a clear message, no half-written chunk, no manifest; Resume completes once there is room', async ({ page }) => {
  await openApp(page);
  // A real quota: Chromium enforces the override on IndexedDB writes (its estimate() keeps reporting
  // usage + 10 GiB, so the pre-download estimate check cannot see it; the write path must).
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(page.url()).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 4_000_000 });
  await pickPack(page);
  await page.getByTestId('model-download-button').click();
  await expect(page.getByTestId('storage-error')).toContainText('StorageFull', { timeout: DOWNLOAD_TIMEOUT_MS });
  await expect(page.getByTestId('storage-error')).toContainText('The download stopped: There is not enough storage space for the model.');
  await expect(page.getByTestId('storage-error')).toContainText(/Storage is full: writing chunks\/\d+\.bin of .+ failed \(QuotaExceededError/);
  await expect(page.getByTestId('storage-error')).toContainText('press Resume');
  await expect(page.getByTestId('model-download-progress')).toBeHidden();
  await expect(storedModel(page)).toHaveAttribute('data-state', 'partial');
  const counts = await countRecords(page);
  expect(counts.manifests).toBe(0);
  expect(counts.chunks).toBeGreaterThan(0);
  expect(counts.chunks).toBeLessThan(stored.length);
  expect(await badStoredChunks(page, Object.fromEntries(manifest.chunks.map((c) => [c.path, c])))).toEqual([]);

  await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // no quotaSize: back to the default
  await page.getByTestId('stored-resume').click();
  await waitComplete(page);
  expect(await countRecords(page)).toEqual({ models: 1, chunks: stored.length, files: manifest.files.length, manifests: 1 });
});

test('Cancel keeps what is stored (Resume goes on); Delete asks first, then removes every record of the model', async ({ page }) => {
  await openApp(page);
  await pickPack(page);
  await setFaults(HUB_URL, { throttle: { match: CHUNKS, bytesPerSec: 250_000 } });
  await page.getByTestId('model-download-button').click();
  await expect(page.getByTestId('model-download-progress')).toContainText(/ (B|KiB|MiB)\/s/); // bytes are flowing
  await page.context().setOffline(true); // progress says why nothing moves, not "0 B/s · measuring speed…"
  await expect(page.getByTestId('model-download-progress')).toContainText('MiB · waiting for the network');
  await page.context().setOffline(false);
  await page.getByTestId('model-download-cancel').click();
  await expect(page.getByTestId('storage-notice')).toHaveText('Download cancelled; what was stored is kept: press Resume to go on.');
  await expect(storedModel(page)).toHaveAttribute('data-state', 'partial');
  await clearFaults(HUB_URL);
  await page.getByTestId('stored-resume').click();
  await waitComplete(page);

  await page.getByTestId('stored-delete').click();
  await expect(storedModel(page)).toContainText(`Delete ${formatMiB(packTotal - deferredBytes)}?`);
  await page.getByTestId('stored-delete-keep').click();
  await expect(storedModel(page)).toHaveAttribute('data-state', 'complete');
  await page.getByTestId('stored-delete').click();
  await page.getByTestId('stored-delete-confirm').click();
  await expect(page.getByTestId('stored-empty')).toBeVisible();
  expect(await countRecords(page)).toEqual({ models: 0, chunks: 0, files: 0, manifests: 0 });
});

test('two tabs: the second sees the download running in the first and cannot start or delete it; when the first closes, it resumes', async ({ page }) => {
  const a = page;
  const b = await page.context().newPage();
  await openApp(a);
  await openApp(b);
  await setFaults(HUB_URL, { throttle: { match: CHUNKS, bytesPerSec: 250_000 } });
  await pickPack(a);
  await a.getByTestId('model-download-button').click();
  await expect(a.getByTestId('model-download-progress')).toBeVisible();
  await expect(storedModel(b)).toHaveAttribute('data-state', 'elsewhere');
  await expect(b.getByTestId('stored-status')).toContainText(/^Downloading in another tab: .+ MiB \/ .+ MiB/);
  await expect(b.getByTestId('elsewhere-progress')).toBeVisible();
  await expect(b.getByTestId('stored-delete')).toBeDisabled();
  await pickPack(b);
  await b.getByTestId('model-download-button').click();
  await expect(b.getByTestId('storage-error')).toContainText('it is being downloaded (or deleted) in another tab');
  // the first tab goes away mid-download (it announces nothing): its lock is released, the second
  // tab, waiting on it, lists the model as partial and resumes it
  await a.close();
  await expect(storedModel(b)).toHaveAttribute('data-state', 'partial');
  await clearFaults(HUB_URL);
  await b.getByTestId('storage-error').getByRole('button').click();
  await b.getByTestId('stored-resume').click();
  await waitComplete(b);
  await expect(b.getByTestId('stored-load')).toBeVisible();
});

test('a diffusers folder is converted to q4 while it downloads, byte-identical to the pack CLI', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('model-choice-custom').check();
  await page.getByTestId('model-download-source').fill(`${HUB_URL}/model-a`);
  await expect(page.getByTestId('model-download-size')).toContainText('to store');
  await page.getByTestId('model-download-button').click();
  await waitComplete(page);
  // the app's default 32 MiB chunks hold the whole 9 MB weight space in one chunk: its SHA-256 must
  // be that of the CLI pack's 141 chunk files in a row
  const whole = Buffer.concat(await Promise.all(manifest.chunks.map(async (c) => Buffer.from(await (await fetch(`${PACK_URL}/${c.path}`)).arrayBuffer()))));
  const want = createHash('sha256').update(whole).digest('hex');
  expect(await badStoredChunks(page, { 'chunks/00000.bin': { sha256: want, bytes: whole.length } })).toEqual([]);
  expect(await storedChunkPaths(page)).toEqual(['chunks/00000.bin']);
});

/** 64×64, 1 step: the cheapest image the tiny model makes (still ~1 min on SwiftShader). */
const RUN_TIMEOUT_MS = 480_000;

test('second visit offline: the stored model loads and generates an image', async ({ page, context }) => {
  await openApp(page);
  await downloadPack(page);
  // the PWA's service worker precaches the app shell; a reload while offline needs it in control
  const controlled = await page.evaluate(async () => {
    if (!('serviceWorker' in navigator)) return false;
    await navigator.serviceWorker.ready;
    return true;
  });
  await context.setOffline(true);
  const offlineShell = controlled && (await page.reload().then(() => true, () => false));
  if (!offlineShell) {
    console.log('app shell not available offline: reloading online, then going offline');
    await context.setOffline(false);
    await page.reload();
    await context.setOffline(true);
  }
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await expect(storedModel(page)).toHaveAttribute('data-state', 'complete');
  await servedLog(HUB_URL, true);
  const t0 = Date.now();
  await page.getByTestId('stored-load').click();
  await expect(page.getByTestId('model-info')).toContainText('store:', { timeout: RUN_TIMEOUT_MS });
  const t1 = Date.now();
  await page.getByTestId('prompt').fill('A red balloon on a wooden table.');
  await page.getByTestId('width').fill('64');
  await page.getByTestId('height').fill('64');
  await page.getByTestId('steps').fill('1');
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  await expect(page.getByTestId('output-canvas')).toBeVisible();
  console.log(`offline: app shell ${offlineShell ? 'from the service worker' : 'loaded online'}; load ${((t1 - t0) / 1000).toFixed(1)} s, generate ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  expect(await servedLog(HUB_URL)).toEqual([]);
  await context.setOffline(false);
});

test('a loaded model cannot be deleted from another tab; in its own tab Delete unloads it first', async ({ page }) => {
  await openApp(page);
  await downloadPack(page);
  await page.getByTestId('stored-load').click();
  await expect(page.getByTestId('model-summary')).toContainText('ready', { timeout: RUN_TIMEOUT_MS });
  // a second tab that does not load the model by itself (the first tab's choice is saved)
  const b = await page.context().newPage();
  await b.addInitScript(() => localStorage.removeItem('kleinbild-last-model'));
  await openApp(b);
  await expect(b.getByTestId('stored-delete')).toBeDisabled();
  await expect(b.getByTestId('stored-delete-reason')).toHaveText('Loaded in another tab: load another model there or close that tab to delete it.');
  // the loaded tab can still generate: the token embedding rows are read from the store now
  await page.getByTestId('width').fill('64');
  await page.getByTestId('height').fill('64');
  await page.getByTestId('steps').fill('1');
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('output-canvas')).toBeVisible({ timeout: RUN_TIMEOUT_MS });
  // in its own tab: Delete says it unloads first, then the model is gone and the other tab sees it
  await page.getByTestId('model-summary').click();
  await page.getByTestId('stored-delete').click();
  await expect(page.getByTestId('stored-models')).toContainText('Unload and delete');
  await page.getByTestId('stored-delete-confirm').click();
  await expect(page.getByTestId('stored-empty')).toBeVisible();
  await expect(page.getByTestId('model-summary')).toContainText('none loaded');
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  await expect(b.getByTestId('stored-empty')).toBeVisible();
  expect(await countRecords(page)).toEqual({ models: 0, chunks: 0, files: 0, manifests: 0 });
});
