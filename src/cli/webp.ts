/**
 * WebP file → RGBA8 reference image (Node), with libwebp's decoder built to wasm (@jsquash/webp, the
 * Squoosh build): lossy (VP8), lossless (VP8L) and extended (VP8X) still images, through libwebp's
 * still-image API (WebPDecodeRGBA, which does not decode animations). Alpha is kept in the RGBA
 * output (the pipeline ignores it). Also the loader that instantiates a jsquash Emscripten codec in
 * Node, shared with imageEncode.ts.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import webpDecFactory from '@jsquash/webp/codec/dec/webp_dec.js';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/types';

/** True when the bytes start with a RIFF header of form type WEBP ("RIFF", size (4), "WEBP"). */
export function isWebp(bytes: Uint8Array): boolean {
  return fourcc(bytes, 0) === 'RIFF' && fourcc(bytes, 8) === 'WEBP';
}

/** The four ASCII characters at `at`, or '' when the bytes end first. */
function fourcc(b: Uint8Array, at: number): string {
  if (b.length < at + 4) return '';
  return String.fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number);
}

/** Messages the codec wrote to stderr during one call, so a failure can say why. */
export interface CodecLog {
  errors: string[];
}

/** Compiled codec wasm by package path: compiled once per process. */
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * A fresh instance of a jsquash Emscripten codec: `factory` is the package's codec .js, `wasmPath`
 * its .wasm (a package path such as '@jsquash/webp/codec/dec/webp_dec.wasm'), read through
 * createRequire and compiled once, then handed over with `instantiateWasm` as jpeg.ts does (the
 * factory's own loader fetches a URL, which Node cannot). One instance per call: a codec error
 * exits the instance, and a large image's grown wasm memory is freed with it.
 */
export async function instantiateCodec<M>(factory: (options: object) => Promise<unknown>, wasmPath: string, log: CodecLog): Promise<M> {
  let wasm = compiled.get(wasmPath);
  if (!wasm) {
    wasm = readFile(createRequire(import.meta.url).resolve(wasmPath)).then((b) => WebAssembly.compile(b));
    compiled.set(wasmPath, wasm);
  }
  const module = await wasm;
  const options = {
    noInitialRun: true,
    printErr: (s: string) => log.errors.push(s),
    instantiateWasm: (imports: WebAssembly.Imports, done: (m: WebAssembly.Module) => void) => {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance as unknown as WebAssembly.Module); // Emscripten's callback takes the instance
      return instance.exports;
    },
  };
  return (await factory(options)) as M;
}

interface WebpDecoder {
  decode(data: BufferSource): { width: number; height: number; data: Uint8ClampedArray } | null;
}

/** Decodes WebP bytes (lossy, lossless, with or without alpha) to RGBA8. Errors: InvalidInput naming `what`. */
export async function webpToRgba(bytes: Uint8Array, what = 'image'): Promise<ReferenceImage> {
  const log: CodecLog = { errors: [] };
  let image: ReturnType<WebpDecoder['decode']> = null;
  try {
    if (!isWebp(bytes)) throw new Error('no RIFF WEBP header');
    const decoder = await instantiateCodec<WebpDecoder>(webpDecFactory, '@jsquash/webp/codec/dec/webp_dec.wasm', log);
    image = decoder.decode(bytes.slice().buffer);
    if (!image) throw new Error(log.errors.join('; ') || 'libwebp could not decode it');
  } catch (e) {
    throw new InvalidInput(`${what}: not a readable WebP (${e instanceof Error ? e.message : String(e)})`);
  }
  return { width: image.width, height: image.height, rgba: image.data };
}
