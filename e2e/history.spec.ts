/**
 * The history (src/ui/history) in Chromium with its real IndexedDB. One generation of the tiny
 * model: a save past a (CDP-lowered) storage quota is reported while the image stays shown, Retry
 * stores it, it survives a reload, Reopen parameters fills the form, Export all downloads a real
 * zip, Delete removes it for good. Without generating: entries written straight into the
 * database show newest first, the dialog works from the keyboard, a second tab follows deletes
 * and Undo, and Delete all asks first.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { decode } from 'fast-png';
import { strFromU8, unzipSync } from 'fflate';
import { EXPORT_JSON, type HistoryExport } from '../src/ui/history/files';
import { HISTORY_DB, type HistoryEntry } from '../src/ui/history/store';
import { APP_URL, HUB_URL } from './env';
import { expectModelReady, openModelPanels } from './app';

/** One 64×64 generation on SwiftShader takes 1–3 minutes on 2 cores (the first run compiles the shaders). */
const RUN_TIMEOUT_MS = 480_000;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The unzipped export that `click` downloads. */
async function exportZip(page: Page): Promise<{ files: Record<string, Uint8Array>; json: HistoryExport; name: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('history-export').click()]);
  const files = unzipSync(await readFile(await download.path()));
  const json = JSON.parse(strFromU8(files[EXPORT_JSON] ?? new Uint8Array())) as HistoryExport;
  return { files, json, name: download.suggestedFilename() };
}

function items(page: Page) {
  return page.getByTestId('history-item');
}

test('a generated image is saved (after a quota error and Retry), survives reload, reopens, exports and deletes', async ({ page }) => {
  const prompt = 'Ein Ballon über dem Tisch ✓';
  const seed = 4242;
  await page.goto('/');
  await expect(page.getByTestId('history-empty')).toBeVisible();
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, RUN_TIMEOUT_MS);

  // Lower the origin's quota to 1 KiB so that storing the image fails for real with QuotaExceededError.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: APP_URL, quotaSize: 1024 });

  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('width').fill('64');
  await page.getByTestId('height').fill('64');
  await page.getByTestId('steps').fill('2');
  await page.getByTestId('seed').fill(String(seed));
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
  await expect(page.getByRole('alert')).toBeEmpty();

  const saveError = page.getByTestId('history-save-error');
  await expect(saveError).toContainText(`Could not save image #1 (seed ${seed}) to the history: QuotaExceededError`);
  await expect(page.getByTestId('output-canvas')).toHaveAttribute('data-rendered', `64x64:${seed}`);
  await expect(page.getByTestId('output-canvas')).toBeVisible();
  await expect(page.getByTestId('history-empty')).toBeVisible();

  await cdp.send('Storage.overrideQuotaForOrigin', { origin: APP_URL }); // back to the default quota
  await page.getByTestId('history-retry').click();
  await expect(saveError).toBeHidden();
  await expect(items(page)).toHaveCount(1);
  await expect(items(page).first().getByRole('img')).toHaveAttribute('alt', prompt);

  // History survives reload; the thumbnail is the 64×64 image, not enlarged.
  await page.reload();
  await expect(items(page)).toHaveCount(1);
  const thumb = items(page).first().getByRole('img', { name: prompt });
  await expect(thumb).toHaveJSProperty('naturalWidth', 64);
  await expect(page.getByTestId('history-count')).toHaveText('(1)');

  // Reopen parameters replaces whatever the form holds.
  await page.getByTestId('prompt').fill('something else');
  await page.getByTestId('width').fill('128');
  await page.getByTestId('steps').fill('4');
  await page.getByTestId('seed').fill('1');
  await items(page).first().click();
  await expect(page.getByTestId('history-prompt')).toHaveText(prompt);
  await expect(page.getByTestId('history-full')).toHaveJSProperty('naturalWidth', 64);
  await page.getByTestId('history-reopen').click();
  await expect(page.getByTestId('history-dialog')).toBeHidden();
  await expect(page.getByTestId('prompt')).toHaveValue(prompt);
  await expect(page.getByTestId('width')).toHaveValue('64');
  await expect(page.getByTestId('height')).toHaveValue('64');
  await expect(page.getByTestId('steps')).toHaveValue('2');
  await expect(page.getByTestId('seed')).toHaveValue(String(seed));

  // Export all: the PNG (with its text chunks) and history.json with the parameters.
  const zip = await exportZip(page);
  expect(zip.name).toMatch(/^kleinbild-history-\d{8}-\d{6}\.zip$/);
  expect(zip.json.entries).toHaveLength(1);
  const [entry] = zip.json.entries;
  expect(entry).toMatchObject({ prompt, seed, width: 64, height: 64, steps: 2, model: `${HUB_URL}/model-a`, referenceCount: 0 });
  expect(entry?.timings.stepMs).toHaveLength(2);
  expect(Object.keys(zip.files).sort()).toEqual([EXPORT_JSON, entry?.file].sort());
  const png = zip.files[entry?.file ?? ''] ?? new Uint8Array();
  expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  const decoded = decode(png);
  expect([decoded.width, decoded.height]).toEqual([64, 64]);
  expect(decoded.text.seed).toBe(String(seed));

  // Delete: gone now and after a reload.
  await items(page).first().click();
  await page.getByTestId('history-delete').click();
  await expect(page.getByTestId('history-empty')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('history-empty')).toBeVisible();
  await expect(page.getByTestId('history-export')).toBeDisabled();
});

/** Three entries in the history database as the store writes them, with PNG and JPEG images drawn in the page. */
async function seedEntries(page: Page, entries: HistoryEntry[]): Promise<void> {
  await page.evaluate(
    async ({ db: name, entries: list }) => {
      const image = async (e: { width: number; height: number; seed: number }, type: string) => {
        const canvas = new OffscreenCanvas(e.width, e.height);
        const ctx = canvas.getContext('2d');
        if (!ctx) throw new Error('no 2d context');
        ctx.fillStyle = `hsl(${e.seed * 90} 70% 50%)`;
        ctx.fillRect(0, 0, e.width, e.height);
        return canvas.convertToBlob({ type });
      };
      const blobs = await Promise.all(list.map(async (e) => [await image(e, 'image/png'), await image(e, 'image/jpeg')] as const));
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const tx = db.transaction(['entries', 'png', 'thumbnail'], 'readwrite');
      list.forEach((e, i) => {
        const [png, thumbnail] = blobs[i] as readonly [Blob, Blob];
        tx.objectStore('entries').put(e);
        tx.objectStore('png').put(png, e.id);
        tx.objectStore('thumbnail').put(thumbnail, e.id);
      });
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    },
    { db: HISTORY_DB, entries },
  );
}

test('stored entries list newest first, open from the keyboard, follow another tab, and Delete all asks first', async ({ page, context }) => {
  const base = { steps: 4, model: 'test', referenceCount: 0, timings: { encodeMs: 1, stepMs: [1], decodeMs: 1, totalMs: 3 } };
  const t = Date.now() - 60_000;
  await page.goto('/');
  await expect(page.getByTestId('history-empty')).toBeVisible(); // the app created the database
  await seedEntries(page, [
    { ...base, id: 'first', createdAt: t, prompt: 'first', width: 64, height: 64, seed: 1 },
    { ...base, id: 'third', createdAt: t + 2000, prompt: 'third', width: 64, height: 128, seed: 3 },
    { ...base, id: 'second', createdAt: t + 1000, prompt: 'second', width: 128, height: 64, seed: 2 },
  ]);
  await page.reload();
  await expect(items(page).getByRole('img')).toHaveCount(3);
  await expect.poll(() => items(page).evaluateAll((els) => els.map((el) => el.getAttribute('data-id')))).toEqual(['third', 'second', 'first']);
  await expect.poll(() => items(page).getByRole('img').evaluateAll((els) => els.map((el) => el.getAttribute('alt')))).toEqual(['third', 'second', 'first']);

  // Keyboard: focus the first thumbnail, Enter opens the dialog, Escape closes it.
  await items(page).first().focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('history-dialog')).toBeVisible();
  await expect(page.getByTestId('history-prompt')).toHaveText('third');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('history-download').click()]);
  expect(download.suggestedFilename()).toMatch(/^kleinbild-\d{8}-\d{6}-3\.png$/);
  expect(decode(await readFile(await download.path())).height).toBe(128);
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('history-dialog')).toBeHidden();

  const zip = await exportZip(page);
  expect(zip.json.entries.map((e) => [e.id, e.seed])).toEqual([['third', 3], ['second', 2], ['first', 1]]);
  for (const e of zip.json.entries) {
    const png = zip.files[e.file] ?? new Uint8Array();
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    const decoded = decode(png);
    expect([decoded.width, decoded.height]).toEqual([e.width, e.height]);
  }

  // A second tab follows deletes and Undo without reloading (BroadcastChannel).
  const other = await context.newPage();
  await other.goto('/');
  await expect(items(other)).toHaveCount(3);
  await items(page).nth(1).click();
  await expect(page.getByTestId('history-prompt')).toHaveText('second');
  await page.getByTestId('history-delete').click();
  await expect(page.getByTestId('history-dialog')).toBeHidden();
  await expect(items(page)).toHaveCount(2);
  await expect(items(other)).toHaveCount(2);
  await page.getByTestId('history-undo').click();
  await expect(items(page)).toHaveCount(3);
  await expect(items(other)).toHaveCount(3);
  await expect.poll(() => items(other).evaluateAll((els) => els.map((el) => el.getAttribute('data-id')))).toEqual(['third', 'second', 'first']);

  await page.getByTestId('history-delete-all').click();
  await expect(page.getByTestId('history-confirm')).toContainText('Delete all 3 images');
  await page.getByTestId('history-confirm-keep').click();
  await expect(page.getByTestId('history-confirm')).toBeHidden();
  await expect(items(page)).toHaveCount(3);
  await page.getByTestId('history-delete-all').click();
  await page.getByTestId('history-confirm-delete').click();
  await expect(page.getByTestId('history-empty')).toBeVisible();
  await expect(other.getByTestId('history-empty')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('history-empty')).toBeVisible();
});
