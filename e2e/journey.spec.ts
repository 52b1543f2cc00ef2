/**
 * The first-run journey at a desktop (1440×900) and a phone (390×844) viewport: first visit → the
 * first-run card (recommended download, the GPU verdict naming SwiftShader) → Download (the prompt
 * is usable meanwhile) → the model loads by itself → prompt → image, with prompt, Generate,
 * progress and result inside the viewport when they matter; then a return visit loads the stored
 * model by itself. The app asks huggingface.co for the recommended choice's files (the official
 * repo's configs, tokenizer and VAE; the GGUF transformer and text encoder): the browser context
 * answers those requests from the hub-like test server (golden model-a and its GGUF files).
 * A screenshot of each step is saved in the test's output folder under test-results/ and attached to
 * the report (journey-<viewport>-<n>-<step>.png).
 */
import { type BrowserContext, type Page, type TestInfo, expect, test } from '@playwright/test';
import { expectModelReady } from './app';
import { GGUF_A, HUB_URL } from './env';
import { GGUF_FIXTURE } from './ggufFixture';
import { setFaults } from './hubServer';

const RUN_TIMEOUT_MS = 480_000;
/** The recommended download's GGUF files as src/catalog/choices.ts names them (its JSON imports keep it out of Playwright's loader). */
const GGUF_TRANSFORMER_REPO = 'unsloth/FLUX.2-klein-4B-GGUF';
const GGUF_TRANSFORMER_FILE = 'flux-2-klein-4b-Q4_K_M.gguf';
const GGUF_TEXT_REPO = 'unsloth/Qwen3-4B-GGUF';
const GGUF_TEXT_FILE = 'Qwen3-4B-Q4_K_M.gguf';
const SIZE = 64;
const STEPS = 2;

/** huggingface.co path → the test server's path holding the same bytes (null: not served). */
function hubPath(pathname: string): string | null {
  const m = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(pathname);
  if (!m) return null;
  const [, repo, file] = m as unknown as [string, string, string];
  if (repo === 'black-forest-labs/FLUX.2-klein-4B') return `/model-a/${file}`;
  if (repo === GGUF_TRANSFORMER_REPO && file === GGUF_TRANSFORMER_FILE) return `/${GGUF_A}/${GGUF_FIXTURE.transformer}`;
  if (repo === GGUF_TEXT_REPO && file === GGUF_TEXT_FILE) return `/${GGUF_A}/${GGUF_FIXTURE.textEncoder}`;
  return null;
}

/** Every huggingface.co request of `context` (page and engine worker) answered by the test server. */
async function routeHub(context: BrowserContext, asked: string[]): Promise<void> {
  await context.route(/^https:\/\/huggingface\.co\//, async (route) => {
    const url = new URL(route.request().url());
    asked.push(url.pathname);
    const path = hubPath(url.pathname);
    if (!path) return route.fulfill({ status: 404, headers: { 'Access-Control-Allow-Origin': '*' }, body: 'Entry not found' });
    return route.fulfill({ response: await route.fetch({ url: `${HUB_URL}${path}` }) });
  });
}

/** Saves a screenshot into the test's output folder (test-results/…/NAME) and attaches it to the report. */
async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  const path = info.outputPath(name);
  await page.screenshot({ path });
  await info.attach(name, { path, contentType: 'image/png' });
}

for (const vp of [{ name: 'desktop', width: 1440, height: 900 }, { name: 'phone', width: 390, height: 844 }]) {
  test(`first run at ${vp.width}×${vp.height}: card → download → prompt → image; a return visit loads the model by itself`, async ({ browser }, info) => {
    const context = await browser.newContext({ viewport: { width: vp.width, height: vp.height } });
    const asked: string[] = [];
    await routeHub(context, asked);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
    });
    let n = 0;
    const step = (what: string) => shot(page, info, `journey-${vp.name}-${++n}-${what}.png`);
    try {
      // 1. First visit: one card, the recommended download, a verdict naming the software adapter.
      await page.goto('/');
      const card = page.getByTestId('first-run');
      await expect(card).toBeVisible();
      await expect(page.getByTestId('first-run-choice')).toContainText('recommended');
      await expect(page.getByTestId('first-run-fit')).toHaveAttribute('data-verdict', 'software', { timeout: 60_000 });
      await expect(page.getByTestId('first-run-fit')).toContainText('SwiftShader');
      await expect(page.getByTestId('first-run-more')).not.toHaveAttribute('open');
      const download = page.getByTestId('first-run-download');
      await expect(download).toBeEnabled();
      await expect(download).toBeInViewport();
      await step('first-visit');

      // 2. Download (slowed down so the progress can be seen); the prompt is usable meanwhile.
      await setFaults(HUB_URL, { throttle: { match: GGUF_A, bytesPerSec: 4 * 2 ** 20 } });
      await download.click();
      await expect(page.getByTestId('first-run-progress')).toBeVisible();
      await page.getByTestId('prompt').fill('A lighthouse at dusk.');
      await page.getByTestId('width').fill(String(SIZE));
      await page.getByTestId('height').fill(String(SIZE));
      await page.getByTestId('steps').fill(String(STEPS));
      await step('downloading');

      // 3. Stored → loads by itself → the card gives way; prompt and Generate at the top, in view.
      await expect(card).toBeHidden({ timeout: RUN_TIMEOUT_MS });
      await expectModelReady(page, RUN_TIMEOUT_MS);
      await setFaults(HUB_URL, {});
      await expect(page.getByRole('alert')).toBeEmpty();
      await expect(page.getByTestId('model-summary')).toContainText('GGUF Q4_K_M');
      await expect(page.getByTestId('model-section')).not.toHaveAttribute('open');
      await page.evaluate(() => window.scrollTo(0, 0));
      await expect(page.getByTestId('prompt')).toBeInViewport();
      await expect(page.getByTestId('generate-button')).toBeInViewport();
      await step('ready');

      // 4. Generate: progress, then the result, in view (phones scroll the output column into view).
      await page.getByTestId('generate-button').click();
      await expect(page.getByTestId('progress')).toBeInViewport();
      await step('generating');
      await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
      await expect(page.getByRole('alert')).toBeEmpty();
      await expect(page.getByTestId('output-canvas')).toBeInViewport();
      await step('image');

      // The recommended download read the GGUF files, not the official bf16 transformer or text encoder.
      expect(asked.some((p) => p.endsWith(GGUF_TRANSFORMER_FILE)) && asked.some((p) => p.endsWith(GGUF_TEXT_FILE))).toBe(true);
      expect(asked.filter((p) => /\/(transformer|text_encoder)\/.*\.safetensors$/.test(p))).toEqual([]);

      // 5. Return visit: no card, the stored model loads by itself with a visible loading state.
      await page.reload();
      await expect(page.getByTestId('model-summary')).toContainText(/Loading the model|ready/);
      await step('return-visit');
      await expect(card).toBeHidden();
      await expectModelReady(page, RUN_TIMEOUT_MS);
      await expect(page.getByTestId('generate-button')).toBeEnabled();
      await step('return-ready');
    } finally {
      await setFaults(HUB_URL, {});
      await context.close();
    }
  });
}
