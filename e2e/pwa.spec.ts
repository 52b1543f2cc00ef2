/**
 * The installable, offline app shell (vite-plugin-pwa / Workbox), in Chromium with its real
 * service worker: the manifest and its icons, Chromium's own installability verdict, the precache
 * list against the built files, an offline reload that still starts the engine worker, model bytes
 * kept out of the service worker's caches, and the "new version" prompt. No generation here.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { chromium, expect, test, type Page } from '@playwright/test';
import { decode } from 'fast-png';
import { preview, type PreviewServer } from 'vite';
import { APP_URL, CHROMIUM_PATH, CHROMIUM_WEBGPU_ARGS, DIST_DIR, HUB_URL, REPO_DIR } from './env';
import { expectModelReady, openModelPanels } from './app';
import { SAFETY_RUNTIME } from '../src/safety/browser/files';

interface ManifestIcon {
  src: string;
  sizes: string;
  type: string;
  purpose?: string;
}

/** Waits until the service worker is active (installed, precache filled); returns its script URL. */
async function swActive(page: Page): Promise<string> {
  return page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL ?? '');
}

/** URL paths (no query: Workbox adds `__WB_REVISION__`) of every entry in the Workbox precache. */
async function precachedPaths(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const names = await caches.keys();
    const paths: string[] = [];
    for (const name of names.filter((n) => n.startsWith('workbox-precache'))) {
      for (const req of await (await caches.open(name)).keys()) paths.push(new URL(req.url).pathname);
    }
    return paths.sort();
  });
}

/**
 * Every file of the build, as URL paths, except the service worker itself, its Workbox runtime,
 * kiosk.json (operator-edited settings: network-first runtime cache, see vite.config.ts) and
 * _headers (the static host's headers file, securityHeaders.ts: never fetched by the app) and the
 * safety checker's worker and ONNX Runtime files (SAFETY_RUNTIME: cached when the checker is first used).
 */
async function builtPaths(): Promise<string[]> {
  const root = resolve(REPO_DIR, DIST_DIR);
  const files = await readdir(root, { recursive: true, withFileTypes: true });
  return files
    .filter((f) => f.isFile())
    .map((f) => '/' + relative(root, join(f.parentPath, f.name)).split('\\').join('/'))
    .filter((p) => p !== '/sw.js' && p !== '/kiosk.json' && p !== '/_headers' && !/^\/workbox-[\w-]+\.js$/.test(p) && !SAFETY_RUNTIME.test(p))
    .sort();
}

/**
 * A second `vite preview` of the same build on a free port, where each file named in `rewrite`
 * (URL path → function of the built text) is served rewritten: a new sw.js is a new deployment as
 * the browser sees it; a broken manifest shows that Chromium's installability check can fail.
 */
async function previewRewriting(rewrite: Record<string, (text: string) => string>): Promise<{ server: PreviewServer; url: string }> {
  const dist = resolve(REPO_DIR, DIST_DIR);
  const server = await preview({
    configFile: resolve(REPO_DIR, 'vite.config.ts'),
    root: REPO_DIR,
    logLevel: 'silent',
    build: { outDir: DIST_DIR },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
    plugins: [
      {
        name: 'rewrite-built-files',
        configurePreviewServer(s) {
          s.middlewares.use((req, res, next) => {
            const path = req.url?.split('?')[0] ?? '';
            const edit = rewrite[path];
            if (!edit) return next();
            readFile(join(dist, path), 'utf8').then((text) => {
              res.setHeader('Content-Type', path.endsWith('.js') ? 'text/javascript' : 'application/manifest+json');
              res.setHeader('Cache-Control', 'no-cache');
              res.end(edit(text));
            }, next);
          });
        },
      },
    ],
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report its URL');
  return { server, url: url.replace(/\/$/, '') };
}

/**
 * Chromium's own installability errors for `url` (what its install button and Lighthouse use):
 * manifest fields and display mode, a suitable icon, a secure origin. Needs a persistent profile:
 * in Playwright's default off-the-record contexts the only answer is 'in-incognito'.
 */
async function installabilityErrors(url: string, profileDir: string): Promise<string[]> {
  const context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_WEBGPU_ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await swActive(page);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    return installabilityErrors.map((e) => e.errorId);
  } finally {
    await context.close();
  }
}

test('the manifest is linked and complete, and its icons load with their declared type and size', async ({ page }) => {
  await page.goto('/');
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  expect(href).toBeTruthy();
  const res = await page.request.get(new URL(href ?? '', APP_URL).href);
  expect(res.ok()).toBe(true);
  const manifest = (await res.json()) as Record<string, unknown>;
  expect(manifest).toMatchObject({ name: 'Kleinbild', short_name: 'Kleinbild', start_url: '/', scope: '/', display: 'standalone' });
  expect(manifest.description).toEqual(expect.stringContaining('WebGPU'));
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);

  const icons = manifest.icons as ManifestIcon[];
  const any = icons.filter((i) => (i.purpose ?? 'any').split(' ').includes('any')).map((i) => i.sizes);
  expect(any).toEqual(expect.arrayContaining(['192x192', '512x512']));
  expect(icons.some((i) => i.purpose?.split(' ').includes('maskable'))).toBe(true);
  const appleIcon = await page.locator('link[rel="apple-touch-icon"]').getAttribute('href');
  const declared = [...icons, { src: appleIcon ?? '', sizes: '180x180', type: 'image/png' }];
  for (const icon of declared) {
    const png = await page.request.get(new URL(icon.src, APP_URL).href);
    expect(png.ok(), icon.src).toBe(true);
    expect(png.headers()['content-type'], icon.src).toBe(icon.type);
    const { width, height } = decode(await png.body());
    expect(`${width}x${height}`, icon.src).toBe(icon.sizes);
  }

  const parsed = (await (await page.context().newCDPSession(page)).send('Page.getAppManifest')) as { url: string; errors: unknown[] };
  expect(parsed.url).toBe(new URL(href ?? '', APP_URL).href);
  expect(parsed.errors).toEqual([]); // Chromium's manifest parser found nothing to complain about
});

test('Chromium finds the app installable, and not with a manifest lacking standalone display and icons', async ({}, testInfo) => {
  expect(await installabilityErrors(APP_URL, testInfo.outputPath('profile-app'))).toEqual([]);
  const { server, url } = await previewRewriting({
    '/manifest.webmanifest': (text) => JSON.stringify({ ...JSON.parse(text), display: 'browser', icons: [] }),
  });
  try {
    const errors = await installabilityErrors(url, testInfo.outputPath('profile-broken'));
    expect(errors).toEqual(expect.arrayContaining(['manifest-display-not-supported', 'no-acceptable-icon']));
  } finally {
    await server.close();
  }
});

test('the service worker precaches every built file, the engine worker included, and controls the page after a reload', async ({ page }) => {
  await page.goto('/');
  expect(await swActive(page)).toBe(`${APP_URL}/sw.js`);
  const paths = await precachedPaths(page);
  expect(paths).toEqual(await builtPaths());
  const workerPath = paths.find((p) => /^\/assets\/worker-[\w-]+\.js$/.test(p));
  expect(workerPath, 'engine worker bundle in the precache').toBeTruthy();
  // The WGSL kernels are inlined (?raw) into that bundle: caching it caches them.
  const workerCode = await page.evaluate(async (p) => (await caches.match(p ?? ''))?.text(), workerPath);
  expect(workerCode).toContain('@compute');

  expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull(); // prompt mode: no clients.claim()
  const workerResponse = page.waitForResponse((r) => r.url().endsWith(workerPath ?? '-'));
  await page.reload();
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${APP_URL}/sw.js`);
  expect((await workerResponse).fromServiceWorker()).toBe(true);
  await expect(page.getByTestId('adapter')).toContainText('swiftshader');
});

test('offline after one visit: the app shell loads, deep links fall back to it, and the engine worker starts', async ({ page, context }) => {
  await page.goto('/');
  await swActive(page);
  await context.setOffline(true);
  try {
    // Offline for real: the page cannot reach the server for anything the service worker lacks.
    const probe = await page.evaluate(() => fetch(`/not-precached-${Date.now()}.txt`).then(() => 'reached', () => 'failed'));
    expect(probe).toBe('failed');

    await page.reload();
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Kleinbild');
    await expect(page.getByTestId('adapter')).toContainText('swiftshader'); // worker bundle from the precache, WebGPU up
    await expect(page.getByTestId('load-button')).toBeEnabled();

    await page.goto('/some/deep/link'); // navigateFallback: index.html for any navigation
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Kleinbild');
    await expect(page.getByTestId('adapter')).toContainText('swiftshader');
  } finally {
    await context.setOffline(false);
  }
});

test('loading a model over the network leaves the service worker caches as they were (and is announced)', async ({ page, context }) => {
  await page.goto('/');
  await swActive(page);
  await page.reload(); // now the page and its engine worker are service-worker clients
  const before = await page.evaluate(() => caches.keys());
  const precacheBefore = await precachedPaths(page);
  const hubResponses: boolean[] = [];
  context.on('response', (r) => {
    // the engine worker's requests reach the context, not the page
    if (r.url().startsWith(HUB_URL)) hubResponses.push(r.fromServiceWorker());
  });

  // Every text the polite live region takes, however briefly.
  await page.getByTestId('live-status').evaluate((region) => {
    const said: string[] = [];
    (window as unknown as { said: string[] }).said = said;
    new MutationObserver(() => said.push(region.textContent ?? '')).observe(region, { childList: true, subtree: true, characterData: true });
  });
  await openModelPanels(page);
  await page.getByTestId('model-source').fill(`${HUB_URL}/model-a`);
  await page.getByTestId('load-button').click();
  await expectModelReady(page, 180_000);
  await expect(page.getByTestId('live-status')).toHaveText('Model loaded.');
  expect(await page.evaluate(() => (window as unknown as { said: string[] }).said)).toEqual(['Loading the model…', 'Model loaded.']);

  expect(await page.evaluate(() => caches.keys())).toEqual(before);
  expect(await precachedPaths(page)).toEqual(precacheBefore);
  const urls = await page.evaluate(async () => {
    const all: string[] = [];
    for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) all.push(req.url);
    return all;
  });
  expect(urls.filter((u) => !u.startsWith(APP_URL))).toEqual([]);
  expect(hubResponses.length).toBeGreaterThan(0);
  expect(hubResponses.filter((fromSw) => fromSw)).toEqual([]);
});

test('a new service worker version shows the update prompt, and Reload switches to it', async ({ page }) => {
  let version = 1;
  const { server, url } = await previewRewriting({ '/sw.js': (code) => `${code}\n// deployment ${version}\n` });
  try {
    await page.goto(url);
    await swActive(page);
    await page.reload();
    await expect(page.getByTestId('adapter')).toBeVisible();
    await expect(page.getByTestId('update-prompt')).toBeHidden();
    const registration = () =>
      page.evaluate(async () => {
        const r = await navigator.serviceWorker.getRegistration();
        return { waiting: Boolean(r?.waiting), controlled: navigator.serviceWorker.controller !== null };
      });

    version = 2;
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await expect(page.getByTestId('update-prompt')).toContainText('A new version of Kleinbild is available.');
    expect(await registration()).toEqual({ waiting: true, controlled: true }); // the old version still runs

    await Promise.all([page.waitForEvent('load'), page.getByTestId('update-reload').click()]);
    await expect(page.getByTestId('adapter')).toBeVisible();
    expect(await registration()).toEqual({ waiting: false, controlled: true });
    await expect(page.getByTestId('update-prompt')).toBeHidden();
  } finally {
    await server.close();
  }
});
