/**
 * A reference image's size from its header, read before any decoding: a PNG, JPEG or WebP of a few
 * KB may claim 100 000² pixels (a "decompression bomb": a 12000×12000 gray PNG of one value is
 * ≈ 140 KB), and the decoders allocate every pixel before they look at the data. fast-png, jpeg-js
 * and the jsquash wasm codecs offer no header-only read, so this parses the PNG IHDR, the JPEG frame
 * header (SOFn) and the WebP VP8X / VP8L / VP8 header itself.
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

/** The four ASCII characters at `at` (a RIFF chunk id); fewer when the bytes end first. */
const fourcc = (b: Uint8Array, at: number): string => String.fromCharCode(...b.subarray(at, at + 4));

/**
 * Width and height of a WebP from the first chunk after the RIFF header (offset 12), as libwebp's
 * WebPGetInfo reads them (RFC 9649): VP8X, the canvas, 24-bit width−1 and height−1 (little-endian) at
 * offsets 24 and 27; VP8L, signature 0x2f at 20, then 14-bit width−1 and height−1 in the next 28 bits
 * (LSB first); VP8 (lossy), a 3-byte key-frame tag at 20, start code 9d 01 2a, then 16-bit width and
 * height whose low 14 bits are the size (the top 2 an upscaling hint). Null when the bytes end first
 * or the chunk is none of these.
 */
function webpSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 16 || fourcc(b, 0) !== 'RIFF' || fourcc(b, 8) !== 'WEBP') return null;
  const u = (i: number) => b[i] as number;
  const u24 = (i: number) => u(i) | (u(i + 1) << 8) | (u(i + 2) << 16);
  switch (fourcc(b, 12)) {
    case 'VP8X':
      if (b.length < 30) return null;
      return { width: u24(24) + 1, height: u24(27) + 1 };
    case 'VP8L': {
      if (b.length < 25 || u(20) !== 0x2f) return null;
      const bits = (u(21) | (u(22) << 8) | (u(23) << 16) | (u(24) << 24)) >>> 0;
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    case 'VP8 ':
      if (b.length < 30 || (u(20) & 1) !== 0 || u(23) !== 0x9d || u(24) !== 0x01 || u(25) !== 0x2a) return null; // bit 0 clear: key frame
      return { width: (u(26) | (u(27) << 8)) & 0x3fff, height: (u(28) | (u(29) << 8)) & 0x3fff };
    default:
      return null;
  }
}

/** The size a PNG, JPEG or WebP declares in its header, or null when `bytes` hold none of these headers. */
export function imageHeaderSize(bytes: Uint8Array): { width: number; height: number } | null {
  return pngSize(bytes) ?? jpegSize(bytes) ?? webpSize(bytes);
}

/**
 * Throws InvalidInput naming `what` unless `bytes` start with a PNG, JPEG or WebP header whose size
 * is at most MAX_REFERENCE_PIXELS: called before the image is decoded.
 */
export function checkReferenceHeader(bytes: Uint8Array, what: string): void {
  const size = imageHeaderSize(bytes);
  if (!size) throw new InvalidInput(`${what}: not a PNG, JPEG or WebP (no PNG IHDR, JPEG frame header or WebP VP8X/VP8L/VP8 header where the format puts it)`);
  const { width, height } = size;
  if (width * height > MAX_REFERENCE_PIXELS) {
    const mp = ((width * height) / (1024 * 1024)).toFixed(1);
    throw new InvalidInput(`${what}: ${width}×${height} is ${mp} MP; references may have at most ${MAX_REFERENCE_PIXELS / (1024 * 1024)} MP (downscale it first)`);
  }
}
