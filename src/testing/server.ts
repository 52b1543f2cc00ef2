/**
 * Test support for the OpenAI-compatible server (src/server/): a server on the golden tiny model
 * (CPU reference backend unless told otherwise: ≈ 5 s per 64² image of one step), the CLI's PNG for
 * the same arguments, and small reference images in the three accepted formats.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeImage } from '../cli/imageEncode';
import { main as generateMain } from '../cli/generate';
import { startServer, type RunningServer, type ServerOptions } from '../server/serve';
import { GOLDEN_DIR } from './golden';

export const GOLDEN_MODEL = join(GOLDEN_DIR, 'model-a');
/** The golden edit case's reference (PNG). */
export const GOLDEN_REF = join(GOLDEN_DIR, 'cases', 'edit-1ref', 'ref0.png');

/** A server on the golden model, listening on a free port of 127.0.0.1, model loaded; `lines` gets its log. */
export async function goldenServer(o: Partial<ServerOptions> = {}): Promise<RunningServer & { lines: string[] }> {
  const lines: string[] = [];
  const s = await startServer({ model: GOLDEN_MODEL, backend: 'cpu', port: 0, waitForModel: true, log: (l) => lines.push(l), ...o });
  return Object.assign(s, { lines });
}

/** `npm run generate` on the golden model with `args` (CPU backend unless given) → the PNG's bytes. */
export async function cliPng(args: string[]): Promise<Uint8Array> {
  const out = join(await mkdtemp(join(tmpdir(), 'kleinbild-serve-')), 'out.png');
  const code = await generateMain(['--model', GOLDEN_MODEL, '--backend', 'cpu', ...args, '--out', out]);
  if (code !== 0) throw new Error(`generate exited ${code}`);
  return new Uint8Array(await readFile(out));
}

/** A w×h RGBA gradient in `format` (a reference image for edits). */
export async function testImage(w: number, h: number, format: 'png' | 'jpeg' | 'webp'): Promise<Uint8Array> {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rgba.set([(x * 255) / w, (y * 255) / h, 128, 255], (y * w + x) * 4);
  }
  return encodeImage(rgba, w, h, format, 90);
}

/** Polls `check` every `everyMs` until it returns true or `ms` pass; returns whether it did. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}
