/**
 * A reference image's size from its header, read before any decoding: a PNG or JPEG of a few KB
 * may claim 100 000² pixels (a "decompression bomb": a 12000×12000 gray PNG of one value is ≈ 140 KB),
 * and the decoders allocate every pixel before they look at the data. fast-png and jpeg-js offer no
 * header-only read, so this parses the PNG IHDR and the JPEG frame header (SOFn) itself.
 */
import { InvalidInput } from '../errors';

/**
 * Largest reference image the CLI decodes, in pixels (1 MP = 1024² px): the app's limit,
 * src/ui/referenceRules.ts MAX_PIXELS (the CLI may not import ui/; imageHeader.test.ts checks the two
 * agree). 150 MP is 600 MiB of RGBA8.
 */
export const MAX_REFERENCE_PIXELS = 150 * 1024 * 1024;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR, which the format requires to be the first chunk; null when it is not there. */
function pngSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 24 || PNG_SIGNATURE.some((v, i) => b[i] !== v)) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(8) !== 13 || String.fromCharCode(b[12] as number, b[13] as number, b[14] as number, b[15] as number) !== 'IHDR') return null;
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/**
 * Width and height from a JPEG's first frame header (SOF0…SOF15 but DHT, JPG, DAC), walking the
 * markers as libjpeg does (bytes that are not a marker are skipped, 0xFF fill bytes too); null when
 * the scan or the end comes first.
 */
function jpegSize(b: Uint8Array): { width: number; height: number } | null {
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let p = 2;
  for (;;) {
    while (p < b.length && b[p] !== 0xff) p++; // garbage before a marker (libjpeg warns and skips it)
    while (p < b.length && b[p] === 0xff) p++; // fill bytes
    if (p >= b.length) return null;
    const m = b[p++] as number;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // no length
    if (m === 0xd9 || m === 0xda) return null; // end of image or start of scan before any frame header
    if (p + 2 > b.length) return null;
    const len = ((b[p] as number) << 8) | (b[p + 1] as number);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (p + 7 > b.length) return null;
      // length (2), precision (1), height (2), width (2)
      return { height: ((b[p + 3] as number) << 8) | (b[p + 4] as number), width: ((b[p + 5] as number) << 8) | (b[p + 6] as number) };
    }
    if (len < 2) return null;
    p += len;
  }
}

/** The size a PNG or JPEG declares in its header, or null when `bytes` hold neither header. */
export function imageHeaderSize(bytes: Uint8Array): { width: number; height: number } | null {
  return pngSize(bytes) ?? jpegSize(bytes);
}

/**
 * Throws InvalidInput naming `what` unless `bytes` start with a PNG or JPEG header whose size is at
 * most MAX_REFERENCE_PIXELS: called before the image is decoded.
 */
export function checkReferenceHeader(bytes: Uint8Array, what: string): void {
  const size = imageHeaderSize(bytes);
  if (!size) throw new InvalidInput(`${what}: not a PNG or JPEG (no PNG IHDR or JPEG frame header where the format puts it)`);
  const { width, height } = size;
  if (width * height > MAX_REFERENCE_PIXELS) {
    const mp = ((width * height) / (1024 * 1024)).toFixed(1);
    throw new InvalidInput(`${what}: ${width}×${height} is ${mp} MP; references may have at most ${MAX_REFERENCE_PIXELS / (1024 * 1024)} MP (downscale it first)`);
  }
}
