/**
 * JPEG file → RGBA8 reference image (Node), as Pillow's `Image.open(...).convert('RGB')` gives it
 * in diffusers:
 * - YCbCr and gray JPEGs: libjpeg-turbo (MozJPEG's decoder built to wasm, @jsquash/jpeg), the
 *   library Pillow links, with the same defaults (islow IDCT, fancy upsampling): the same pixels.
 * - CMYK JPEGs (4 components, Adobe APP14 marker, as Photoshop and Pillow write them): libjpeg-turbo
 *   has no CMYK → RGB conversion, so jpeg-js decodes them; both compute R = (255 − C)(255 − K)/255
 *   (Pillow cmyk2rgb), jpeg-js truncating where Pillow rounds: ≤ 1 level apart (jpeg.test.ts).
 *   No ICC profile is applied, as in Pillow.
 * EXIF orientation is ignored, as `Image.open` does.
 */
import mozjpegFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import { decode as decodeJpegJs } from 'jpeg-js';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/references';
import { type CodecLog, instantiateCodec } from './codec';

/** jpeg-js refuses larger images (its default is 100 MP / 512 MB). */
const MAX_MEGAPIXELS = 150;
const MAX_MEMORY_MB = 4096;

/** True when the bytes start with a JPEG SOI marker and a marker after it. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Colour components in the first frame header (SOF0…SOF15), or 0 when none is found. */
function frameComponents(b: Uint8Array): number {
  let p = 2;
  while (p + 9 < b.length) {
    if (b[p] !== 0xff) return 0;
    const m = b[p + 1] as number;
    if (m === 0xff) {
      p += 1; // fill byte
    } else if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return b[p + 9] as number; // FF Cn, length (2), precision, height (2), width (2), Nf
    } else {
      p += 2 + (((b[p + 2] as number) << 8) | (b[p + 3] as number));
    }
  }
  return 0;
}

interface JpegDecoder {
  decode(data: ArrayBuffer, preserveOrientation: boolean): ImageData | null;
}

/** libjpeg-turbo decode to RGBA; a fresh wasm instance per call (a libjpeg error exits the instance). */
async function decodeLibjpeg(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  const log: CodecLog = { errors: [] };
  const { errors } = log;
  const module = await instantiateCodec<JpegDecoder>(mozjpegFactory as (o: object) => Promise<unknown>, '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm', log);
  let image: ImageData | null = null;
  try {
    image = module.decode(bytes.slice().buffer, false);
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
  }
  if (!image) throw new Error(errors.join('; ') || 'libjpeg-turbo returned nothing');
  // libjpeg fills a truncated scan with gray and only warns; Pillow refuses ("image file is truncated").
  const truncated = errors.find((m) => m.includes('Premature end of JPEG file'));
  if (truncated) throw new Error(truncated);
  return image;
}

/** Decodes JPEG bytes (YCbCr, gray or Adobe CMYK) to RGBA8 (alpha 255). Errors: InvalidInput naming `what`. */
export async function jpegToRgba(bytes: Uint8Array, what = 'image'): Promise<ReferenceImage> {
  const components = frameComponents(bytes);
  try {
    if (components === 4) {
      const img = decodeJpegJs(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: MAX_MEMORY_MB });
      return { width: img.width, height: img.height, rgba: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length) };
    }
    const img = await decodeLibjpeg(bytes);
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    const kind = components === 4 ? 'CMYK JPEG' : 'JPEG';
    throw new InvalidInput(`${what}: not a readable ${kind} (${e instanceof Error ? e.message : String(e)})`);
  }
}
