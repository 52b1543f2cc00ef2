/**
 * The full flow on the tiny golden model (test/golden/model-a) in SwiftShader: load over the
 * hub-like server, generate the t2i-64 case with its injected noise and compare with image.png;
 * then a seeded run and the PNG download, then Cancel. Serial: the tests share one page and one
 * loaded model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { decode } from 'fast-png';
import { GOLDEN_DIR, HUB_URL } from './env';
import { expectModelReady, openModelPanels } from './app';
import { canvasPixels, expectCanvasMatchesGolden } from './golden';

const CASE_DIR = join(GOLDEN_DIR, 'cases', 't2i-64');
const PROMPT = 'A red balloon on a wooden table.';
const SIZE = 64;
const STEPS = 4;

/** One 64×64 generation on SwiftShader takes 1–3 minutes on 2 cores (the first run compiles the shaders). */
const RUN_TIMEOUT_MS = 480_000;

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, RUN_TIMEOUT_MS);
  await expect(page.getByRole('alert')).toBeEmpty();
});

test.afterAll(async () => {
  await page.close();
});

async function setForm(p: Page): Promise<void> {
  await p.getByTestId('prompt').fill(PROMPT);
  await p.getByTestId('width').fill(String(SIZE));
  await p.getByTestId('height').fill(String(SIZE));
  await p.getByTestId('steps').fill(String(STEPS));
}

/** Clicks Generate, runs `during` (checks while it runs), waits until its image and timings are shown. */
async function generate(p: Page, during?: () => Promise<void>): Promise<void> {
  await p.getByTestId('generate-button').click();
  await during?.();
  await expect(p.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
  await expect(p.getByRole('alert')).toBeEmpty();
  await expect(p.getByTestId('output-canvas')).toBeVisible();
  await expect(p.getByTestId('timings')).toContainText(`Step ${STEPS}`);
}

test('t2i-64 with the golden noise matches image.png', async () => {
  await setForm(page);
  await page.locator('summary', { hasText: 'Advanced' }).click();
  await page.getByTestId('noise-file').setInputFiles(join(CASE_DIR, 'tensors.safetensors'));
  await expect(page.getByTestId('noise-status')).toContainText('[1, 128, 4, 4]');
  // live previews while denoising (W/8 × H/8 = 8×8, scaled up), replaced by the final image
  await generate(page, () => expect(page.getByTestId('preview-label')).toHaveText(new RegExp(`^preview · step [1-${STEPS}]/${STEPS}$`), { timeout: RUN_TIMEOUT_MS }));
  const frame = page.getByTestId('canvas-frame');
  expect(Number(await frame.getAttribute('data-preview-frames'))).toBeGreaterThanOrEqual(1);
  await expect(frame).toHaveAttribute('data-preview-last', new RegExp(`^[1-${STEPS}]/${STEPS}:${SIZE / 8}x${SIZE / 8}$`));
  await expect(page.getByTestId('preview-canvas')).toHaveCount(0);

  await expectCanvasMatchesGolden(page, CASE_DIR, 't2i-64');
});

test('a seeded run without noise renders an image that downloads as PNG', async () => {
  await page.getByTestId('noise-clear').click();
  await expect(page.getByTestId('noise-status')).toContainText('drawn from the seed');
  await setForm(page);
  await page.getByTestId('seed-random').click();
  const seed = await page.getByTestId('seed').inputValue();
  await generate(page);
  await expect(page.getByTestId('output-canvas')).toHaveAttribute('data-rendered', `${SIZE}x${SIZE}:${seed}`);
  const { width, height } = await canvasPixels(page);
  expect([width, height]).toEqual([SIZE, SIZE]);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  expect(download.suggestedFilename()).toBe(`kleinbild-${seed}.png`);
  const png = await readFile(await download.path());
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const decoded = decode(png);
  expect([decoded.width, decoded.height]).toEqual([SIZE, SIZE]);
});

test('Cancel stops a running generation and says so', async () => {
  await setForm(page);
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress-label')).toHaveText(/Encoding prompt|Step \d+ \/ \d+/);
  await page.getByTestId('cancel-button').click();
  await expect(page.getByTestId('notice')).toHaveText('Cancelled.', { timeout: RUN_TIMEOUT_MS });
  await expect(page.getByTestId('progress')).toBeHidden();
  await expect(page.getByTestId('preview-canvas')).toHaveCount(0);
  await expect(page.getByRole('alert')).toBeEmpty();
  await expect(page.getByTestId('generate-button')).toBeEnabled();
});
