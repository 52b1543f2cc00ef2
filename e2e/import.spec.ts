/**
 * Importing a model folder from disk into the browser's store (src/ui/FolderImport.tsx,
 * src/store/importFolder.ts) in Chromium, with the network switched off: the q4 pack PACK_A (made by
 * `npm run pack` in globalSetup) through the directory picker; the golden diffusers folder model-a
 * dropped onto the panel (a real drag of a directory, through the DevTools protocol) and converted
 * to q4 on the way; a folder without a model; an interrupted import finished by choosing the folder
 * again. No test here generates an image (store.spec.ts does, from the store, offline).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, expect, test } from '@playwright/test';
import type { PackManifest } from '../src/weights/packFormat';
import { formatBytes } from '../src/ui/format';
import { GOLDEN_DIR, HUB_URL } from './env';
import { openModelPanels } from './app';
import { ensurePack } from './globalSetup';
import { servedLog } from './hubServer';
import { badStoredChunks, countRecords, storedChunkPaths } from './storeDb';

/** Copying the 20 MB pack or converting the 37 MB golden folder: seconds; slack for 2 busy cores. */
const IMPORT_TIMEOUT_MS = 120_000;

let packDir: string;
let manifest: PackManifest;
let packTotal = 0;

test.beforeAll(async () => {
  packDir = await ensurePack();
  manifest = JSON.parse(await readFile(join(packDir, 'kleinbild-pack.json'), 'utf8')) as PackManifest;
  packTotal = manifest.totalBytes + manifest.files.reduce((s, f) => s + f.bytes, 0);
});

/** Opens the app, waits for the worker, then cuts the network: an import must not need it. */
async function openOffline(page: Page, context: BrowserContext): Promise<void> {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  await servedLog(HUB_URL, true);
  await context.setOffline(true);
}

const storedModel = (page: Page) => page.getByTestId('stored-model');

async function waitComplete(page: Page): Promise<void> {
  await expect(storedModel(page)).toHaveAttribute('data-state', 'complete', { timeout: IMPORT_TIMEOUT_MS });
  await expect(page.getByTestId('model-download-progress')).toBeHidden();
}


const wanted = (m: PackManifest) => Object.fromEntries(m.chunks.map((c) => [c.path, { sha256: c.sha256, bytes: c.bytes }]));

test('a pack folder chosen with the directory picker is imported offline, verified, and loads', async ({ page, context }) => {
  await openOffline(page, context);
  await page.getByTestId('model-import-input').setInputFiles(packDir);
  const plan = page.getByTestId('model-import-plan');
  await expect(plan).toContainText(`${manifest.name}: a Kleinbild pack (4-bit) from folder`);
  await expect(plan).toContainText(`${formatBytes(packTotal)} to store`);
  await expect(page.getByTestId('model-import-quant')).toHaveCount(0); // a pack keeps its own quant
  await page.getByTestId('model-import-start').click();
  await waitComplete(page);
  await expect(storedModel(page)).toContainText(manifest.name);
  await expect(page.getByTestId('storage-notice')).toContainText(`${manifest.name} is stored`);
  expect(await countRecords(page)).toEqual({ models: 1, chunks: manifest.chunks.length, files: manifest.files.length, manifests: 1 });
  expect(await badStoredChunks(page, wanted(manifest))).toEqual([]);

  await page.getByTestId('stored-load').click();
  await expect(page.getByTestId('model-info')).toContainText('store:', { timeout: IMPORT_TIMEOUT_MS });
  await expect(page.getByTestId('error-message')).toHaveCount(0);
  expect(await servedLog(HUB_URL)).toEqual([]);
});

/**
 * Drags `dir` from "the desktop" onto `target` as the operating system would: Chromium turns the
 * DevTools protocol's file list into a real drop whose item is a directory entry.
 */
async function dropFolder(page: Page, target: string, dir: string): Promise<void> {
  await page.getByTestId(target).scrollIntoViewIfNeeded(); // the protocol's x, y are viewport coordinates
  const box = await page.getByTestId(target).boundingBox();
  if (!box) throw new Error(`${target} is not visible`);
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: [dir], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  await cdp.detach();
}

test('a dropped diffusers folder is converted to q4 offline, byte-identical to the pack CLI', async ({ page, context }) => {
  await openOffline(page, context);
  await dropFolder(page, 'model-import', join(GOLDEN_DIR, 'model-a'));
  const plan = page.getByTestId('model-import-plan');
  await expect(plan).toContainText('model-a · q4: a diffusers model from folder model-a, converted to 4-bit while importing');
  // 8-bit is bigger: the size follows the choice
  await page.getByTestId('model-import-quant').selectOption('q8');
  await expect(plan).toContainText('model-a · q8');
  const q8 = await plan.textContent();
  await page.getByTestId('model-import-quant').selectOption('q4');
  await expect(plan).toContainText(`${formatBytes(packTotal)} to store`);
  expect(q8).not.toContain(`${formatBytes(packTotal)} to store`);
  await page.getByTestId('model-import-start').click();
  await waitComplete(page);
  // the app's 32 MiB chunks hold the whole weight space in one chunk: the CLI pack's chunks in a row
  const whole = Buffer.concat(await Promise.all(manifest.chunks.map((c) => readFile(join(packDir, c.path)))));
  const want = createHash('sha256').update(whole).digest('hex');
  expect(await badStoredChunks(page, { 'chunks/00000.bin': { sha256: want, bytes: whole.length } })).toEqual([]);
  expect(await storedChunkPaths(page)).toEqual(['chunks/00000.bin']);
  expect(await servedLog(HUB_URL)).toEqual([]);
});

test('a folder without a model is refused with what a model folder holds; nothing is stored', async ({ page, context }) => {
  const dir = await mkdtemp(join(tmpdir(), 'kleinbild-not-a-model-'));
  try {
    await writeFile(join(dir, 'notes.txt'), 'not a model');
    await writeFile(join(dir, 'config.json'), '{}');
    await openOffline(page, context);
    await page.getByTestId('model-import-input').setInputFiles(dir);
    await expect(page.getByTestId('model-import-plan')).toContainText('Cannot import that folder: No model in the 2 picked files');
    await expect(page.getByTestId('model-import-plan')).toContainText('kleinbild-pack.json');
    await expect(page.getByTestId('model-import-start')).toBeDisabled();
    expect(await countRecords(page)).toEqual({ models: 0, chunks: 0, files: 0, manifests: 0 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Deletes the manifest and the first `n` chunks of the only stored model: an import cut short. */
function cutShort(page: Page, n: number): Promise<void> {
  return page.evaluate(async (n) => {
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      const r = indexedDB.open('kleinbild-models');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const tx = db.transaction(['manifests', 'chunks'], 'readwrite');
    tx.objectStore('manifests').clear();
    const chunks = tx.objectStore('chunks');
    const keys = await new Promise<IDBValidKey[]>((ok) => {
      const r = chunks.getAllKeys(null, n);
      r.onsuccess = () => ok(r.result);
    });
    for (const k of keys) chunks.delete(k);
    await new Promise((ok, fail) => {
      tx.oncomplete = ok;
      tx.onerror = () => fail(tx.error);
    });
    db.close();
  }, n);
}

test('an import cut short shows as partial and finishes when the same folder is chosen again', async ({ page, context }) => {
  await openOffline(page, context);
  await page.getByTestId('model-import-input').setInputFiles(packDir);
  await page.getByTestId('model-import-start').click();
  await waitComplete(page);
  const lost = 10;
  await cutShort(page, lost);
  await context.setOffline(false); // the reload fetches the app (the service worker may not control it yet)
  await page.reload();
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  await context.setOffline(true);
  await expect(storedModel(page)).toHaveAttribute('data-state', 'partial');
  // a local import cannot resume from the network: the panel asks for the folder instead
  await expect(page.getByTestId('stored-resume')).toHaveCount(0);
  await expect(page.getByTestId('stored-status')).toContainText('choose the folder');
  const lostBytes = manifest.chunks.slice(0, lost).reduce((s, c) => s + c.bytes, 0);
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('stored-choose-folder').click()]);
  await chooser.setFiles(packDir);
  await expect(page.getByTestId('model-import-plan')).toContainText(`${formatBytes(lostBytes)} left of ${formatBytes(packTotal)}`);
  await page.getByTestId('model-import-start').click();
  await waitComplete(page);
  expect(await countRecords(page)).toEqual({ models: 1, chunks: manifest.chunks.length, files: manifest.files.length, manifests: 1 });
  expect(await badStoredChunks(page, wanted(manifest))).toEqual([]);
});
