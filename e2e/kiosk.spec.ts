/**
 * Kiosk mode (src/ui/kiosk) in Chromium on SwiftShader with the tiny golden model (model-a from
 * the hub-like server). The kiosk configuration is served with page.route() at a same-origin path
 * (`?config=/e2e-kiosk.json`), with the idle reset and the attract loop shortened to 5 s and 2 s
 * slides. One 64×64 image is generated (about a minute); everything else runs without the engine.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { HUB_URL, PACK_A } from './env';
import { openModelPanels } from './app';
import { NO_STORED_MODEL } from '../src/ui/kiosk/config';

const PIN = '2468';
/** The PIN's hash as `npm run kiosk-pin` makes it (src/ui/kiosk/pin.ts): pbkdf2-sha256$iterations$salt$hash. */
function pinHash(pin: string): string {
  const iterations = 600_000; // pin.ts PIN_ITERATIONS, the fewest the kiosk accepts
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(pin, salt, iterations, 32, 'sha256');
  return ['pbkdf2-sha256', iterations, salt.toString('base64'), hash.toString('base64')].join('$');
}
const SUGGESTIONS = ['A small blue house by the sea', 'A red balloon on a wooden table'];
const IDLE_RESET_S = 5;
const CONFIG = {
  $comment: 'e2e/kiosk.spec.ts',
  title: 'Kiosk test',
  model: `${HUB_URL}/model-a`,
  width: 64,
  height: 64,
  steps: 2,
  suggestions: SUGGESTIONS,
  blockedWords: ['forbidden', 'bad word'],
  idleResetSeconds: IDLE_RESET_S,
  attractAfterSeconds: IDLE_RESET_S,
  slideSeconds: 2,
  maxQueued: 2,
  maxQueuedPerVisitor: 1,
  pin: pinHash(PIN),
};
const REFUSAL = "Sorry, that prompt can't be used here. Please try a different idea.";

/** Loading the tiny model takes seconds; one 64×64 image 1–2 minutes on SwiftShader (2 cores). */
const LOAD_TIMEOUT_MS = 120_000;
const RUN_TIMEOUT_MS = 300_000;

// The PWA service worker would fetch the config itself, out of page.route()'s reach.
test.use({ serviceWorkers: 'block' });

/** Answers requests for `path` (exactly; not the page URL whose query names it) with CONFIG. */
async function serveConfig(page: Page, path: string): Promise<void> {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.route((url) => url.pathname === path, (route) => route.fulfill({ json: CONFIG }));
}

test('kiosk: refusal, suggestion chip, one image, then idle reset and attract loop with a shortened timeout', async ({ page }) => {
  await serveConfig(page, '/e2e-kiosk.json');
  await page.goto('/?kiosk=1&config=/e2e-kiosk.json');
  const kiosk = page.getByTestId('kiosk');
  await expect(kiosk).toHaveAttribute('data-engine', 'ready', { timeout: LOAD_TIMEOUT_MS });
  await expect(page.getByRole('heading', { name: 'Kiosk test' })).toBeVisible();
  await expect(page.getByTestId('model-source')).toHaveCount(0); // no model panel or settings

  // Idle with an empty gallery: the welcome slide; a click ends the attract loop.
  const attract = page.getByTestId('kiosk-attract');
  await expect(page.getByTestId('kiosk-welcome')).toBeVisible({ timeout: 15_000 });
  await attract.click();
  await expect(attract).toBeHidden();

  const prompt = page.getByTestId('kiosk-prompt');
  const create = page.getByTestId('kiosk-generate');
  await prompt.fill('A FORBIDDEN castle at night');
  await create.click();
  await expect(page.getByTestId('kiosk-message')).toHaveText(REFUSAL);
  await expect(page.getByTestId('kiosk-progress')).toHaveCount(0);
  await expect(page.getByTestId('kiosk-queue')).toHaveCount(0);

  await page.getByTestId('kiosk-chip').nth(1).click();
  await expect(prompt).toHaveValue(SUGGESTIONS[1] as string);
  await create.click();
  await expect(page.getByTestId('kiosk-message')).toBeEmpty();
  await expect(page.getByTestId('kiosk-progress')).toBeVisible();
  // A second request while the first runs is over this visitor's limit of one.
  await create.click();
  await expect(page.getByTestId('kiosk-message')).toHaveText(/already on its way/);

  // The image takes far longer than the idle timeout: the visitor's own running image holds it.
  const result = page.getByTestId('kiosk-result');
  await expect(result).toHaveAttribute('data-rendered', /^64x64:\d+$/, { timeout: RUN_TIMEOUT_MS });
  const shownAt = Date.now();
  await expect(prompt).toHaveValue(SUGGESTIONS[1] as string);
  await expect(attract).toHaveCount(0);

  // No interaction from here: the session resets (prompt and picture cleared) and the attract
  // loop shows the new gallery image with its prompt.
  await expect(prompt).toHaveValue('', { timeout: 15_000 });
  // Lower bound with slack: expect() polls up to 1 s apart, so shownAt may be late by that much.
  expect(Date.now() - shownAt).toBeGreaterThan((IDLE_RESET_S - 2) * 1000);
  await expect(result).toHaveCount(0);
  await expect(page.getByTestId('kiosk-attract-caption')).toHaveText(`“${SUGGESTIONS[1]}”`);
  const image = page.getByTestId('kiosk-attract-image');
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([64, 64]);
  // Slides advance every 2 s (one image: the same one again).
  const slide = Number(await attract.getAttribute('data-slide'));
  await expect(attract).toHaveAttribute('data-slide', String(slide + 1), { timeout: 5_000 });

  await attract.click();
  await expect(attract).toBeHidden();
  await expect(prompt).toBeVisible();
  await expect(prompt).toHaveValue('');
  await expect(page.getByTestId('kiosk-message')).toBeEmpty();
});

test('kiosk: entered from the app and left with the PIN', async ({ page }) => {
  await serveConfig(page, '/kiosk.json');
  await page.goto('/');
  await page.getByTestId('kiosk-enter').click();
  const dialog = page.getByTestId('pin-dialog');
  await dialog.getByTestId('pin-input').fill('1111');
  await dialog.getByTestId('pin-confirm').click();
  await expect(dialog.getByTestId('pin-error')).toHaveText('Wrong PIN.');
  for (const digit of PIN) await dialog.getByRole('button', { name: digit, exact: true }).click();
  await expect(dialog.getByTestId('pin-input')).toHaveValue(PIN);
  await dialog.getByTestId('pin-confirm').click();
  await expect(page).toHaveURL(/[?&]kiosk=1/);
  await expect(page.getByTestId('kiosk-prompt')).toBeVisible();

  // Remembered: the plain URL stays in kiosk mode.
  await page.goto('/');
  await expect(page.getByTestId('kiosk-prompt')).toBeVisible();
  await expect(page.getByTestId('kiosk-enter')).toHaveCount(0);

  await page.keyboard.press('Control+Shift+K');
  await dialog.getByTestId('pin-input').fill(PIN);
  await dialog.getByTestId('pin-input').press('Enter');
  await expect(page.getByTestId('kiosk-enter')).toBeVisible();
  await expect(page.getByTestId('kiosk')).toHaveCount(0);
  await page.goto('/');
  await expect(page.getByTestId('kiosk-enter')).toBeVisible();
});

test('kiosk: five wrong PINs lock the dialog, across a reload', async ({ page }) => {
  await serveConfig(page, '/kiosk.json');
  await page.goto('/');
  await page.getByTestId('kiosk-enter').click();
  const dialog = page.getByTestId('pin-dialog');
  const confirm = dialog.getByTestId('pin-confirm');
  for (let i = 1; i <= 5; i++) {
    await expect(confirm).toBeEnabled(); // the previous check has finished
    await dialog.getByTestId('pin-input').fill('1111');
    await confirm.click();
    if (i < 5) await expect(dialog.getByTestId('pin-error')).toHaveText('Wrong PIN.');
  }
  const locked = /^Too many wrong PINs: try again in (30|29|28) s\.$/;
  await expect(dialog.getByTestId('pin-error')).toHaveText(locked);
  await expect(dialog.getByTestId('pin-input')).toBeDisabled();
  await expect(confirm).toBeDisabled();
  await expect(dialog.getByRole('button', { name: '1', exact: true })).toBeDisabled();

  await page.reload();
  await page.getByTestId('kiosk-enter').click();
  await expect(dialog.getByTestId('pin-error')).toHaveText(/^Too many wrong PINs: try again in \d+ s\.$/);
  await expect(dialog.getByTestId('pin-input')).toBeDisabled();
});

test('kiosk with the default model ("stored"): says how to store one on a phone without widening the page, then loads the stored model', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.route((url) => url.pathname === '/e2e-stored.json', (route) => route.fulfill({ json: { ...CONFIG, model: 'stored' } }));
  await page.goto('/?kiosk=1&config=/e2e-stored.json');
  await expect(page.getByTestId('kiosk-engine-error')).toContainText(NO_STORED_MODEL, { timeout: LOAD_TIMEOUT_MS });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  // store the tiny pack in the app, then the kiosk loads it from storage (no network needed)
  await page.goto('/');
  await openModelPanels(page);
  await page.getByTestId('model-choice-custom').check();
  await page.getByTestId('model-download-source').fill(`${HUB_URL}/${PACK_A.name}`);
  await page.getByTestId('model-download-button').click();
  await expect(page.getByTestId('stored-model')).toHaveAttribute('data-state', 'complete', { timeout: LOAD_TIMEOUT_MS });
  await page.goto('/?kiosk=1&config=/e2e-stored.json');
  await expect(page.getByTestId('kiosk-engine-error')).toHaveCount(0);
  await expect(page.getByTestId('kiosk')).toHaveAttribute('data-engine', 'ready', { timeout: LOAD_TIMEOUT_MS });
  // and stays ready: load progress that arrives after the load must not turn it back to loading
  await page.waitForTimeout(2000);
  await expect(page.getByTestId('kiosk')).toHaveAttribute('data-engine', 'ready');
});
