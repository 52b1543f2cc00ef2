/** Error paths: no WebGPU, an invalid size, and a model that cannot be loaded, each said in plain words (src/ui/explainError.ts) with the technical text under Details. */
import { chromium, expect, test } from '@playwright/test';
import { APP_URL, CHROMIUM_BASE_ARGS, CHROMIUM_PATH, HUB_URL } from './env';
import { openModelPanels } from './app';
import { clearFaults, setFaults } from './hubServer';

test('without WebGPU the app says so and disables Load and Generate with the reason', async () => {
  // Without --enable-unsafe-webgpu, Chromium blocklists SwiftShader: requestAdapter() → null.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_BASE_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(APP_URL);
    await expect(page.getByTestId('webgpu-error')).toBeVisible();
    await expect(page.getByTestId('webgpu-error')).toContainText('WebGPU is not available');
    await expect(page.getByTestId('webgpu-error')).toContainText(/adapter|navigator\.gpu/);
    // …and what to do: browsers that ship WebGPU, the flags that enable it elsewhere, where to look.
    const help = page.getByTestId('webgpu-help');
    await expect(help).toContainText('Chrome or Edge 113+');
    await expect(help).toContainText('chrome://flags/#enable-unsafe-webgpu');
    await expect(help).toContainText('Safari 26+');
    await expect(help).toContainText('dom.webgpu.enabled');
    await expect(help).toContainText('chrome://gpu');
    await expect(page.getByTestId('adapter')).toBeHidden();
    await expect(page.getByTestId('load-button')).toBeDisabled();
    await expect(page.getByTestId('generate-button')).toBeDisabled();
    await expect(page.getByTestId('load-reason')).toContainText('no usable WebGPU');
    await expect(page.getByTestId('generate-reason')).toContainText('no usable WebGPU');
  } finally {
    await browser.close();
  }
});

test('an invalid size shows the validation message and disables Generate', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled(); // WebGPU probe finished and succeeded
  await page.getByTestId('width').fill('70');
  await expect(page.getByTestId('size-error')).toHaveText('Width must be a multiple of 16 between 64 and 2048 (got 70).');
  await expect(page.getByTestId('width')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('generate-button')).toBeDisabled();
  await expect(page.getByTestId('generate-reason')).toHaveText('Fix the image size above.');
  await page.getByTestId('width').fill('64');
  await expect(page.getByTestId('size-error')).toBeHidden();
  await expect(page.getByTestId('generate-reason')).toHaveText('Load a model first.');
});

test('a model URL that does not exist shows an error naming the missing file', async ({ page }) => {
  await page.goto('/');
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/no-such-model`);
  await page.getByTestId('load-button').click();
  const alert = page.getByTestId('error');
  await expect(page.getByTestId('error-title')).toHaveText('Loading the model failed: The model was not found there.');
  await expect(page.getByTestId('error-advice')).toContainText('Check the name (owner/name on Hugging Face) or the link');
  await expect(page.getByTestId('error-message')).toBeHidden(); // the technical text waits under Details
  await alert.getByText('Details').click();
  await expect(page.getByTestId('error-message')).toBeVisible();
  await expect(alert).toContainText('404');
  await expect(alert).toContainText(/no-such-model\/\S+\.(json|safetensors)/);
  await expect(page.getByTestId('load-button')).toBeEnabled(); // can retry with another source
  await expect(page.getByTestId('generate-button')).toBeDisabled();
});

/** Loads model-a from the hub server and returns the error region once a load error shows. */
async function failedLoad(page: import('@playwright/test').Page, source = `${HUB_URL}/model-a`) {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(source);
  await page.getByTestId('load-button').click();
  await expect(page.getByTestId('error-title')).toBeVisible({ timeout: 60_000 });
  return page.getByTestId('error');
}

test('access refused (403) says the model may be gated', async ({ page }) => {
  await setFaults(HUB_URL, { rules: [{ match: 'model-a/', action: { status: 403 } }] });
  try {
    const alert = await failedLoad(page);
    await expect(page.getByTestId('error-title')).toHaveText('Loading the model failed: The model host refused access.');
    await expect(page.getByTestId('error-advice')).toContainText('gated or private');
    await expect(alert).toContainText('HTTP 403');
  } finally {
    await clearFaults(HUB_URL);
  }
});

test('a host that does not allow this site (CORS) is named as a possible cause', async ({ page }) => {
  // the files answer with another site's Access-Control-Allow-Origin: the browser withholds them
  await setFaults(HUB_URL, { rules: [{ match: 'model-a/', action: { status: 200, headers: { 'Access-Control-Allow-Origin': 'https://elsewhere.example' } } }] });
  try {
    await failedLoad(page);
    await expect(page.getByTestId('error-title')).toHaveText('Loading the model failed: The model host could not be reached.');
    await expect(page.getByTestId('error-advice')).toContainText('(CORS)');
  } finally {
    await clearFaults(HUB_URL);
  }
});

test('offline: says so, and what to do', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  await page.context().setOffline(true);
  try {
    await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
    await page.getByTestId('load-button').click();
    await expect(page.getByTestId('error-title')).toHaveText('Loading the model failed: This browser is offline.', { timeout: 120_000 });
    await expect(page.getByTestId('error-advice')).toHaveText('Connect to the network and try again; a download goes on from where it stopped.');
  } finally {
    await page.context().setOffline(false);
  }
});

test('the GPU lost mid-generation: says so, and the next Load works', async ({ page }) => {
  await page.goto('/');
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expect(page.getByTestId('model-summary')).toContainText('ready', { timeout: 180_000 });
  // Fault injection inside the engine worker: the first command encoder created after arming
  // destroys the device first (what a driver reset or a lost GPU does to a running generation).
  const engine = page.workers().find((w) => w.url().includes('worker'));
  expect(engine, 'the engine worker').toBeTruthy();
  await engine!.evaluate(() => {
    const proto = GPUDevice.prototype as GPUDevice & { __armed?: boolean };
    const create = proto.createCommandEncoder;
    proto.createCommandEncoder = function (this: GPUDevice, ...args: Parameters<GPUDevice['createCommandEncoder']>) {
      proto.createCommandEncoder = create; // once
      this.destroy();
      return create.apply(this, args);
    };
  });
  await page.getByTestId('width').fill('64');
  await page.getByTestId('height').fill('64');
  await page.getByTestId('steps').fill('1');
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('error-title')).toHaveText('Generation failed: The GPU stopped working for this page.', { timeout: 120_000 });
  await expect(page.getByTestId('error-advice')).toContainText('Load the model again');
  await expect(page.getByTestId('model-summary')).toContainText('none loaded');
  await expect(page.getByTestId('generate-button')).toBeDisabled();
  // a new device for the next load: it works, and so does a generation
  await openModelPanels(page);
  await page.getByTestId('load-button').click();
  await expect(page.getByTestId('model-summary')).toContainText('ready', { timeout: 180_000 });
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('output-canvas')).toBeVisible({ timeout: 480_000 });
  await expect(page.getByTestId('error-title')).toHaveCount(0);
});
