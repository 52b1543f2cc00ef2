/**
 * `kleinbild/sdk` inside another web app: e2e/sdk-consumer (no React, its own vite.config.ts) is
 * built with Vite's JS API, `kleinbild/sdk` resolved by an alias to src/sdk/index.ts (standing in for
 * the package's `exports` entry), and served by `vite preview` on a port of its own. The page runs the
 * AI SDK's generateImage on the local provider (64², 1 step: SwiftShader is slow) with the tiny golden
 * model from the hub server. Checks: the build holds the engine worker as its own same-origin file
 * with no bare or remote imports, the image is a 64×64 PNG, createGenerator's abort rejects with
 * Cancelled, and only the app's and the hub's origins were contacted.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { decode } from 'fast-png';
import { build, parseAst, preview, type PreviewServer } from 'vite';
import { HUB_URL, REPO_DIR } from './env';

const CONSUMER_DIR = join(REPO_DIR, 'e2e', 'sdk-consumer');
const SIZE = 64;
/** Load + one 64² step on SwiftShader: about a minute on 2 cores (the first run compiles the shaders). */
const RUN_TIMEOUT_MS = 480_000;

test.describe.configure({ mode: 'serial' });

let outDir: string;
let server: PreviewServer;
let appOrigin: string;

test.beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'kleinbild-sdk-consumer-'));
  const configFile = join(CONSUMER_DIR, 'vite.config.ts');
  await build({
    root: CONSUMER_DIR,
    configFile,
    logLevel: 'warn',
    resolve: { alias: { 'kleinbild/sdk': join(REPO_DIR, 'src', 'sdk', 'index.ts') } },
    build: { outDir, emptyOutDir: true },
  });
  server = await preview({ root: CONSUMER_DIR, configFile, logLevel: 'warn', build: { outDir }, preview: { port: 0, strictPort: true } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview reported no local URL');
  appOrigin = new URL(url).origin;
});

test.afterAll(async () => {
  await server?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** The built JS files by name (under assets/). */
async function builtScripts(): Promise<Map<string, string>> {
  const files = (await readdir(join(outDir, 'assets'))).filter((f) => f.endsWith('.js'));
  return new Map(await Promise.all(files.map(async (f) => [f, await readFile(join(outDir, 'assets', f), 'utf8')] as const)));
}

/** A string literal's value, a template literal's when it has no `${}`; null for anything computed. */
function constantString(node: AstNode | undefined): string | null {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions?.length === 0) return node.quasis?.[0]?.value?.cooked ?? null;
  return null;
}

type AstNode = {
  type?: string;
  value?: unknown;
  source?: AstNode | null;
  expressions?: AstNode[];
  quasis?: { value?: { cooked?: string } }[];
  callee?: AstNode & { name?: string };
  arguments?: AstNode[];
  property?: { name?: string };
  object?: AstNode;
  left?: AstNode;
  right?: AstNode;
};

/** `import.meta.url`, also as Vite writes it: `"" + import.meta.url`. */
function isMetaUrl(node: AstNode | undefined): boolean {
  if (node?.type === 'BinaryExpression') return isMetaUrl(node.left) || isMetaUrl(node.right);
  return node?.type === 'MemberExpression' && node.object?.type === 'MetaProperty' && node.property?.name === 'url';
}

/**
 * What a built file loads: the sources of its import/export declarations and import() calls, and the
 * first argument of every `new URL(x, import.meta.url)`, from Vite's parser (minified code fools
 * regular expressions: bundled libraries hold code snippets in strings). '<computed>' for a
 * specifier that is not a constant string.
 */
function loadedSpecifiers(code: string, file: string): string[] {
  const out: string[] = [];
  const stack: unknown[] = [parseAst(code, {}, file)];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!node || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    const n = node as AstNode;
    const loads = ['ImportDeclaration', 'ExportNamedDeclaration', 'ExportAllDeclaration', 'ImportExpression'].includes(n.type ?? '') && n.source;
    if (loads) out.push(constantString(n.source ?? undefined) ?? '<computed>');
    if (n.type === 'NewExpression' && n.callee?.name === 'URL' && isMetaUrl(n.arguments?.[1])) out.push(constantString(n.arguments?.[0]) ?? '<computed>');
    for (const v of Object.values(n)) if (v && typeof v === 'object') stack.push(v);
  }
  return out;
}

/** The engine worker's file name, from the entry's `new Worker(new URL('/assets/…', import.meta.url), { …, name: 'kleinbild-engine' })`. */
async function workerFile(): Promise<string> {
  const html = await readFile(join(outDir, 'index.html'), 'utf8');
  const entry = /<script type="module"[^>]* src="\/assets\/([^"]+\.js)"/.exec(html)?.[1];
  expect(entry, 'index.html loads one module entry from /assets').toBeTruthy();
  const code = (await builtScripts()).get(entry as string) ?? '';
  const match = /new Worker\(new URL\(["'`]\/assets\/([^"'`]+\.js)["'`],[^)]*import\.meta\.url\),\s*\{[^}]*name:\s*["'`]kleinbild-engine["'`]/.exec(code);
  expect(match, 'the entry starts the engine worker from a same-origin /assets URL').not.toBeNull();
  return (match as RegExpExecArray)[1] as string;
}

test('the build emits the engine worker as its own same-origin module, with no bare or remote imports', async () => {
  const scripts = await builtScripts();
  const worker = await workerFile();
  const loadedByAll = [...scripts].flatMap(([file, code]) => loadedSpecifiers(code, file));
  expect(loadedByAll, 'the scan sees the worker URL').toContain(`/assets/${worker}`);
  const workerCode = scripts.get(worker);
  expect(workerCode, `assets/${worker} exists`).toBeDefined();
  expect(workerCode).toContain('@compute'); // the WGSL kernels are inlined into it
  for (const [file, code] of scripts) {
    expect(code, `${file} calls importScripts`).not.toMatch(/\bimportScripts\s*\(/);
    for (const spec of loadedSpecifiers(code, file)) {
      expect(spec, `${file} imports ${spec}`).toMatch(/^(\.{1,2})?\//); // ./x, ../x or /x: same origin, no bare name, no URL
    }
  }
});

test('generateImage in local mode renders a 64×64 PNG from the hub model, contacting no other origin', async ({ page }) => {
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[browser] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));

  await page.goto(`${appOrigin}/?model=${encodeURIComponent(`${HUB_URL}/model-a`)}`);
  await expect(page.locator('#capabilities')).toHaveText(/^WebGPU ready/, { timeout: 60_000 });
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.locator('#status')).toHaveText(/^(Done|Failed)/, { timeout: RUN_TIMEOUT_MS });
  await expect(page.locator('#status')).toHaveText(new RegExp(`^Done: image/png ${SIZE}x${SIZE}, seed 1, \\d+ bytes, 0 warnings`));

  const bytes = await page.locator('#output').evaluate(async (img) => Array.from(new Uint8Array(await (await fetch((img as HTMLImageElement).src)).arrayBuffer())));
  const png = Uint8Array.from(bytes);
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const image = decode(png);
  expect([image.width, image.height]).toEqual([SIZE, SIZE]);
  expect(new Set(image.data).size, 'the image is not one flat colour').toBeGreaterThan(1);

  // createGenerator on its own: an abort at the first progress report rejects with Cancelled
  await page.getByRole('button', { name: 'Start and cancel' }).click();
  await expect(page.locator('#cancel-status')).toHaveText(/^Cancelled after [1-9]\d* progress report/, { timeout: RUN_TIMEOUT_MS });

  const origins = new Set(requested.filter((u) => /^https?:/.test(u)).map((u) => new URL(u).origin));
  expect([...origins].sort()).toEqual([appOrigin, HUB_URL].sort()); // the hub's requests come from the worker: worker traffic is seen
  expect(requested).toContain(`${appOrigin}/assets/${await workerFile()}`);
});
