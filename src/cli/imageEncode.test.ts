/**
 * imageEncode.ts and imageDecode.ts: the PNG is byte for byte the CLI's; JPEG and WebP round-trip
 * through our decoders within the lossy codecs' error and shrink with quality; decodeImage picks the
 * decoder by header and refuses a decompression bomb before any decoder runs.
 */
import { decode as decodePng, encode as encodePng } from 'fast-png';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/types';

const spies = vi.hoisted(() => ({ png: vi.fn(), jpeg: vi.fn(), webp: vi.fn() }));
vi.mock('./png', async (importOriginal) => {
  const real = await importOriginal<typeof import('./png')>();
  return { ...real, pngToRgba: (...a: Parameters<typeof real.pngToRgba>) => (spies.png(...a), real.pngToRgba(...a)) };
});
vi.mock('./jpeg', async (importOriginal) => {
  const real = await importOriginal<typeof import('./jpeg')>();
  return { ...real, jpegToRgba: (...a: Parameters<typeof real.jpegToRgba>) => (spies.jpeg(...a), real.jpegToRgba(...a)) };
});
vi.mock('./webp', async (importOriginal) => {
  const real = await importOriginal<typeof import('./webp')>();
  return { ...real, webpToRgba: (...a: Parameters<typeof real.webpToRgba>) => (spies.webp(...a), real.webpToRgba(...a)) };
});
const { MEDIA_TYPES, encodeImage, encodePngRgb } = await import('./imageEncode');
const { decodeImage } = await import('./imageDecode');
const { jpegToRgba } = await import('./jpeg');

/**
 * MozJPEG at quality 100 (4:2:0 chroma, progressive) decoded by libjpeg-turbo, on testImage(37, 21):
 * observed max 4, mean 0.42 levels, from chroma subsampling (a gray ramp of the same size round-trips exactly).
 */
const JPEG_Q100_MAX_LEVELS = 6;
const JPEG_Q100_MEAN_LEVELS = 0.6;
/**
 * decodeImage on a 20000×20000 header must throw within this: the header check reads at most a few
 * hundred bytes (observed < 1 ms), while decoding would first allocate 20000² × 4 B = 1.5 GiB.
 */
const HEADER_REFUSAL_MS = 100;

const [W, H] = [37, 21];

/** [H, W, 4] RGBA8, odd sizes (partial blocks): ramps in R and G, a sine in B, alpha `alpha`. */
function testImage(alpha = 255): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) rgba.set([x * 7, y * 12, 128 + Math.round(100 * Math.sin(x / 5 + y / 4)), alpha], (y * W + x) * 4);
  }
  return rgba;
}

/** Largest and mean RGB difference in levels; alpha must be 255. */
function levels(got: ReferenceImage, want: Uint8ClampedArray): { max: number; mean: number } {
  expect([got.width, got.height]).toEqual([W, H]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs((got.rgba[i] as number) - (want[i] as number));
    max = Math.max(max, d);
    sum += d;
  }
  expect(got.rgba.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
  return { max, mean: sum / (W * H * 3) };
}

describe('encodePngRgb', () => {
  it("is fast-png's 8-bit RGB encode of the pixels, alpha dropped: the CLI's bytes", () => {
    const rgba = testImage(7);
    const rgb = new Uint8Array(W * H * 3).map((_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)] as number);
    const want = encodePng({ width: W, height: H, data: rgb, channels: 3, depth: 8 });
    expect(encodePngRgb(rgba, W, H)).toEqual(want);
    expect(encodePngRgb(new Uint8Array(rgba), W, H)).toEqual(want);
    const back = decodePng(encodePngRgb(rgba, W, H));
    expect([back.width, back.height, back.channels, back.depth]).toEqual([W, H, 3, 8]);
    expect(back.data).toEqual(rgb);
  });

  it('refuses pixels that are not width×height×4 bytes', () => {
    expect(() => encodePngRgb(new Uint8Array(10), 2, 2)).toThrow('image to encode: 2×2 needs 16 RGBA bytes, got 10');
  });
});

describe('encodeImage', () => {
  it('png is encodePngRgb whatever the quality', async () => {
    const rgba = testImage();
    expect(await encodeImage(rgba, W, H, 'png', 3)).toEqual(encodePngRgb(rgba, W, H));
    expect(MEDIA_TYPES).toEqual({ png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' });
  });

  it('jpeg round-trips through jpegToRgba within the codec error and shrinks at quality 50', async () => {
    const rgba = testImage(0); // alpha is dropped, not composited
    const q100 = await encodeImage(rgba, W, H, 'jpeg');
    expect([...q100.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const { max, mean } = levels(await jpegToRgba(q100), rgba);
    const q50 = await encodeImage(rgba, W, H, 'jpeg', 50);
    console.log(`[jpeg] MozJPEG q100 round trip: max ${max}, mean ${mean.toFixed(2)} levels; ${q100.length} B at q100, ${q50.length} B at q50`);
    expect(max).toBeLessThanOrEqual(JPEG_Q100_MAX_LEVELS);
    expect(mean).toBeLessThanOrEqual(JPEG_Q100_MEAN_LEVELS);
    expect(q50.length).toBeLessThan(q100.length);
  });

  it('webp is lossy and opaque (a bare VP8 chunk: no VP8X/ALPH), smaller at quality 50; round trip: webp.test.ts', async () => {
    const rgba = testImage(0);
    const q100 = await encodeImage(rgba, W, H, 'webp');
    const q50 = await encodeImage(rgba, W, H, 'webp', 50);
    console.log(`[webp] libwebp: ${q100.length} B at q100, ${q50.length} B at q50`);
    expect(new TextDecoder().decode(q100.subarray(0, 16))).toMatch(/^RIFF....WEBPVP8 $/s);
    expect(q50.length).toBeLessThan(q100.length);
  });

  it('refuses a quality outside 0…100 or not an integer, and an unknown format', async () => {
    const rgba = testImage();
    for (const q of [-1, 101, 50.5, Number.NaN]) {
      await expect(encodeImage(rgba, W, H, 'jpeg', q), String(q)).rejects.toThrow(new InvalidInput(`quality ${q}: use an integer from 0 to 100`));
    }
    await expect(encodeImage(rgba, W, H, 'webp', 0)).resolves.toBeInstanceOf(Uint8Array);
    await expect(encodeImage(rgba, W, H, 'gif' as 'png')).rejects.toThrow('format gif: use png, jpeg, webp');
    await expect(encodeImage(rgba, W + 1, H, 'webp')).rejects.toThrow(InvalidInput);
  });
});

describe('decodeImage', () => {
  beforeEach(() => {
    for (const s of Object.values(spies)) s.mockClear();
  });

  it('dispatches PNG, JPEG and WebP by header to their decoders', async () => {
    const rgba = testImage();
    const png = await decodeImage(await encodeImage(rgba, W, H, 'png'), 'a.png');
    expect(levels(png, rgba)).toEqual({ max: 0, mean: 0 });
    const jpeg = await encodeImage(rgba, W, H, 'jpeg');
    const jpegPixels = (await jpegToRgba(jpeg)).rgba;
    spies.jpeg.mockClear();
    expect((await decodeImage(jpeg, 'a.jpg')).rgba).toEqual(jpegPixels);
    const webp = await encodeImage(rgba, W, H, 'webp');
    const webpPixels = (await decodeImage(webp, 'a.webp')).rgba;
    expect(webpPixels.length).toBe(W * H * 4);
    expect([spies.png.mock.calls, spies.jpeg.mock.calls, spies.webp.mock.calls]).toEqual([[[expect.any(Uint8Array), 'a.png']], [[jpeg, 'a.jpg']], [[webp, 'a.webp']]]);
    // bytes after SOI that are not a marker: libjpeg skips them (with a warning), and so does the dispatch
    const junk = new Uint8Array([...jpeg.subarray(0, 2), 0x13, 0x37, ...jpeg.subarray(2)]);
    expect((await decodeImage(junk, 'junk.jpg')).rgba).toEqual(jpegPixels);
    expect(spies.jpeg).toHaveBeenCalledTimes(2);
  });

  it('names the file when the bytes are no image or do not decode', async () => {
    await expect(decodeImage(new TextEncoder().encode('GIF89a and more'), 'x.gif')).rejects.toThrow(/^x\.gif: not a PNG, JPEG or WebP/);
    const webp = await encodeImage(testImage(), W, H, 'webp');
    await expect(decodeImage(webp.subarray(0, 40), 'cut.webp')).rejects.toThrow(/^cut\.webp: not a readable WebP/);
  });

  it('refuses 20000×20000 PNG, JPEG and WebP headers quickly, before any decoder runs', async () => {
    const png = encodePngRgb(testImage(), W, H);
    new DataView(png.buffer, png.byteOffset).setUint32(16, 20000); // IHDR width
    new DataView(png.buffer, png.byteOffset).setUint32(20, 20000); // IHDR height
    const sof0 = [0xff, 0xc0, 0x00, 0x0b, 0x08, 20000 >> 8, 20000 & 255, 20000 >> 8, 20000 & 255, 0x01, 0x01, 0x11, 0x00];
    const jpeg = new Uint8Array([0xff, 0xd8, ...sof0, 0xff, 0xd9]);
    const le24 = [19999 & 255, (19999 >> 8) & 255, 19999 >> 16];
    const webp = new Uint8Array([...new TextEncoder().encode('RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0'), 0, 0, 0, 0, ...le24, ...le24]);
    for (const [name, bytes] of [['big.png', png], ['big.jpg', jpeg], ['big.webp', webp]] as const) {
      const t0 = performance.now();
      const err = await decodeImage(bytes, name).catch((e: unknown) => e);
      const ms = performance.now() - t0;
      expect(err, name).toBeInstanceOf(InvalidInput);
      expect((err as Error).message).toMatch(new RegExp(`^${name.replace('.', '\\.')}: 20000×20000 is 381\\.5 MP; references may have at most 150 MP`));
      expect(ms, name).toBeLessThan(HEADER_REFUSAL_MS);
    }
    expect([spies.png, spies.jpeg, spies.webp].map((s) => s.mock.calls.length)).toEqual([0, 0, 0]);
  });
});
