/**
 * WebP file → RGBA8 reference image (Node), with libwebp's decoder built to wasm (@jsquash/webp, the
 * Squoosh build): lossy (VP8), lossless (VP8L) and extended (VP8X) still images, through libwebp's
 * still-image API (WebPDecodeRGBA, which does not decode animations). Alpha is kept in the RGBA
 * output (the pipeline ignores it).
 */
import webpDecFactory from '@jsquash/webp/codec/dec/webp_dec.js';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/types';
import { type CodecLog, instantiateCodec } from './codec';

/** True when the bytes start with a RIFF header of form type WEBP ("RIFF", size (4), "WEBP"). */
export function isWebp(bytes: Uint8Array): boolean {
  return fourcc(bytes, 0) === 'RIFF' && fourcc(bytes, 8) === 'WEBP';
}

/** The four ASCII characters at `at`, or '' when the bytes end first. */
function fourcc(b: Uint8Array, at: number): string {
  if (b.length < at + 4) return '';
  return String.fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number);
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
