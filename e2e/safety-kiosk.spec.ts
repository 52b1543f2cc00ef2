/**
 * The kiosk's safety checker in Chromium (SwiftShader WebGPU for the tiny golden model, the test
 * classifier on ONNX Runtime Web from hubServer.ts's /safety-classifier). The golden
 * image scores `normal` ≈ 1 and `nsfw` ≈ 0: flagging `nsfw` lets it through, flagging `normal`
 * flags it. Block: a friendly notice, no picture, nothing in the gallery. Blur: the picture blurred
 * with the notice, and the attract loop shows only the earlier, unflagged image (not an unchecked
 * one put in the gallery by the test). A classifier that
 * cannot be fetched: no picture is made, the visitor is told the check is out of order. Each 64×64
 * image takes 1–2 minutes. Device auto runs the classifier on WebGPU (SwiftShader offers it); one
 * step asks for WASM.
 */
import { expect, test, type Page } from '@playwright/test';
import { HUB_URL } from './env';
import { SAFETY_CLASSIFIER } from './hubServer';
import { FLAGGED_BLOCK_MESSAGE, FLAGGED_BLUR_MESSAGE, SAFETY_UNAVAILABLE_MESSAGE } from '../src/ui/kiosk/useKioskSession';

const SAFETY_MODEL_URL = `${HUB_URL}/${SAFETY_CLASSIFIER}`;
const SUGGESTIONS = ['A small blue house by the sea', 'A red balloon on a wooden table'];
const IDLE_S = 5;
const CONFIG = {
  title: 'Safety kiosk',
  model: `${HUB_URL}/model-a`,
  width: 64,
  height: 64,
  steps: 2,
  suggestions: SUGGESTIONS,
  idleResetSeconds: IDLE_S,
  attractAfterSeconds: IDLE_S,
  slideSeconds: 1,
  safety: { model: SAFETY_MODEL_URL, flaggedLabels: ['normal'], threshold: 0.5, action: 'block' },
};
const LOAD_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 300_000;

test.use({ serviceWorkers: 'block' });

/** Serves `config` at /e2e-safety.json and opens the kiosk with it; collects the cost of each check. */
async function openKiosk(page: Page, config: object, checks: number[], device: 'webgpu' | 'wasm' | 'failed'): Promise<void> {
  await page.unrouteAll();
  await page.route((url) => url.pathname === '/e2e-safety.json', (route) => route.fulfill({ json: config }));
  await page.goto('/?kiosk=1&config=/e2e-safety.json');
  const kiosk = page.getByTestId('kiosk');
  await expect(kiosk).toHaveAttribute('data-engine', 'ready', { timeout: LOAD_TIMEOUT_MS });
  if (device === 'failed') {
    await expect(kiosk).toHaveAttribute('data-safety', 'failed', { timeout: LOAD_TIMEOUT_MS });
  } else {
    await expect(kiosk).toHaveAttribute('data-safety', 'ready', { timeout: LOAD_TIMEOUT_MS });
    await expect(kiosk).toHaveAttribute('data-safety-device', device);
  }
  await page.getByTestId('kiosk-attract').click().catch(() => undefined); // may not be up yet
}

function collect(page: Page): number[] {
  const checks: number[] = [];
  page.on('console', (m) => {
    const t = m.text();
    if (m.type() === 'error' || t.startsWith('Safety')) console.log(`[browser] ${t}`);
    const ms = /^Safety check: ([\d.]+) ms/.exec(t);
    if (ms) checks.push(Number(ms[1]));
  });
  return checks;
}

async function create(page: Page, chip: number): Promise<void> {
  await page.getByTestId('kiosk-chip').nth(chip).click();
  await page.getByTestId('kiosk-generate').click();
  await expect(page.getByTestId('kiosk-progress')).toBeVisible();
  await expect(page.getByTestId('kiosk-progress')).toHaveCount(0, { timeout: RUN_TIMEOUT_MS });
}

test('kiosk, action block: a flagged picture is replaced by a friendly notice and never reaches the attract loop', async ({ page }) => {
  const checks = collect(page);
  await openKiosk(page, CONFIG, checks, 'webgpu'); // device auto: SwiftShader offers WebGPU
  await create(page, 1);
  await expect(page.getByTestId('kiosk-message')).toHaveText(FLAGGED_BLOCK_MESSAGE);
  await expect(page.getByTestId('kiosk-result')).toHaveCount(0);
  // idle: the session resets and the attract loop has nothing to show but the welcome slide
  await expect(page.getByTestId('kiosk-welcome')).toBeVisible({ timeout: 3 * IDLE_S * 1000 });
  await expect(page.getByTestId('kiosk-attract-image')).toHaveCount(0);
  expect(checks).toHaveLength(1);
  console.log(`safety (kiosk, block): ${checks[0]?.toFixed(1)} ms per 64×64 image`);
});

test('kiosk, action blur: an unflagged picture joins the gallery, a flagged one is shown blurred, and the attract loop shows only pictures that pass the current check', async ({ page }) => {
  const checks = collect(page);
  // 1. flagging nsfw: the golden image passes, is shown sharp and stored
  const flagNsfw = { ...CONFIG, safety: { ...CONFIG.safety, flaggedLabels: ['nsfw'], action: 'blur' } };
  await openKiosk(page, flagNsfw, checks, 'webgpu');
  await create(page, 0);
  await expect(page.getByTestId('kiosk-result')).toHaveAttribute('data-rendered', /^64x64:\d+$/);
  await expect(page.getByTestId('kiosk-result')).not.toHaveAttribute('data-flagged');
  await expect(page.getByTestId('kiosk-message')).toBeEmpty();

  // 1b. an image no checker passed (made while the check was off, say): a copy of #1's entry without
  // its verdict, stored newest. The attract loop must leave it out while the checker is on.
  const firstVerdict = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('kleinbild-history');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const done = (r: IDBRequest) => new Promise<unknown>((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      const tx = db.transaction(['entries', 'png', 'thumbnail'], 'readwrite');
      const [entry] = (await done(tx.objectStore('entries').getAll())) as { id: string; createdAt: number; prompt: string; safety?: unknown }[];
      if (!entry) throw new Error('no gallery entry');
      const { safety, ...unchecked } = entry;
      const png = await done(tx.objectStore('png').get(entry.id));
      const thumbnail = await done(tx.objectStore('thumbnail').get(entry.id));
      await done(tx.objectStore('entries').put({ ...unchecked, id: 'unchecked', prompt: 'An unchecked picture', createdAt: entry.createdAt + 1 }));
      await done(tx.objectStore('png').put(png, 'unchecked'));
      await done(tx.objectStore('thumbnail').put(thumbnail, 'unchecked'));
      return safety as { model: string; scores: Record<string, number> } | undefined;
    } finally {
      db.close();
    }
  });
  expect(firstVerdict?.model).toBe(SAFETY_MODEL_URL);
  expect(firstVerdict?.scores.nsfw).toBeLessThan(0.5);

  // 2. flagging normal: shown blurred with the notice, not stored
  await openKiosk(page, { ...CONFIG, safety: { ...CONFIG.safety, action: 'blur', device: 'wasm' } }, checks, 'wasm');
  await create(page, 1);
  const result = page.getByTestId('kiosk-result');
  await expect(result).toHaveAttribute('data-rendered', /^64x64:\d+$/);
  await expect(result).toHaveAttribute('data-flagged', 'true');
  await expect(result).toHaveAttribute('aria-label', 'A blurred picture');
  await expect(page.getByTestId('kiosk-message')).toHaveText(FLAGGED_BLUR_MESSAGE);
  // idle: the stored scores are judged by today's labels, and #1 (normal ≈ 1) does not pass them now
  await expect(page.getByTestId('kiosk-welcome')).toBeVisible({ timeout: 3 * IDLE_S * 1000 });
  await expect(page.getByTestId('kiosk-attract-image')).toHaveCount(0);

  // 3. back to flagging nsfw: the attract loop cycles (1 s slides) through #1 only, neither the
  // flagged #2 nor the unchecked copy (with two pictures, consecutive slides would differ)
  await openKiosk(page, flagNsfw, checks, 'webgpu');
  const caption = page.getByTestId('kiosk-attract-caption');
  await expect(caption).toHaveText(`“${SUGGESTIONS[0]}”`, { timeout: 3 * IDLE_S * 1000 });
  const captions = new Map<string, string>(); // slide number → caption, read in one go
  await expect.poll(async () => {
    const [slide, text] = await page.evaluate(() => [
      document.querySelector('[data-testid="kiosk-attract"]')?.getAttribute('data-slide') ?? '',
      document.querySelector('[data-testid="kiosk-attract-caption"]')?.textContent ?? '',
    ]);
    captions.set(slide, text);
    return captions.size;
  }, { timeout: 10_000, intervals: [200] }).toBeGreaterThanOrEqual(3);
  expect(new Set(captions.values())).toEqual(new Set([`“${SUGGESTIONS[0]}”`]));
  await expect(page.getByTestId('kiosk-attract-image')).toHaveCount(1);
  expect(checks).toHaveLength(2);
  console.log(`safety (kiosk, blur): ${checks.map((ms) => `${ms.toFixed(1)} ms`).join(', ')} per 64×64 image`);
});

test('kiosk, classifier unreachable: no picture is made, and the visitor is told the picture check is out of order', async ({ page }) => {
  const checks = collect(page);
  // records every text the progress display shows: 'Starting…' until the engine reports a stage
  await page.addInitScript(() => {
    const w = window as unknown as { progressTexts: string[] };
    w.progressTexts = [];
    new MutationObserver(() => {
      const t = document.querySelector('[data-testid="kiosk-progress"]')?.textContent;
      if (t && !w.progressTexts.includes(t)) w.progressTexts.push(t);
    }).observe(document, { childList: true, subtree: true, characterData: true });
  });
  await openKiosk(page, { ...CONFIG, safety: { ...CONFIG.safety, model: `${HUB_URL}/no-such-classifier` } }, checks, 'failed');
  await page.getByTestId('kiosk-chip').nth(0).click();
  await page.getByTestId('kiosk-generate').click();
  await expect(page.getByTestId('kiosk-message')).toHaveText(SAFETY_UNAVAILABLE_MESSAGE);
  await expect(page.getByTestId('kiosk-result')).toHaveCount(0);
  const shown = await page.evaluate(() => (window as unknown as { progressTexts: string[] }).progressTexts);
  expect(shown.every((t) => t.startsWith('Starting'))).toBe(true); // the engine never reported a stage: it did not run
  expect(checks).toHaveLength(0);
});
