/** Generation controls without generating: size presets, custom-size, steps and image-count limits, low-memory mode. */
import { expect, test } from '@playwright/test';
import { aspectByLabel, clampNote, presetSize } from '../src/ui/sizes';
import { HUB_URL } from './env';
import { expectModelReady, openModelPanels } from './app';

test('presets fill in the size, clamp past 2048 a side, and invalid fields explain themselves', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled(); // the WebGPU probe finished
  await expect(page.getByTestId('width')).toHaveValue('512');
  await expect(page.getByTestId('size-note')).toHaveText('1:1 at 0.25 MP.');

  const wide = presetSize(aspectByLabel('16:9'), 1);
  await page.getByTestId('size-aspect').selectOption('16:9');
  await page.getByTestId('size-mp').selectOption('1');
  await expect(page.getByTestId('width')).toHaveValue(String(wide.width)); // 1360
  await expect(page.getByTestId('height')).toHaveValue(String(wide.height)); // 768

  // 4 MP at 16:9 would be 2736×1536: clamped to 2048×1152 and said so.
  const capped = presetSize(aspectByLabel('16:9'), 4);
  await page.getByTestId('size-mp').selectOption('4');
  await expect(page.getByTestId('width')).toHaveValue(String(capped.width));
  await expect(page.getByTestId('height')).toHaveValue(String(capped.height));
  await expect(page.getByTestId('size-note')).toHaveText(clampNote(aspectByLabel('16:9'), 4) ?? '');

  await page.getByTestId('width').fill('2049');
  await expect(page.getByTestId('size-error')).toHaveText('Width must be a multiple of 16 between 64 and 2048 (got 2049).');
  await expect(page.getByTestId('size-note')).toContainText('Custom size');
  // the selects no longer claim the last preset
  await expect(page.getByTestId('size-aspect')).toHaveValue('custom');
  await expect(page.getByTestId('size-mp')).toHaveValue('custom');
  await expect(page.getByTestId('generate-button')).toBeDisabled();
  await expect(page.getByTestId('generate-reason')).toHaveText('Fix the image size above.');
  await page.getByTestId('width').fill('1024');
  await expect(page.getByTestId('size-error')).toBeHidden();
  await page.getByTestId('size-mp').selectOption('1'); // a preset again from "Custom"
  await expect(page.getByTestId('size-aspect')).toHaveValue('16:9');
  await expect(page.getByTestId('width')).toHaveValue(String(wide.width));
  await page.getByTestId('width').fill('1024');

  await page.getByTestId('steps').fill('9');
  await expect(page.getByTestId('field-error')).toHaveText(
    'Steps must be a whole number from 1 to 8 (klein is distilled for 4; more steps do not improve it).',
  );
  await expect(page.getByTestId('generate-reason')).toHaveText('Fix the steps above.');
  await page.getByTestId('steps').fill('4');
  await page.getByTestId('count').fill('11');
  await expect(page.getByTestId('field-error')).toHaveText('Number of images must be a whole number from 1 to 10.');
  await expect(page.getByTestId('generate-button')).toBeDisabled();
  await expect(page.getByTestId('generate-reason')).toHaveText('Fix the number of images above.');

  await page.getByTestId('count').fill('3');
  await page.getByTestId('seed').fill('41');
  await expect(page.getByTestId('seed-plan')).toHaveText('Seeds 41, 42, … one per image.');
  await page.getByTestId('seed-mode-random').check();
  await expect(page.getByTestId('seed')).toBeDisabled();
  await expect(page.getByTestId('field-error')).toBeHidden();
  await expect(page.getByTestId('generate-reason')).toHaveText('Load a model first.');
});

test('Low GPU memory loads in low-memory mode, and the choice survives a reload', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled();
  await openModelPanels(page);
  const low = page.getByTestId('low-memory');
  await expect(low).not.toBeChecked();
  await expect(low).toHaveAccessibleDescription(/one stage's weights .* at a time/);
  await low.check();
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  // the engine's summary (Pipeline.load) says how it loaded: no weights are read until generate()
  await expect(page.getByTestId('model-info')).toContainText('low memory (weights read per stage)', { timeout: 120_000 });
  await page.reload();
  // the last model loads by itself, in the saved mode
  await expectModelReady(page, 120_000);
  await expect(page.getByTestId('model-info')).toContainText('low memory (weights read per stage)');
  await openModelPanels(page);
  await expect(page.getByTestId('low-memory')).toBeChecked();
  await page.getByTestId('low-memory').uncheck();
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expect(page.getByTestId('model-info')).toContainText('is ready', { timeout: 120_000 });
  await expect(page.getByTestId('model-info')).not.toContainText('low memory');
});
