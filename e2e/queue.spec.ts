/**
 * The queue and seed reproducibility on the tiny golden model: three images in one Generate with a
 * fixed seed (seed, seed+1, seed+2), the second removed while the first runs; then the third image's
 * seed again on its own gives identical pixels (same device); its PNG carries the parameters.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { decode } from 'fast-png';
import { HUB_URL } from './env';
import { expectModelReady, openModelPanels } from './app';
import { canvasPixels } from './golden';

const PROMPT = 'A lighthouse at dusk, oil painting.';
const SIZE = 64;
const STEPS = 2;
const SEED = 4242;
/** Each 64×64 image takes 1–3 minutes on SwiftShader with 2 cores. */
const RUN_TIMEOUT_MS = 480_000;

test('n = 3 with the second removed; the same seed again is pixel-identical; PNG metadata reads back', async ({ page }) => {
  test.setTimeout(3 * RUN_TIMEOUT_MS);
  await page.goto('/');
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, RUN_TIMEOUT_MS);

  await page.getByTestId('prompt').fill(PROMPT);
  await page.getByTestId('width').fill(String(SIZE));
  await page.getByTestId('height').fill(String(SIZE));
  await page.getByTestId('steps').fill(String(STEPS));
  await page.getByTestId('count').fill('3');
  await page.getByTestId('seed').fill(String(SEED));
  await page.getByTestId('generate-button').click();

  const items = page.getByTestId('queue-item');
  await expect(items).toHaveCount(3);
  await expect(items.nth(0)).toHaveAttribute('data-status', 'running', { timeout: RUN_TIMEOUT_MS });
  await expect(items.nth(1)).toContainText(`seed ${SEED + 1}`);
  await expect(items.nth(1)).toHaveAttribute('data-status', 'pending');
  await items.nth(1).getByRole('button', { name: /^Remove image/ }).click();
  await expect(items).toHaveCount(2);
  await expect(items.nth(1)).toContainText(`seed ${SEED + 2}`);

  await expect(items.nth(1)).toHaveAttribute('data-status', 'done', { timeout: 2 * RUN_TIMEOUT_MS });
  await expect(items.nth(0)).toHaveAttribute('data-status', 'done');
  await expect(page.getByRole('alert')).toBeEmpty();
  const strip = page.getByTestId('result-strip').getByRole('button');
  await expect(strip).toHaveCount(2);
  await expect(strip.nth(0)).toHaveAccessibleName(new RegExp(`seed ${SEED}$`));
  await expect(strip.nth(1)).toHaveAccessibleName(new RegExp(`seed ${SEED + 2}$`));
  await expect(page.getByTestId('output-canvas')).toHaveAttribute('data-rendered', `${SIZE}x${SIZE}:${SEED + 2}`);
  const third = await canvasPixels(page);
  await strip.nth(0).click();
  await expect(page.getByTestId('output-canvas')).toHaveAttribute('data-rendered', `${SIZE}x${SIZE}:${SEED}`);
  const first = await canvasPixels(page);
  expect(first.rgba).not.toEqual(third.rgba); // different seeds, different images

  // the third image's seed alone: identical pixels
  await page.getByTestId('count').fill('1');
  await page.getByTestId('seed').fill(String(SEED + 2));
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
  await expect(page.getByRole('alert')).toBeEmpty();
  await expect(page.getByTestId('result-strip').getByRole('button')).toHaveCount(3);
  await expect(page.getByTestId('output-canvas')).toHaveAttribute('data-rendered', `${SIZE}x${SIZE}:${SEED + 2}`);
  const again = await canvasPixels(page);
  expect([again.width, again.height]).toEqual([SIZE, SIZE]);
  expect(again.rgba).toEqual(third.rgba);

  // the PNG's text chunks carry the parameters
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  const png = decode(await readFile(await download.path()));
  expect(png.text.prompt).toBe(PROMPT);
  expect(png.text.seed).toBe(String(SEED + 2));
  expect(png.text.steps).toBe(String(STEPS));
  expect(png.text.size).toBe(`${SIZE}x${SIZE}`);
});
