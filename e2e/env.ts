/** Ports, paths and browser flags shared by the Playwright config, global setup and specs. */
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

export const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Build output of the app under test ($KLEINBILD_DIST lets parallel runs use separate folders). */
export const DIST_DIR = process.env.KLEINBILD_DIST ?? 'dist';

/** `vite preview` (the built app). 127.0.0.1 is a secure context, so navigator.gpu exists. */
export const APP_PORT = Number(process.env.KLEINBILD_APP_PORT ?? 4173);
export const APP_URL = `http://127.0.0.1:${APP_PORT}`;

/** The hub-like model server (hubServer.ts); a different origin from the app, as the real hub is. */
export const HUB_PORT = Number(process.env.KLEINBILD_HUB_PORT ?? 4180);
export const HUB_URL = `http://127.0.0.1:${HUB_PORT}`;

/** Golden data: $KLEINBILD_GOLDEN, else the repository's test/golden. */
export const GOLDEN_DIR = process.env.KLEINBILD_GOLDEN ?? resolve(REPO_DIR, 'test/golden');

/**
 * Packs made by globalSetup (`npm run pack` of the golden model-a) are cached here, one folder per
 * hash of the converter's sources, and served by the hub server as `/<name>/…`.
 */
export const PACK_CACHE_DIR = process.env.KLEINBILD_PACK_CACHE ?? join(tmpdir(), 'kleinbild-e2e-packs');

/** The q4 pack of model-a in 64 KiB chunks (141 chunks: resume and fault tests have many to work with). */
export const PACK_A = { name: 'pack-a', quant: 'q4', chunkBytes: 65536 } as const;

/** The folder of the golden model as GGUF files on the hub server (e2e/ggufFixture.ts): `/gguf-a/flux.gguf`, `/gguf-a/qwen3.gguf`. */
export const GGUF_A = 'gguf-a';

/** Debian's chromium (never a downloaded browser); see docs/webgpu-ci.md §2. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The only flag WebGPU needs on a GPU-less machine: SwiftShader is blocklisted without it. */
export const CHROMIUM_WEBGPU_ARGS = [...CHROMIUM_BASE_ARGS, '--enable-unsafe-webgpu'];
