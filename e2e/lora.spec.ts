/**
 * The LoRA panel on the tiny golden model (model-a over the hub-like server) in SwiftShader, with
 * the golden LoRA test/golden/cases/lora-aitk/lora0.safetensors (rank 4, ai-toolkit naming):
 * - refused files (a PNG renamed .safetensors, a truncated copy, a 404 link) show a clear error and store nothing;
 * - added from the file input and generated with the golden noise at strength 1: the image matches the
 *   lora-aitk case's image.png (diffusers with the LoRA) and differs from t2i-64's (the same request without it);
 *   the PNG's text chunks and the history entry name it;
 * - switched off: the same request gives t2i-64's image.png again;
 * - added again from a URL (replacing it) and as a second LoRA from the hub (owner/name + file, the
 *   huggingface.co requests answered by the test server) at 0.5 and −0.25: a seeded run matches the CLI
 *   (`npm run generate --backend cpu` with the two files at those strengths) within the golden bounds;
 * - History → Reopen restores the selection and names a LoRA that is not stored any more;
 * - after a reload the LoRA is still listed and is applied again once the model has loaded, from
 *   IndexedDB (no request for the file); Remove deletes its bytes.
 * Serial: the tests share one page and one loaded model.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { decode } from 'fast-png';
import { GOLDEN_DIR, HUB_URL, REPO_DIR } from './env';
import { expectModelReady, openModelPanels } from './app';
import { canvasPixels, expectCanvasMatchesGolden } from './golden';

const LORA_CASE = join(GOLDEN_DIR, 'cases', 'lora-aitk');
const T2I_CASE = join(GOLDEN_DIR, 'cases', 't2i-64');
const LORA_FILE = join(LORA_CASE, 'lora0.safetensors');
const PROMPT = 'A red balloon on a wooden table.';
const SIZE = 64;
/** The seeded run against the CLI: 2 steps keep it short. */
const SEEDED = { seed: 1234, steps: 2 };
const RUN_TIMEOUT_MS = 480_000;
/** As e2e/golden.ts: SwiftShader against float32 elsewhere. */
const MAX_LEVEL_DIFF = 2;
const MEAN_LEVEL_DIFF = 0.1;

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  const context = await browser.newContext();
  // The hub: `test-owner/test-loras` holds `second.safetensors`, the golden LoRA's bytes.
  await context.route(/^https:\/\/huggingface\.co\//, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path !== '/test-owner/test-loras/resolve/main/second.safetensors') {
      return route.fulfill({ status: 404, headers: { 'Access-Control-Allow-Origin': '*' }, body: 'Entry not found' });
    }
    return route.fulfill({ response: await route.fetch({ url: `${HUB_URL}/cases/lora-aitk/lora0.safetensors` }) });
  });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await page.goto('/');
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, RUN_TIMEOUT_MS);
  await expect(page.getByTestId('error')).toBeEmpty();
});

test.afterAll(async () => {
  await page.context().close();
});

function row(name: string) {
  return page.locator(`[data-testid="lora-item"][data-name="${name}"]`);
}

async function setForm(steps: number): Promise<void> {
  await page.getByTestId('prompt').fill(PROMPT);
  await page.getByTestId('width').fill(String(SIZE));
  await page.getByTestId('height').fill(String(SIZE));
  await page.getByTestId('steps').fill(String(steps));
}

async function useGoldenNoise(): Promise<void> {
  const advanced = page.locator('details.advanced');
  if (!(await advanced.evaluate((d) => (d as HTMLDetailsElement).open))) await advanced.locator('summary').click();
  await page.getByTestId('noise-file').setInputFiles(join(LORA_CASE, 'tensors.safetensors'));
  await expect(page.getByTestId('noise-status')).toContainText('[1, 128, 4, 4]');
}

/** Generates and waits for the image; `during` runs while it is generated. */
async function generate(steps: number, during?: () => Promise<void>): Promise<void> {
  await expect(page.getByTestId('generate-button')).toBeEnabled();
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeVisible();
  await during?.();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
  await expect(page.getByTestId('error')).toBeEmpty();
  await expect(page.getByTestId('timings')).toContainText(`Step ${steps}`);
}

/** Max and mean per-channel level difference of the output canvas against RGB(A) pixels. */
async function canvasDiff(want: { width: number; height: number; data: ArrayLike<number>; channels: number }): Promise<{ max: number; mean: number }> {
  const got = await canvasPixels(page);
  expect([got.width, got.height]).toEqual([want.width, want.height]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.width * want.height; i++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((got.rgba[4 * i + c] as number) - (want.data[want.channels * i + c] as number));
      max = Math.max(max, d);
      sum += d;
    }
  }
  return { max, mean: sum / (want.width * want.height * 3) };
}

test('a PNG renamed .safetensors, a truncated copy and a 404 link are refused with a clear message; nothing is stored', async () => {
  const panel = page.getByTestId('lora-panel');
  await expect(panel.getByTestId('lora-block')).toHaveCount(0);
  const png = await readFile(join(T2I_CASE, 'image.png'));
  await page.getByTestId('lora-file').setInputFiles({ name: 'photo.safetensors', mimeType: 'application/octet-stream', buffer: png });
  const error = page.getByTestId('lora-error');
  await expect(error).toContainText('Could not add the LoRA photo.safetensors');
  await expect(page.getByTestId('lora-error-name')).toHaveText('(InvalidInput)');
  await expect(page.getByTestId('lora-error-message')).toContainText('photo.safetensors');
  console.log(`PNG as LoRA: ${await page.getByTestId('lora-error-message').textContent()}`);

  const bytes = await readFile(LORA_FILE);
  await page.getByTestId('lora-file').setInputFiles({ name: 'cut.safetensors', mimeType: 'application/octet-stream', buffer: bytes.subarray(0, bytes.length >> 1) });
  await expect(error).toContainText('Could not add the LoRA cut.safetensors');
  await expect(page.getByTestId('lora-error-name')).toHaveText('(InvalidInput)');
  console.log(`truncated LoRA: ${await page.getByTestId('lora-error-message').textContent()}`);

  await page.getByTestId('lora-url').fill(`${HUB_URL}/cases/lora-aitk/missing.safetensors`);
  await page.getByTestId('lora-url-add').click();
  await expect(error).toContainText('Could not add the LoRA missing.safetensors');
  await expect(page.getByTestId('lora-error-message')).toContainText('the server answered 404');
  await expect(page.getByTestId('lora-item')).toHaveCount(0);
  await expect(page.getByTestId('error')).toBeEmpty(); // the model and the app are untouched
  await expect(page.getByTestId('model-summary')).toContainText('ready');
});

test('a LoRA from the file input at strength 1 reproduces the golden lora-aitk image; PNG and history name it', async () => {
  await page.getByTestId('lora-file').setInputFiles(LORA_FILE);
  await expect(page.getByTestId('lora-error')).toHaveCount(0);
  await expect(row('lora0.safetensors').getByTestId('lora-meta')).toContainText('ai-toolkit · rank 4');
  await expect(row('lora0.safetensors').getByTestId('lora-status')).toHaveText('applied to the next images');
  await expect(row('lora0.safetensors').getByTestId('lora-enabled')).toBeChecked();
  await expect(row('lora0.safetensors').getByTestId('lora-strength')).toHaveValue('1');

  await setForm(4);
  await useGoldenNoise();
  await generate(4);
  await expectCanvasMatchesGolden(page, LORA_CASE, 'lora-aitk (app, LoRA at 1)');
  const without = await canvasDiff(decode(await readFile(join(T2I_CASE, 'image.png'))));
  console.log(`with the LoRA vs t2i-64 (without): max ${without.max}, mean ${without.mean.toFixed(3)} levels`);
  expect(without.mean).toBeGreaterThan(1);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  const text = decode(await readFile(await download.path())).text;
  expect(JSON.parse(text.loras as string)).toEqual([{ name: 'lora0.safetensors', strength: 1 }]);
  expect(text.parameters).toContain('LoRAs: lora0.safetensors:1');

  await expect(page.getByTestId('history-item')).toHaveCount(1);
  await page.getByTestId('history-item').first().click();
  await expect(page.getByTestId('history-loras')).toHaveText('lora0.safetensors × 1');
  await page.getByTestId('history-close').click();
});

test('switched off, the same request gives the image without the LoRA (t2i-64)', async () => {
  await row('lora0.safetensors').getByTestId('lora-enabled').uncheck();
  await expect(row('lora0.safetensors').getByTestId('lora-status')).toHaveText('off');
  await generate(4);
  await expectCanvasMatchesGolden(page, T2I_CASE, 't2i-64 (app, LoRA off)');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  expect(decode(await readFile(await download.path())).text.loras).toBeUndefined();
});

test('two LoRAs (a URL and a hub file) at 0.5 and −0.25 match the CLI on a seeded run', async () => {
  // the CLI reference runs meanwhile (CPU backend, ≈ 20 s): the same two files at 0.5 and −0.25
  const dir = await mkdtemp(join(tmpdir(), 'kleinbild-lora-e2e-'));
  const [a, b, out] = [join(dir, 'lora0.safetensors'), join(dir, 'second.safetensors'), join(dir, 'cli.png')];
  await copyFile(LORA_FILE, a);
  await copyFile(LORA_FILE, b);
  const cli = promisify(execFile)(process.execPath, [
    'scripts/run.mjs', 'src/cli/generate.ts', '--model', join(GOLDEN_DIR, 'model-a'), '--prompt', PROMPT,
    '--width', String(SIZE), '--height', String(SIZE), '--steps', String(SEEDED.steps), '--seed', String(SEEDED.seed),
    '--lora', `${a}:0.5`, '--lora', `${b}:-0.25`, '--backend', 'cpu', '--out', out,
  ], { cwd: REPO_DIR });

  await page.getByTestId('lora-url').fill(`${HUB_URL}/cases/lora-aitk/lora0.safetensors`);
  await page.getByTestId('lora-url-add').click();
  await expect(page.getByTestId('lora-notice')).toHaveText('lora0.safetensors replaced the stored LoRA of that name.');
  await expect(page.getByTestId('lora-item')).toHaveCount(1);
  await expect(row('lora0.safetensors').getByTestId('lora-enabled')).toBeChecked();
  await page.getByTestId('lora-hub-repo').fill('test-owner/test-loras');
  await page.getByTestId('lora-hub-file').fill('second.safetensors');
  await page.getByTestId('lora-hub-add').click();
  await expect(row('second.safetensors').getByTestId('lora-status')).toHaveText('applied to the next images');
  await expect(page.getByTestId('lora-item')).toHaveCount(2);
  await row('lora0.safetensors').getByTestId('lora-strength').fill('0.5'); // the number field
  const slider = row('second.safetensors').getByTestId('lora-strength-range');
  await slider.focus();
  for (let k = 0; k < 25; k++) await slider.press('ArrowLeft'); // 1 → −0.25 in steps of 0.05
  await expect(row('second.safetensors').getByTestId('lora-strength')).toHaveValue('-0.25');
  await expect(row('lora0.safetensors').getByTestId('lora-strength-range')).toHaveValue('0.5');

  await page.getByTestId('noise-clear').click();
  await setForm(SEEDED.steps);
  await page.getByTestId('seed').fill(String(SEEDED.seed));
  await generate(SEEDED.steps, async () => {
    // removing (or replacing) a LoRA waits for the running image, which may be using it
    await expect(row('second.safetensors').getByTestId('lora-remove')).toBeDisabled();
    await expect(page.getByTestId('lora-file')).toBeDisabled();
  });
  await expect(row('second.safetensors').getByTestId('lora-remove')).toBeEnabled();
  await expect(page.getByTestId('output-canvas')).toHaveAttribute('data-rendered', `${SIZE}x${SIZE}:${SEEDED.seed}`);
  await cli;
  const d = await canvasDiff(decode(await readFile(out)));
  console.log(`app vs CLI, two LoRAs at 0.5 and -0.25: max ${d.max}, mean ${d.mean.toFixed(4)} levels`);
  expect(d.max).toBeLessThanOrEqual(MAX_LEVEL_DIFF);
  expect(d.mean).toBeLessThanOrEqual(MEAN_LEVEL_DIFF);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  expect(JSON.parse(decode(await readFile(await download.path())).text.loras as string)).toEqual([
    { name: 'lora0.safetensors', strength: 0.5 },
    { name: 'second.safetensors', strength: -0.25 },
  ]);
});

test('History → Reopen restores the LoRA selection and names the LoRAs no longer stored', async () => {
  // the first image used lora0 at 1 only
  await page.getByTestId('history-item').last().click();
  await page.getByTestId('history-reopen').click();
  await expect(page.getByTestId('lora-notice')).toHaveText('LoRAs as in the reopened image: lora0.safetensors × 1.');
  await expect(row('lora0.safetensors').getByTestId('lora-enabled')).toBeChecked();
  await expect(row('lora0.safetensors').getByTestId('lora-strength')).toHaveValue('1');
  await expect(row('second.safetensors').getByTestId('lora-enabled')).not.toBeChecked();

  // the newest used both (0.5, −0.25); second.safetensors is removed first
  await row('second.safetensors').getByTestId('lora-remove').click();
  await expect(page.getByTestId('lora-item')).toHaveCount(1);
  await page.getByTestId('history-item').first().click();
  await expect(page.getByTestId('history-loras')).toHaveText('lora0.safetensors × 0.5, second.safetensors × -0.25');
  await page.getByTestId('history-reopen').click();
  await expect(page.getByTestId('lora-notice')).toContainText('Not stored in this browser any more: second.safetensors.');
  await expect(row('lora0.safetensors').getByTestId('lora-strength')).toHaveValue('0.5');
  await expect(page.getByTestId('seed')).toHaveValue(String(SEEDED.seed));

  // the image without LoRAs switches them all off
  await page.getByTestId('history-item').nth(1).click();
  await page.getByTestId('history-reopen').click();
  await expect(page.getByTestId('lora-notice')).toHaveText('The reopened image used no LoRA: all switched off.');
  await expect(row('lora0.safetensors').getByTestId('lora-enabled')).not.toBeChecked();
});

test('after a reload the LoRA is still stored and applied again from IndexedDB; Remove frees its bytes', async () => {
  await row('lora0.safetensors').getByTestId('lora-enabled').check();
  await expect(row('lora0.safetensors').getByTestId('lora-status')).toHaveText('applied to the next images');
  const fetched: string[] = [];
  page.context().on('request', (r) => {
    if (r.url().includes('.safetensors') && !r.url().includes('/model-a/')) fetched.push(r.url());
  });
  await page.reload();
  await expect(row('lora0.safetensors')).toBeVisible();
  await expect(row('lora0.safetensors').getByTestId('lora-strength')).toHaveValue('0.5');
  await expect(row('lora0.safetensors').getByTestId('lora-enabled')).toBeChecked();
  await expectModelReady(page, RUN_TIMEOUT_MS); // the last model loads by itself
  await expect(row('lora0.safetensors').getByTestId('lora-status')).toHaveText('applied to the next images');
  await expect(page.getByTestId('generate-reason')).toHaveText('');
  expect(fetched).toEqual([]);

  const stored = () =>
    page.evaluate(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const r = indexedDB.open('kleinbild-models');
          r.onerror = () => reject(r.error);
          r.onsuccess = () => {
            const q = r.result.transaction('loraFiles').objectStore('loraFiles').getAllKeys();
            q.onsuccess = () => {
              resolve(q.result.map(String));
              r.result.close();
            };
          };
        }),
    );
  expect(await stored()).toEqual(['lora0.safetensors']);
  // the panel with a LoRA row fits a 360 px phone (as a11y.spec.ts checks the empty panel)
  await page.setViewportSize({ width: 360, height: 740 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 1280, height: 720 });
  await row('lora0.safetensors').getByTestId('lora-remove').click();
  await expect(page.getByTestId('lora-item')).toHaveCount(0);
  expect(await stored()).toEqual([]);
});
