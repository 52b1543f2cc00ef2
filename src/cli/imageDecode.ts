/**
 * Image file bytes (PNG, JPEG or WebP, told apart by their headers) → RGBA8 reference image (Node),
 * for the CLI and the HTTP server. The size in the header is checked first, so a decompression bomb is
 * refused before any decoder allocates its pixels. Alpha is kept in the RGBA output (the pipeline
 * ignores it).
 */
import type { ReferenceImage } from '../pipeline/types';
import { checkReferenceHeader } from './imageHeader';
import { jpegToRgba } from './jpeg';
import { pngToRgba } from './png';
import { isWebp, webpToRgba } from './webp';

/**
 * Decodes a PNG, JPEG or WebP to RGBA8 ([H, W, 4]). Errors: InvalidInput naming `what` when the bytes
 * are none of these formats, declare more than MAX_REFERENCE_PIXELS (before decoding), or do not decode.
 */
export async function decodeImage(bytes: Uint8Array, what: string): Promise<ReferenceImage> {
  checkReferenceHeader(bytes, what); // past it, the bytes open with a PNG signature, a JPEG SOI or RIFF WEBP
  if (isWebp(bytes)) return webpToRgba(bytes, what);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegToRgba(bytes, what); // SOI (libjpeg skips garbage after it)
  return pngToRgba(bytes, what);
}
