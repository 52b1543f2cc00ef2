/**
 * The safety checker in the browser (src/safety/browser, src/ui/safety): transformers.js on ONNX
 * Runtime Web in its own worker (device auto: WebGPU, which SwiftShader offers; then WASM, chosen in the panel), with the test classifier (test/fixtures/safety-classifier,
 * served by hubServer.ts as /safety-classifier). The tiny golden model's image is dull grey-green,
 * which the fixture scores `normal` ≈ 1: flagging the label `normal` makes every image flagged.
 * App: blur (shown blurred, not in the history), block (a notice only), off (saved as usual), all
 * in one page with one model load; each 64×64 image takes 1–3 minutes on SwiftShader. The cost per
 * check (the worker's wall time) is printed. The classifier's files are fetched
 * once into the model store (IndexedDB `kleinbild-models`, store `classifierFiles`, keyed by URL;
 * no Cache Storage `transformers-cache`): a later load, with its host unreachable, comes from there.
 */
import { expect, test, type Page } from '@playwright/test';
import { HUB_URL } from './env';
import { expectModelReady, openModelPanels } from './app';
import { SAFETY_CLASSIFIER, servedLog } from './hubServer';

const RUN_TIMEOUT_MS = 480_000;
export const SAFETY_MODEL_URL = `${HUB_URL}/${SAFETY_CLASSIFIER}`;

/** Collects the app's `Safety check: <ms> ms …` and load lines from the console. */
export function safetyLog(page: Page): { checks: number[]; lines: string[] } {
  const log = { checks: [] as number[], lines: [] as string[] };
  page.on('console', (m) => {
    const t = m.text();
    if (m.type() === 'error') console.log(`[browser] ${t}`);
    if (!t.startsWith('Safety')) return;
    log.lines.push(t);
    const ms = /^Safety check: ([\d.]+) ms/.exec(t);
    if (ms) log.checks.push(Number(ms[1]));
  });
  return log;
}

async function setSafety(page: Page, action: 'off' | 'blur' | 'block', device: 'auto' | 'wasm' = 'auto'): Promise<void> {
  const panel = page.getByTestId('safety-panel');
  if (!(await panel.evaluate((e) => (e as HTMLDetailsElement).open))) await panel.locator(':scope > summary').click();
  await page.getByTestId('safety-action').selectOption(action);
  await page.getByTestId('safety-model').fill(SAFETY_MODEL_URL);
  await page.getByTestId('safety-labels').fill('normal');
  await page.getByTestId('safety-threshold').fill('0.5');
  await page.getByTestId('safety-device').selectOption(device);
  await page.getByTestId('safety-apply').click();
  await expect(page.getByTestId('safety-error')).toHaveCount(0);
  await expect(panel.locator(':scope > summary')).toHaveText(`Safety checker · ${action}`);
}

async function generate(page: Page, seed: number): Promise<void> {
  await page.getByTestId('seed').fill(String(seed));
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeVisible();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
}

test('app: the safety setting is off by default, refuses a bad threshold, and blur, block and off act on a flagged image', async ({ page }) => {
  const log = safetyLog(page);
  await servedLog(HUB_URL, true); // forget earlier specs' requests
  await page.goto('/');
  await expect(page.getByTestId('safety-panel').locator(':scope > summary')).toHaveText('Safety checker · off');
  await page.getByTestId('safety-panel').locator(':scope > summary').click();
  await page.getByTestId('safety-action').selectOption('block');
  await page.getByTestId('safety-threshold').fill('1.5');
  await page.getByTestId('safety-apply').click();
  await expect(page.getByTestId('safety-error')).toHaveText('safety threshold must be a number from 0 to 1 (a softmax score), got 1.5');

  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, RUN_TIMEOUT_MS);
  await page.getByTestId('prompt').fill('A red balloon on a wooden table');
  await page.getByTestId('width').fill('64');
  await page.getByTestId('height').fill('64');
  await page.getByTestId('steps').fill('2');

  // blur: shown blurred with a notice, never stored; no live previews while the checker is on
  await setSafety(page, 'blur');
  await generate(page, 11);
  await expect(page.getByRole('alert')).toBeEmpty();
  await expect(page.getByTestId('notice')).toHaveText(/^Image #1 was flagged by the safety checker \(normal [01]\.\d{4}, nsfw 0\.\d{4}\): it is shown blurred and not saved to the history\.$/);
  const canvas = page.getByTestId('output-canvas');
  await expect(canvas).toHaveAttribute('data-rendered', '64x64:11');
  await expect(canvas).toHaveAttribute('data-flagged', 'true');
  await expect(page.getByTestId('safety-flagged')).toBeVisible();
  await expect(page.getByTestId('canvas-frame')).not.toHaveAttribute('data-preview-frames');
  await expect(page.getByTestId('safety-state')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('safety-state')).toHaveAttribute('data-device', 'webgpu'); // auto, and SwiftShader offers WebGPU
  // blurred: 16 blocks of one colour each (6×6 pixels and smaller) instead of 64×64 pixels
  const distinct = await canvas.evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
    const s = new Set<number>();
    for (let i = 0; i < d.length; i += 4) s.add(((d[i] as number) << 16) | ((d[i + 1] as number) << 8) | (d[i + 2] as number));
    return s.size;
  });
  expect(distinct).toBeLessThanOrEqual(144);
  await expect(page.getByTestId('history-empty')).toBeVisible();

  // block, on WASM: a notice only; the shown image stays the blurred #1. The classifier loads again (a new
  // setting) with its host unreachable: from the model store.
  const fixtureGets = (await servedLog(HUB_URL)).filter((r) => r.path.startsWith(`${SAFETY_CLASSIFIER}/`));
  // (transformers.js may ask twice for a file during one load: preprocessor_config.json, in parallel)
  expect([...new Set(fixtureGets.map((r) => r.path))].sort()).toEqual([`${SAFETY_CLASSIFIER}/config.json`, `${SAFETY_CLASSIFIER}/onnx/model.onnx`, `${SAFETY_CLASSIFIER}/preprocessor_config.json`]);
  const aborted: string[] = [];
  await page.route((url) => url.pathname.startsWith(`/${SAFETY_CLASSIFIER}/`), (route) => {
    aborted.push(new URL(route.request().url()).pathname);
    return route.abort('internetdisconnected');
  });
  await setSafety(page, 'block', 'wasm');
  await expect(page.getByTestId('safety-state')).toHaveAttribute('data-state', 'ready');
  await expect(page.getByTestId('safety-state')).toHaveAttribute('data-device', 'wasm');
  console.log(`safety (app): requests that found the classifier's host unreachable: ${aborted.join(', ') || 'none'}`);
  await generate(page, 12);
  await expect(page.getByTestId('notice')).toHaveText(/^Image #2 was blocked by the safety checker \(normal [01]\.\d{4}, nsfw 0\.\d{4}\)\.$/);
  await expect(canvas).toHaveAttribute('data-rendered', '64x64:11');
  await expect(page.getByTestId('history-empty')).toBeVisible();

  // off: nothing runs, the image is shown and saved
  await setSafety(page, 'off');
  await generate(page, 13);
  await expect(canvas).toHaveAttribute('data-rendered', '64x64:13');
  await expect(canvas).not.toHaveAttribute('data-flagged');
  await expect(page.getByTestId('history-item')).toHaveCount(1);
  await expect(page.getByTestId('safety-state')).toHaveAttribute('data-state', 'off');

  // still only #13 after a reload: the flagged images never reached IndexedDB
  await page.reload();
  await expect(page.getByTestId('history-item')).toHaveCount(1);
  expect(log.checks).toHaveLength(2);
  console.log(`safety (app): ${log.lines.join(' | ')}`);
  console.log(`safety cost per 64×64 image in Chromium (WebGPU on SwiftShader, then WASM with 1 thread): ${log.checks.map((ms) => `${ms.toFixed(1)} ms`).join(', ')}`);
});

test('app: after one use the checker loads offline (its worker and ONNX Runtime from the service worker, the model from the model store)', async ({ page, context }) => {
  const log = safetyLog(page);
  await page.goto('/');
  expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL)).toMatch(/\/sw\.js$/);
  await page.reload(); // controlled by the service worker from here
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toMatch(/\/sw\.js$/);
  // what an earlier version left: transformers.js' Cache Storage with a classifier file in it
  await page.evaluate(async () => (await caches.open('transformers-cache')).put(`${location.origin}/old/config.json`, new Response('{}')));
  expect(await page.evaluate(() => caches.has('transformers-cache'))).toBe(true);
  await setSafety(page, 'block');
  const state = page.getByTestId('safety-state');
  await expect(state).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  const cached = await page.evaluate(async () => (await (await caches.open('kleinbild-safety-runtime')).keys()).map((r) => new URL(r.url).pathname).sort());
  expect(cached).toHaveLength(3);
  expect(cached).toEqual(expect.arrayContaining([
    expect.stringMatching(/^\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.mjs$/),
    expect.stringMatching(/^\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/),
    expect.stringMatching(/^\/assets\/safetyWorker-[\w-]+\.js$/),
  ]));
  // the classifier's files: in the model store (IndexedDB kleinbild-models, store classifierFiles), not in Cache Storage
  const stored = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('kleinbild-models');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const records = await new Promise<{ url: string; size: number; bytes: ArrayBuffer }[]>((resolve, reject) => {
        const req = db.transaction('classifierFiles').objectStore('classifierFiles').getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      return records.map((r) => ({ url: r.url, size: r.size, bytes: r.bytes.byteLength })).sort((a, b) => (a.url < b.url ? -1 : 1));
    } finally {
      db.close();
    }
  });
  expect(stored.map((f) => f.url)).toEqual([`${SAFETY_MODEL_URL}/config.json`, `${SAFETY_MODEL_URL}/onnx/model.onnx`, `${SAFETY_MODEL_URL}/preprocessor_config.json`]);
  expect(stored.find((f) => f.url.endsWith('/onnx/model.onnx'))).toEqual({ url: `${SAFETY_MODEL_URL}/onnx/model.onnx`, size: 457, bytes: 457 });
  for (const f of stored) {
    expect(f.size, f.url).toBe(f.bytes);
    expect(f.bytes, f.url).toBeGreaterThan(0);
  }
  // the earlier version's Cache Storage is deleted when the worker starts
  await expect.poll(() => page.evaluate(() => caches.has('transformers-cache'))).toBe(false);

  await context.setOffline(true);
  await page.reload();
  await expect(page.getByTestId('safety-panel').locator(':scope > summary')).toHaveText('Safety checker · block'); // the saved setting
  await expect(state).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  console.log(`safety (offline): ${log.lines.filter((l) => l.includes('loaded')).join(' | ')}`);

  // the panel shows what is stored and deletes it; offline, the next load then fails and says why
  await page.getByTestId('safety-panel').locator(':scope > summary').click();
  const storedLine = page.getByTestId('safety-stored');
  await expect(storedLine).toHaveAttribute('data-bytes', String(stored.reduce((sum, f) => sum + f.size, 0)));
  await page.getByTestId('safety-delete-stored').click();
  await expect(storedLine).toHaveCount(0);
  await page.reload();
  await expect(state).toHaveAttribute('data-state', 'failed', { timeout: 60_000 });
  await expect(state).toContainText('the network could not be reached');
});
