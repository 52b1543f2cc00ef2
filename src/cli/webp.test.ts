/**
 * webp.ts: WebP files written here by libwebp's own encoder (@jsquash/webp, through instantiateCodec)
 * decode to their pixels: exactly for lossless, within the lossy codec's error for lossy; bytes that
 * are not a whole WebP are refused by name.
 */
import webpEncFactory from '@jsquash/webp/codec/enc/webp_enc_simd.js';
import { defaultOptions } from '@jsquash/webp/meta.js';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/types';
import { encodeImage } from './imageEncode';
import { instantiateCodec } from './codec';
import { isWebp, webpToRgba } from './webp';

/**
 * libwebp lossy at quality 100 (VP8 4:2:0 YUV, method 4) on testImage(37, 21): observed max 17, mean
 * 2.02 levels. It is chroma subsampling, which quality cannot remove: a gray ramp of the same size
 * round-trips with max 1, mean 0.08.
 */
const WEBP_Q100_MAX_LEVELS = 20;
const WEBP_Q100_MEAN_LEVELS = 2.5;

/** [H, W, 4] RGBA8, odd sizes (partial 16×16 macroblocks): ramps in R and G, a sine in B, alpha a ramp. */
function testImage(width: number, height: number, alpha = false): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      rgba.set([x * 7, y * 12, 128 + Math.round(100 * Math.sin(x / 5 + y / 4)), alpha ? (x * 255) / (width - 1) : 255], i);
    }
  }
  return rgba;
}

/** Largest and mean difference in levels over RGB (and alpha when `withAlpha`). */
function levels(got: ReferenceImage, want: Uint8ClampedArray, withAlpha = false): { max: number; mean: number } {
  expect(got.rgba.length).toBe(want.length);
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < want.length; i++) {
    if (i % 4 === 3 && !withAlpha) continue;
    const d = Math.abs((got.rgba[i] as number) - (want[i] as number));
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

/** A WebP file of `rgba` from libwebp with its default WebPConfig plus `options` (e.g. { lossless: 1 }). */
async function libwebpEncode(rgba: Uint8ClampedArray, width: number, height: number, options: object): Promise<Uint8Array> {
  type Encoder = { encode(d: Uint8ClampedArray, w: number, h: number, o: object): Uint8Array | null };
  const encoder = await instantiateCodec<Encoder>(webpEncFactory, '@jsquash/webp/codec/enc/webp_enc_simd.wasm', { errors: [] });
  const out = encoder.encode(rgba, width, height, { ...defaultOptions, ...options });
  if (!out) throw new Error('libwebp encode failed');
  return out.slice();
}

const chunk = (b: Uint8Array) => new TextDecoder().decode(b.subarray(12, 16));

describe('webpToRgba', () => {
  const [w, h] = [37, 21];

  it('lossless (VP8L) with alpha: the same pixels, alpha kept', async () => {
    const rgba = testImage(w, h, true);
    const file = await libwebpEncode(rgba, w, h, { lossless: 1, exact: 1 });
    expect([isWebp(file), chunk(file)]).toEqual([true, 'VP8L']);
    const got = await webpToRgba(file, 'a.webp');
    expect([got.width, got.height]).toEqual([w, h]);
    expect(levels(got, rgba, true)).toEqual({ max: 0, mean: 0 });
  });

  it('lossy (VP8) from encodeImage at quality 100: within the codec error, opaque', async () => {
    const rgba = testImage(w, h);
    const file = await encodeImage(rgba, w, h, 'webp', 100);
    expect(chunk(file)).toBe('VP8 ');
    const got = await webpToRgba(file);
    expect([got.width, got.height]).toEqual([w, h]);
    const { max, mean } = levels(got, rgba);
    console.log(`[webp] lossy q100 round trip: max ${max}, mean ${mean.toFixed(2)} levels`);
    expect(max).toBeLessThanOrEqual(WEBP_Q100_MAX_LEVELS);
    expect(mean).toBeLessThanOrEqual(WEBP_Q100_MEAN_LEVELS);
    expect(got.rgba.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
  });

  it('lossy with alpha (VP8X + ALPH + VP8): alpha decodes losslessly', async () => {
    const rgba = testImage(w, h, true);
    const file = await libwebpEncode(rgba, w, h, { quality: 100 });
    expect(chunk(file)).toBe('VP8X');
    const got = await webpToRgba(file);
    for (let i = 3; i < rgba.length; i += 4) expect(got.rgba[i], `alpha at ${i}`).toBe(rgba[i]);
  });

  it('refuses garbage and truncated files by name, and still decodes the next one', async () => {
    const file = await encodeImage(testImage(w, h), w, h, 'webp', 80);
    const bad: [string, Uint8Array][] = [
      ['empty.webp', new Uint8Array(0)],
      ['text.webp', new TextEncoder().encode('not an image at all')],
      ['riff-garbage.webp', new TextEncoder().encode('RIFF\x20\0\0\0WEBPVP8 \x14\0\0\0garbage garbage!!!!')],
      ['half.webp', file.subarray(0, file.length >> 1)],
      ['header-only.webp', file.subarray(0, 30)],
    ];
    for (const [name, bytes] of bad) {
      const err = await webpToRgba(bytes, name).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(InvalidInput);
      expect((err as Error).message, name).toMatch(new RegExp(`^${name.replace('.', '\\.')}: not a readable WebP \\(.+\\)$`));
    }
    await expect(webpToRgba(file)).resolves.toMatchObject({ width: w, height: h });
  });

  it('isWebp: RIFF, any size, WEBP', () => {
    expect(isWebp(new TextEncoder().encode('RIFF\0\0\0\0WEBP'))).toBe(true);
    expect(isWebp(new TextEncoder().encode('RIFF\0\0\0\0WAVE'))).toBe(false);
    expect(isWebp(new TextEncoder().encode('RIFF\0\0\0\0WEB'))).toBe(false);
  });
});
