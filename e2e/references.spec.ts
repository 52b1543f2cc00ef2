/**
 * The reference panel: the edit-1ref golden case end to end (the one test here that generates),
 * then refusals, the four-image limit, reorder / remove, drag and drop and paste, a CMYK JPEG and a
 * 12000×8000 photo without a model. Test PNGs are encoded here with fast-png into a temp dir; the
 * CMYK JPEG and Pillow's decode of it are src/pipeline/fixtures (scripts/fixtures/lanczos_fixture.py).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { decode, encode } from 'fast-png';
import { GOLDEN_DIR, HUB_URL, REPO_DIR } from './env';
import { expectModelReady, openModelPanels } from './app';
import { expectCanvasMatchesGolden } from './golden';

const CASE_DIR = join(GOLDEN_DIR, 'cases', 'edit-1ref');
const PROMPT = 'Turn the square into a glossy red balloon.';
const SIZE = 64;
const STEPS = 4;
/** One 64×64 generation (plus the VAE encoder load) on SwiftShader: a few minutes on 2 cores. */
const RUN_TIMEOUT_MS = 480_000;
const PIPELINE_FIXTURES = join(REPO_DIR, 'src', 'pipeline', 'fixtures');
/**
 * Chromium's CMYK JPEG decode against Pillow's convert('RGB') of the same file: both compute
 * (255 − C)(255 − K)/255 with no ICC profile, with their own rounding and IDCT. Observed max 1,
 * mean 0.35 levels (Debian's Chromium 156).
 */
const CMYK_MAX_LEVELS = 1;
const CMYK_MEAN_LEVELS = 0.5;
/**
 * The 12000×8000 image: decode plus the Lanczos downscale take a few seconds in the reference worker;
 * allow a minute or two with other work on the 2 CI cores.
 */
const BIG_TIMEOUT_MS = 120_000;
/**
 * Longest task on the page's thread while the 12000×8000 image is added. Decoding and downscaling
 * run in the reference worker; the page reads the header and makes a thumbnail of the 1254×836
 * result. Observed: no long task (≥ 50 ms) at all on the 2-core machine with other tests running;
 * decoding on the page's thread (createImageBitmap with colorSpaceConversion 'none') alone was 1.6 s.
 */
const BIG_LONGEST_TASK_MS = 200;

let dir: string;

/** A w×h RGB PNG filled with one colour. */
function png(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, 3 * i);
  return encode({ width, height, data, channels: 3, depth: 8 });
}

async function fixture(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kleinbild-refs-'));
});

test.afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('load-button')).toBeEnabled(); // the WebGPU probe finished
}

async function names(page: Page): Promise<string[]> {
  return page.getByTestId('reference-item').locator('img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('alt') ?? ''));
}

test('edit-1ref with the golden noise matches image.png; the output can become a reference', async ({ page }) => {
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  await openApp(page);
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, RUN_TIMEOUT_MS);

  await page.getByTestId('reference-file').setInputFiles(join(CASE_DIR, 'ref0.png'));
  await expect(page.getByTestId('reference-size')).toHaveText('88×72 → 80×64');
  // Untouched size fields follow the first reference's processed size.
  await expect(page.getByTestId('width')).toHaveValue('80');
  await expect(page.getByTestId('height')).toHaveValue('64');

  await page.getByTestId('prompt').fill(PROMPT);
  await page.getByTestId('width').fill(String(SIZE));
  await page.getByTestId('height').fill(String(SIZE));
  await page.getByTestId('steps').fill(String(STEPS));
  await page.locator('summary', { hasText: 'Advanced' }).click();
  await page.getByTestId('noise-file').setInputFiles(join(CASE_DIR, 'tensors.safetensors'));
  await expect(page.getByTestId('noise-status')).toContainText('[1, 128, 4, 4]');
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('progress')).toBeHidden({ timeout: RUN_TIMEOUT_MS });
  await expect(page.getByTestId('error')).toBeEmpty();
  await expect(page.getByTestId('timings')).toContainText(`Step ${STEPS}`);

  await expectCanvasMatchesGolden(page, CASE_DIR, 'edit-1ref');

  await page.getByTestId('use-as-reference').click();
  await expect(page.getByTestId('reference-size')).toHaveText(['88×72 → 80×64', '64×64 → 64×64']);
  await expect.poll(() => names(page)).toEqual(['ref0.png', expect.stringMatching(/^output-\d+\.png$/)]);
});

test('a file that is not an image is refused by name and the panel is unchanged', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('reference-file').setInputFiles(await fixture('ok.png', png(96, 80, [0, 128, 255])));
  await expect(page.getByTestId('reference-item')).toHaveCount(1);
  await page.getByTestId('reference-file').setInputFiles(await fixture('notes.png', 'just some text, not a PNG\n'));
  await expect(page.getByTestId('reference-error')).toContainText('Could not add notes.png: it is not an image this browser can decode');
  await expect(page.getByTestId('reference-item')).toHaveCount(1);
  await expect.poll(() => names(page)).toEqual(['ok.png']);
  await expect(page.getByTestId('reference-size')).toHaveText('96×80 → 96×80');
});

test('truncated PNG/JPEG files are refused; 16-bit and alpha PNGs and a CMYK JPEG are accepted', async ({ page }) => {
  await openApp(page);
  const file = page.getByTestId('reference-file');
  const error = page.getByTestId('reference-error');
  const whole = png(96, 80, [10, 200, 30]);
  await file.setInputFiles(await fixture('cut.png', whole.slice(0, Math.floor(whole.length / 2))));
  await expect(error).toContainText('Could not add cut.png');
  // A real JPEG from the browser's own encoder, cut in half.
  const jpeg = await page.evaluate(async () => {
    const c = new OffscreenCanvas(96, 96);
    const g = c.getContext('2d')!;
    g.fillStyle = '#c03020';
    g.fillRect(0, 0, 96, 96);
    return [...new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer())];
  });
  await file.setInputFiles({ name: 'cut.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(jpeg.slice(0, 200)) });
  await expect(error).toContainText('Could not add cut.jpg');
  await expect(page.getByTestId('reference-item')).toHaveCount(0);
  // 16-bit RGB and 8-bit RGBA (alpha is dropped like PIL's convert('RGB'), as in the reference)
  const deep = encode({ width: 100, height: 90, data: new Uint16Array(100 * 90 * 3).fill(40000), channels: 3, depth: 16 });
  await file.setInputFiles(await fixture('deep.png', deep));
  const alpha = encode({ width: 70, height: 70, data: new Uint8Array(70 * 70 * 4).fill(128), channels: 4, depth: 8 });
  await file.setInputFiles(await fixture('alpha.png', alpha));
  await expect(page.getByTestId('reference-item')).toHaveCount(2);
  await expect(page.getByTestId('reference-size')).toHaveText(['100×90 → 96×80', '70×70 → 64×64']);
  // A CMYK JPEG (as Photoshop and Pillow write them): Chromium converts it to RGB itself. Its 96×80
  // thumbnail is the decoded image at 1:1, so it shows the pixels the engine gets.
  await file.setInputFiles(join(PIPELINE_FIXTURES, 'cmyk.jpg'));
  await expect(page.getByTestId('reference-size')).toHaveText(['100×90 → 96×80', '70×70 → 64×64', '96×80 → 96×80']);
  const src = await page.getByTestId('reference-item').last().locator('img').getAttribute('src');
  const got = decode(Buffer.from((src ?? '').replace(/^data:image\/png;base64,/, ''), 'base64'));
  const want = decode(await readFile(join(PIPELINE_FIXTURES, 'cmyk-rgb.png')));
  expect([got.width, got.height]).toEqual([want.width, want.height]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.width * want.height; i++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((got.data[i * got.channels + c] as number) - (want.data[i * want.channels + c] as number));
      max = Math.max(max, d);
      sum += d;
    }
  }
  const mean = sum / (want.width * want.height * 3);
  console.log(`[cmyk] Chromium vs Pillow convert('RGB'): max ${max}, mean ${mean.toFixed(3)} levels`);
  expect(max).toBeLessThanOrEqual(CMYK_MAX_LEVELS);
  expect(mean).toBeLessThanOrEqual(CMYK_MEAN_LEVELS);
});

test('a 12000×8000 photo is downscaled as the reference does, without freezing the page', async ({ page }) => {
  const [w, h] = [12000, 8000];
  // Four flat horizontal bands: 288 MB of RGB that deflates to a few hundred KB.
  const bands: [number, number, number][] = [[200, 40, 40], [40, 200, 40], [40, 40, 200], [230, 230, 230]];
  const rows = bands.map((rgb) => {
    const row = new Uint8Array(w * 3);
    for (let x = 0; x < w; x++) row.set(rgb, 3 * x);
    return row;
  });
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(rows[Math.floor((4 * y) / h)] as Uint8Array, y * w * 3);
  const path = await fixture('big.png', encode({ width: w, height: h, data, channels: 3, depth: 8 }));
  // The reference rule (flux2-klein.md §7.1): s = √(1024²/(w·h)), (int(w·s), int(h·s)), then floor to ×16.
  const s = Math.sqrt((1024 * 1024) / (w * h));
  const [rw, rh] = [Math.trunc(w * s), Math.trunc(h * s)];
  const [pw, ph] = [rw - (rw % 16), rh - (rh % 16)];

  await openApp(page);
  await page.evaluate(() => {
    const longest = { ms: 0 };
    (window as unknown as { longest: typeof longest }).longest = longest;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longest.ms = Math.max(longest.ms, e.duration);
    }).observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  await page.getByTestId('reference-file').setInputFiles(path);
  await expect(page.getByTestId('reference-adding')).toBeVisible();
  await expect(page.getByTestId('reference-size')).toHaveText(`${w}×${h} → ${pw}×${ph}`, { timeout: BIG_TIMEOUT_MS });
  const seconds = (Date.now() - t0) / 1000;
  await expect(page.getByTestId('reference-adding')).toHaveCount(0);
  await expect(page.getByTestId('reference-error')).toHaveCount(0);
  await expect(page.getByTestId('width')).toHaveValue(String(pw)); // the output size follows the reference
  await expect(page.getByTestId('height')).toHaveValue(String(ph));
  const longest = await page.evaluate(() => (window as unknown as { longest: { ms: number } }).longest.ms);
  console.log(`[big] ${w}×${h} → ${pw}×${ph}: added in ${seconds.toFixed(1)} s, longest page task ${longest.toFixed(0)} ms`);
  expect(longest).toBeLessThan(BIG_LONGEST_TASK_MS);
  // The thumbnail shows the four bands in order (from the downscaled image the engine gets).
  const thumb = await page.getByTestId('reference-item').locator('img').getAttribute('src');
  const t = decode(Buffer.from((thumb ?? '').replace(/^data:image\/png;base64,/, ''), 'base64'));
  for (const [k, rgb] of bands.entries()) {
    const y = Math.floor(((k + 0.5) * t.height) / 4);
    const i = (y * t.width + Math.floor(t.width / 2)) * t.channels;
    expect([t.data[i], t.data[i + 1], t.data[i + 2]]).toEqual(rgb);
  }
});

test('too small and too elongated images are refused with the engine wording', async ({ page }) => {
  await openApp(page);
  const file = page.getByTestId('reference-file');
  const error = page.getByTestId('reference-error');
  await file.setInputFiles(await fixture('dot.png', png(1, 1, [255, 0, 0])));
  await expect(error).toHaveText('Could not add dot.png: reference image 1 is 1×1; each side must be at least 64 px.');
  await file.setInputFiles(await fixture('thin.png', png(63, 200, [255, 0, 0])));
  await expect(error).toHaveText('Could not add thin.png: reference image 1 is 63×200; each side must be at least 64 px.');
  // Aspect 10 with both sides ≥ 64 (a 600×60 strip would already fail the side rule).
  await file.setInputFiles(await fixture('strip.png', png(640, 64, [255, 0, 0])));
  await expect(error).toHaveText('Could not add strip.png: reference image 1 is 640×64; the aspect ratio must be at most 8:1.');
  await expect(page.getByTestId('reference-item')).toHaveCount(0);
  await expect(page.getByTestId('width')).toHaveValue('512'); // no reference: the default size stays
});

test('a fifth image is refused; reorder and remove change the order sent', async ({ page }) => {
  await openApp(page);
  const files = [];
  for (const [name, w, h] of [['a.png', 88, 72], ['b.png', 64, 64], ['c.png', 100, 70], ['d.png', 64, 128], ['e.png', 80, 80]] as const) {
    files.push(await fixture(name, png(w, h, [w, h, 0])));
  }
  await page.getByTestId('reference-file').setInputFiles(files);
  await expect(page.getByTestId('reference-error')).toHaveText('Could not add e.png: at most 4 reference images; remove one first.');
  await expect(page.getByTestId('reference-item')).toHaveCount(4);
  await expect.poll(() => names(page)).toEqual(['a.png', 'b.png', 'c.png', 'd.png']);
  await expect(page.getByTestId('reference-size')).toHaveText(['88×72 → 80×64', '64×64 → 64×64', '100×70 → 96×64', '64×128 → 64×128']);
  await expect(page.getByTestId('width')).toHaveValue('80');

  await page.getByRole('button', { name: 'Move a.png right' }).click();
  await expect.poll(() => names(page)).toEqual(['b.png', 'a.png', 'c.png', 'd.png']);
  await expect(page.getByTestId('width')).toHaveValue('64'); // the first reference sets the default size
  // Keyboard: focus the button and press Enter.
  await page.getByRole('button', { name: 'Move d.png left' }).focus();
  await page.keyboard.press('Enter');
  await expect.poll(() => names(page)).toEqual(['b.png', 'a.png', 'd.png', 'c.png']);
  await expect(page.getByRole('button', { name: 'Move b.png left' })).toBeDisabled();

  await page.getByRole('button', { name: 'Remove a.png' }).click();
  await expect.poll(() => names(page)).toEqual(['b.png', 'd.png', 'c.png']);
  await expect(page.getByTestId('reference-error')).toHaveCount(0);
  await page.getByTestId('reference-file').setInputFiles(files[4] as string);
  await expect.poll(() => names(page)).toEqual(['b.png', 'd.png', 'c.png', 'e.png']);
});

test('images can be dropped onto the panel and pasted from the clipboard', async ({ page }) => {
  await openApp(page);
  const bytes = (w: number, h: number) => Array.from(png(w, h, [10, 200, 30]));
  const dropped = await page.evaluateHandle((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'dropped.png', { type: 'image/png' }));
    return dt;
  }, bytes(128, 96));
  await page.getByTestId('reference-panel').dispatchEvent('drop', { dataTransfer: dropped });
  await expect(page.getByTestId('reference-size')).toHaveText('128×96 → 128×96');

  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'pasted.png', { type: 'image/png' }));
    window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, bytes(70, 70));
  await expect(page.getByTestId('reference-size')).toHaveText(['128×96 → 128×96', '70×70 → 64×64']);
  await expect.poll(() => names(page)).toEqual(['dropped.png', 'pasted.png']);
});
