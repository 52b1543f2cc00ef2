/**
 * The VAE encoder is fetched when editing is first used (src/store/deferred.ts): a download of the q4
 * pack of model-a (141 chunks of 64 KiB) from the hub-like server stores every chunk but those that
 * hold only the encoder (packFormat.ts encoderOnlyChunks), the Storage panel says how much is left for
 * the first edit, and Load reads nothing from the network. The first generation with a reference,
 * offline, fails with a message saying what is needed and changes nothing in the store; online again,
 * the same request fetches the encoder's chunks exactly once, stores them (manifest updated) and
 * makes the image. One generation: with a reference, about a minute on SwiftShader.
 */
import { join } from 'node:path';
import { type Page, expect, test } from '@playwright/test';
import { formatBytes } from '../src/ui/format';
import { type PackManifest, encoderOnlyChunks } from '../src/weights/packFormat';
import { GOLDEN_DIR, HUB_URL, PACK_A } from './env';
import { openModelPanels } from './app';
import { type Served, clearFaults, servedLog, chunkTraffic as packTraffic } from './hubServer';
import { badStoredChunks, countRecords, storedChunkPaths, storedManifests } from './storeDb';

const PACK_URL = `${HUB_URL}/${PACK_A.name}`;
const CHUNKS = `${PACK_A.name}/chunks/`;
const REFERENCE = join(GOLDEN_DIR, 'cases', 'edit-1ref', 'ref0.png');
const DOWNLOAD_TIMEOUT_MS = 120_000;
/** Load plus one 64×64 one-step generation with a reference on SwiftShader (~1 min on 2 cores). */
const RUN_TIMEOUT_MS = 480_000;

/** Chunk GETs of PACK_A in a served log: path → body bytes sent and request count. */
const chunkTraffic = (log: readonly Served[]) => packTraffic(log, PACK_A.name);

async function generate(page: Page): Promise<void> {
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
}

test('the VAE encoder is left out of the download and fetched once, on the first generation with a reference', async ({ page, context }) => {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  const manifest = (await (await fetch(`${PACK_URL}/kleinbild-pack.json`)).json()) as PackManifest;
  const deferred = encoderOnlyChunks(manifest).map((i) => manifest.chunks[i] as PackManifest['chunks'][number]);
  const deferredBytes = deferred.reduce((n, c) => n + c.bytes, 0);
  const deferredPaths = deferred.map((c) => c.path);
  expect(deferred.length).toBeGreaterThan(0);
  console.log(`pack-a: ${deferred.length} of ${manifest.chunks.length} chunks (${deferredBytes} of ${manifest.totalBytes} weight bytes) hold only the VAE encoder`);
  await clearFaults(HUB_URL);
  await servedLog(HUB_URL, true);

  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  await page.getByTestId('model-choice-custom').check();
  await page.getByTestId('model-download-source').fill(PACK_URL);
  await expect(page.getByTestId('model-download-button')).toBeEnabled();
  const t0 = Date.now();
  await page.getByTestId('model-download-button').click();
  await expect(page.getByTestId('stored-model')).toHaveAttribute('data-state', 'complete', { timeout: DOWNLOAD_TIMEOUT_MS });
  const tDownload = Date.now() - t0;
  await expect(page.getByTestId('stored-status')).toHaveText(`Stored: loads offline; the VAE encoder for editing (${formatBytes(deferredBytes)}) downloads when first used.`);
  const downloaded = chunkTraffic(await servedLog(HUB_URL, true));
  expect(deferredPaths.filter((p) => downloaded.has(p))).toEqual([]);
  expect(downloaded.size).toBe(manifest.chunks.length - deferred.length);
  expect(await countRecords(page)).toEqual({ models: 1, chunks: manifest.chunks.length - deferred.length, files: manifest.files.length, manifests: 1 });
  const [record] = await storedManifests(page);
  expect(record?.deferred).toEqual(deferredPaths);
  // a copied pack keeps the source manifest's hashes of the deferred chunks
  for (const c of deferred) expect(record?.sha256[c.path]).toBe(c.sha256);

  // Load reads the stored chunks only: nothing from the network
  await page.getByTestId('stored-load').click();
  await expect(page.getByTestId('model-info')).toContainText('store:', { timeout: RUN_TIMEOUT_MS });
  expect(chunkTraffic(await servedLog(HUB_URL, true)).size).toBe(0);

  await page.getByTestId('reference-file').setInputFiles(REFERENCE);
  await expect(page.getByTestId('reference-size')).toHaveText('88×72 → 80×64');
  await page.getByTestId('prompt').fill('Turn the square into a glossy red balloon.');
  await page.getByTestId('width').fill('64');
  await page.getByTestId('height').fill('64');
  await page.getByTestId('steps').fill('1');

  // offline: a clear message, nothing fetched, nothing written
  await context.setOffline(true);
  const t1 = Date.now();
  await generate(page);
  const tOffline = Date.now() - t1;
  await expect(page.getByTestId('error-name')).toHaveText('(InvalidInput)');
  await expect(page.getByTestId('error-message')).toContainText(`Editing needs the VAE encoder of ${manifest.name} (${formatBytes(deferredBytes)}), which is downloaded the first time a reference image is used`);
  await expect(page.getByTestId('error-message')).toContainText('connect to the network and try again');
  console.log(`offline: ${await page.getByTestId('error-message').textContent()}`);
  await context.setOffline(false);
  expect((await storedManifests(page))[0]?.deferred).toEqual(deferredPaths);
  expect((await countRecords(page)).chunks).toBe(manifest.chunks.length - deferred.length);
  expect(chunkTraffic(await servedLog(HUB_URL, true)).size).toBe(0);

  // online: the same request fetches exactly the encoder's chunks, once each, and makes the image
  const t2 = Date.now();
  await generate(page);
  const tEdit = Date.now() - t2;
  await expect(page.getByTestId('error')).toBeEmpty();
  await expect(page.getByTestId('output-canvas')).toBeVisible();
  const fetched = chunkTraffic(await servedLog(HUB_URL));
  expect([...fetched.keys()].sort()).toEqual([...deferredPaths].sort());
  for (const c of deferred) expect(fetched.get(c.path), c.path).toEqual({ bytes: c.bytes, requests: 1 });
  expect((await storedChunkPaths(page)).length).toBe(manifest.chunks.length);
  expect(await badStoredChunks(page, Object.fromEntries(manifest.chunks.map((c) => [c.path, c])))).toEqual([]);
  const after = (await storedManifests(page))[0];
  expect(after?.deferred).toEqual([]);
  for (const c of manifest.chunks) expect(after?.sha256[c.path], c.path).toBe(c.sha256);
  await expect(page.getByTestId('stored-status')).toHaveText('Stored: loads offline.');
  console.log(
    `lazy encoder: download ${(tDownload / 1000).toFixed(1)} s; offline attempt ${(tOffline / 1000).toFixed(1)} s; ` +
      `first edit (fetch ${deferred.length} chunks + generate) ${(tEdit / 1000).toFixed(1)} s`,
  );
});
