/** Error paths: no WebGPU, an invalid size, a model URL that does not exist. */
import { chromium, expect, test } from '@playwright/test';
import { APP_URL, CHROMIUM_BASE_ARGS, CHROMIUM_PATH, HUB_URL } from './env';

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
  await page.getByTestId('model-source').fill(`${HUB_URL}/no-such-model`);
  await page.getByTestId('load-button').click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Loading the model failed');
  await expect(alert).toContainText('404');
  await expect(alert).toContainText(/no-such-model\/\S+\.(json|safetensors)/);
  await expect(page.getByTestId('load-button')).toBeEnabled(); // can retry with another source
  await expect(page.getByTestId('generate-button')).toBeDisabled();
});
