/**
 * Page helpers shared by the specs: the Model and Stored models panels live under the first-run
 * card's "More options" (nothing stored yet) or in the model section, folded once a model is ready.
 */
import { type Page, expect } from '@playwright/test';

/** Unfolds whichever of the two holds the model panels, so their fields can be used. */
export async function openModelPanels(page: Page): Promise<void> {
  const more = page.getByTestId('first-run-more');
  const section = page.getByTestId('model-section');
  await expect(more.or(section).first()).toBeVisible();
  for (const d of [more, section]) {
    if (!(await d.isVisible())) continue;
    if (!(await d.evaluate((e) => (e as HTMLDetailsElement).open))) await d.locator(':scope > summary').click();
  }
  await expect(page.getByTestId('model-source')).toBeVisible();
}

/** Waits until a model is ready (the model section's summary says so). */
export async function expectModelReady(page: Page, timeout: number): Promise<void> {
  await expect(page.getByTestId('model-summary')).toContainText('ready', { timeout });
}
