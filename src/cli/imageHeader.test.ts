/**
 * `npm run generate` inputs as hostile files: a reference image whose header claims more pixels
 * than the app takes is refused before any decoder runs (a PNG of a few hundred bytes may claim
 * 4 GP; a 30-byte WebP VP8X header 281 TP), and --latents noise must have exactly [1, 128, H/16, W/16] before any work starts.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import webpEncFactory from '@jsquash/webp/codec/enc/webp_enc_simd.js';
import { defaultOptions as webpDefaults } from '@jsquash/webp/meta.js';
import { decode as decodePng, encode as encodePng } from 'fast-png';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidInput } from '../errors';
import { MAX_PIXELS } from '../ui/referenceRules';
import { encodeSafetensors } from '../weights/safetensorsWrite';
import { MAX_REFERENCE_PIXELS, checkReferenceHeader, imageHeaderSize } from './imageHeader';
import { instantiateCodec } from './codec';

const spies = vi.hoisted(() => ({
  png: vi.fn(),
  jpeg: vi.fn(),
  ops: vi.fn(() => {
    throw new Error('work started (createOps)');
  }),
}));
vi.mock('./png', async (importOriginal) => {
  const real = await importOriginal<typeof import('./png')>();
  return { ...real, pngToRgba: (...a: Parameters<typeof real.pngToRgba>) => (spies.png(...a), real.pngToRgba(...a)) };
});
vi.mock('./jpeg', async (importOriginal) => {
  const real = await importOriginal<typeof import('./jpeg')>();
  return { ...real, jpegToRgba: (...a: Parameters<typeof real.jpegToRgba>) => (spies.jpeg(...a), real.jpegToRgba(...a)) };
});
vi.mock('./backend', async (importOriginal) => ({ ...(await importOriginal<typeof import('./backend')>()), createOps: spies.ops }));
const { main, readNoise } = await import('./generate');

const FIXTURES = join(import.meta.dirname, '..', 'pipeline', 'fixtures');

/** CRC-32 (PNG's, ISO 3309) of `b`. */
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const v of b) {
    c ^= v;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A well-formed PNG header claiming width×height 8-bit gray, with one row of IDAT: a few hundred bytes. */
function pngBomb(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // depth 8, gray, deflate, filter 0, no interlace
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(new Uint8Array(1 + Math.min(width, 4096)))), pngChunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** SOI, an APP0 marker, garbage and fill bytes (libjpeg skips both), then a baseline SOF0 of width×height. */
function jpegBomb(width: number, height: number): Uint8Array {
  return new Uint8Array([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0x13, 0x37, 0xff, 0xff,
    0xff, 0xc0, 0x00, 0x0b, 0x08, height >> 8, height & 255, width >> 8, width & 255, 0x01, 0x01, 0x11, 0x00,
    0xff, 0xd9,
  ]);
}

/** RIFF header and one chunk header: "RIFF", size, "WEBP", `fourcc`, then `data` (a header only; no image data follows). */
function webpChunk(fourcc: string, data: number[]): Uint8Array {
  const out = new Uint8Array(20 + data.length);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(`RIFF....WEBP${fourcc}`));
  v.setUint32(4, 12 + data.length, true);
  v.setUint32(16, data.length, true);
  out.set(data, 20);
  return out;
}

/** A VP8X (extended WebP) header of a width×height canvas: flags, reserved (3), width−1 and height−1 (24-bit LE). */
function webpBomb(width: number, height: number): Uint8Array {
  const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];
  return webpChunk('VP8X', [0, 0, 0, 0, ...le24(width - 1), ...le24(height - 1)]);
}

/** A real WebP of a width×height gradient from libwebp (its default WebPConfig plus `options`); with `alpha`, alpha is a ramp. */
async function libwebpEncode(width: number, height: number, options: object, alpha = false): Promise<Uint8Array> {
  const rgba = new Uint8Array(width * height * 4).map((_, i) => (i % 4 !== 3 ? i & 255 : alpha ? ((i >> 2) % width) * 6 : 255));
  const encoder = await instantiateCodec<{ encode(d: Uint8Array, w: number, h: number, o: object): Uint8Array | null }>(webpEncFactory, '@jsquash/webp/codec/enc/webp_enc_simd.wasm', { errors: [] });
  const out = encoder.encode(rgba, width, height, { ...webpDefaults, ...options });
  if (!out) throw new Error('libwebp encode failed');
  return out.slice();
}

describe('reference image size from the header', () => {
  it("the cap is the app's (ui/referenceRules.ts MAX_PIXELS, 150 MP)", () => {
    expect(MAX_REFERENCE_PIXELS).toBe(MAX_PIXELS);
  });

  it('reads PNG and JPEG sizes as the decoders see them', () => {
    const png = encodePng({ width: 70, height: 33, data: new Uint8Array(70 * 33 * 3), channels: 3, depth: 8 });
    expect(imageHeaderSize(png)).toEqual({ width: 70, height: 33 });
    expect(imageHeaderSize(pngBomb(12000, 12000))).toEqual({ width: 12000, height: 12000 });
    for (const name of ['ycc', 'cmyk']) {
      const pillow = decodePng(readFileSync(join(FIXTURES, `${name}-rgb.png`))); // Pillow's decode of the JPEG
      expect(imageHeaderSize(new Uint8Array(readFileSync(join(FIXTURES, `${name}.jpg`)))), name).toEqual({ width: pillow.width, height: pillow.height });
    }
    expect(imageHeaderSize(jpegBomb(65535, 65535))).toEqual({ width: 65535, height: 65535 });
  });

  it('no size without the header where the format puts it', () => {
    expect(imageHeaderSize(new Uint8Array(0))).toBeNull();
    expect(imageHeaderSize(new TextEncoder().encode('GIF89a…'))).toBeNull();
    const late = pngBomb(100, 100);
    late.set(new TextEncoder().encode('tEXt'), 12); // IHDR not first
    expect(imageHeaderSize(late)).toBeNull();
    expect(imageHeaderSize(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]))).toBeNull(); // scan before any frame
    expect(imageHeaderSize(jpegBomb(100, 100).subarray(0, 18))).toBeNull(); // cut inside the SOF
    expect(() => checkReferenceHeader(new Uint8Array(8), 'x.gif')).toThrow('x.gif: not a PNG, JPEG or WebP');
  });

  it('reads the WebP canvas of real lossy (VP8), lossless (VP8L) and extended (VP8X) files', async () => {
    const files = {
      'VP8 ': await libwebpEncode(37, 21, { quality: 90 }),
      VP8L: await libwebpEncode(37, 21, { lossless: 1 }, true), // alpha lives inside VP8L
      VP8X: await libwebpEncode(37, 21, { quality: 90 }, true), // lossy with alpha: VP8X + ALPH + VP8
    };
    for (const [chunk, file] of Object.entries(files)) {
      expect(new TextDecoder().decode(file.subarray(12, 16)), chunk).toBe(chunk);
      expect(imageHeaderSize(file), chunk).toEqual({ width: 37, height: 21 });
      expect(() => checkReferenceHeader(file, chunk)).not.toThrow();
    }
    expect(imageHeaderSize(await libwebpEncode(1, 16383, { lossless: 1 }))).toEqual({ width: 1, height: 16383 }); // 14 bits of VP8L height
  });

  it('WebP headers cut short, or not a key frame / VP8L signature: no size', async () => {
    const needs = { 'VP8 ': 30, VP8L: 25, VP8X: 30 }; // bytes up to the last size byte
    for (const [chunk, file] of [['VP8 ', await libwebpEncode(37, 21, {})], ['VP8L', await libwebpEncode(37, 21, { lossless: 1 })], ['VP8X', await libwebpEncode(37, 21, {}, true)]] as const) {
      expect(imageHeaderSize(file.subarray(0, needs[chunk])), chunk).toEqual({ width: 37, height: 21 });
      for (let n = 0; n < needs[chunk]; n++) expect(imageHeaderSize(file.subarray(0, n)), `${chunk} cut at ${n}`).toBeNull();
      if (chunk === 'VP8X') continue;
      const broken = file.slice();
      const at = chunk === 'VP8L' ? 20 : 23; // VP8L signature 0x2f, VP8 start code 9d 01 2a
      broken[at] = (file[at] as number) ^ 1;
      expect(imageHeaderSize(broken), `${chunk} broken`).toBeNull();
    }
    expect(imageHeaderSize(webpChunk('VP8 ', [0x01, 0, 0, 0x9d, 0x01, 0x2a, 37, 0, 21, 0]))).toBeNull(); // an inter frame
    expect(imageHeaderSize(webpChunk('ANIM', new Array(10).fill(0)))).toBeNull();
  });

  it('a 30-byte VP8X header claiming 20000×20000, or a VP8L of 16384², is refused', () => {
    expect(imageHeaderSize(webpBomb(20000, 20000))).toEqual({ width: 20000, height: 20000 });
    expect(() => checkReferenceHeader(webpBomb(20000, 20000), 'big.webp')).toThrow(/^big\.webp: 20000×20000 is 381\.5 MP; references may have at most 150 MP/);
    expect(() => checkReferenceHeader(webpBomb(1 << 24, 1 << 24), 'huge.webp')).toThrow(/^huge\.webp: 16777216×16777216 is 268435456\.0 MP/);
    const vp8l = webpChunk('VP8L', [0x2f, 0xff, 0xff, 0xff, 0x0f]); // width−1 = height−1 = 0x3fff
    expect(imageHeaderSize(vp8l)).toEqual({ width: 16384, height: 16384 });
    expect(() => checkReferenceHeader(vp8l, 'l.webp')).toThrow(/^l\.webp: 16384×16384 is 256\.0 MP/);
  });

  it('150 MP passes, one row more is refused', () => {
    expect(() => checkReferenceHeader(pngBomb(12800, 12288), 'ok.png')).not.toThrow(); // 150 × 1024² px
    expect(() => checkReferenceHeader(pngBomb(12800, 12289), 'big.png')).toThrow(/^big\.png: 12800×12289 is 150\.0 MP; references may have at most 150 MP/);
  });
});

describe('npm run generate refuses hostile inputs before decoding or any work', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kleinbild-inputs-'));
    spies.png.mockClear();
    spies.jpeg.mockClear();
    spies.ops.mockClear();
  });
  const run = (...args: string[]) => main(['--model', dir, '--prompt', 'x', '--backend', 'cpu', '--out', join(dir, 'out.png'), ...args]);

  it('a 65536×65536 PNG of 200 bytes (4 GP; 16 GiB as RGBA): refused, never decoded', async () => {
    const bomb = pngBomb(65536, 65536);
    expect(bomb.length).toBeLessThan(400);
    await writeFile(join(dir, 'bomb.png'), bomb);
    await expect(run('--ref', join(dir, 'bomb.png'))).rejects.toThrow(`${join(dir, 'bomb.png')}: 65536×65536 is 4096.0 MP; references may have at most 150 MP`);
    expect(spies.png).not.toHaveBeenCalled();
    expect(spies.ops).not.toHaveBeenCalled();
  });

  it('a 20000×20000 PNG (381 MP) and a 65535×65535 JPEG: refused, never decoded', async () => {
    await writeFile(join(dir, 'big.png'), pngBomb(20000, 20000));
    await writeFile(join(dir, 'big.jpg'), jpegBomb(65535, 65535));
    await expect(run('--ref', join(dir, 'big.png'))).rejects.toThrow(InvalidInput);
    await expect(run('--ref', join(dir, 'big.jpg'))).rejects.toThrow(/big\.jpg: 65535×65535 is 4095\.9 MP/);
    expect(spies.png).not.toHaveBeenCalled();
    expect(spies.jpeg).not.toHaveBeenCalled();
  });

  it('a real reference still decodes (the refusals are the size, not the format)', async () => {
    await expect(run('--ref', join(FIXTURES, 'ycc.jpg'))).rejects.toThrow('work started (createOps)');
    expect(spies.jpeg).toHaveBeenCalledTimes(1);
  });

  const noise = async (shape: number[]) => {
    const path = join(dir, `noise-${shape.join('x')}.safetensors`);
    await writeFile(path, encodeSafetensors({ noise: { dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) } }));
    return path;
  };

  it('noise of the right size in the wrong shape ([1, 128, 2, 8] for 64×64): refused naming the file and both shapes, before any work', async () => {
    const path = await noise([1, 128, 2, 8]);
    await expect(run('--width', '64', '--height', '64', '--latents', path)).rejects.toThrow(
      `${path}: tensor "noise" has shape [1, 128, 2, 8]; a 64×64 image needs exactly [1, 128, 4, 4]`,
    );
    expect(spies.ops).not.toHaveBeenCalled();
  });

  it('readNoise: exactly [1, 128, H/16, W/16]', async () => {
    await expect(readNoise(await noise([1, 128, 4, 4]), 64, 64)).resolves.toHaveLength(2048);
    await expect(readNoise(await noise([128, 4, 4]), 64, 64)).rejects.toThrow(/has shape \[128, 4, 4\]; a 64×64 image needs exactly \[1, 128, 4, 4\]/);
    await expect(readNoise(await noise([1, 128, 4, 4]), 128, 64)).rejects.toThrow(/a 128×64 image needs exactly \[1, 128, 4, 8\]/);
    await expect(readNoise(await noise([1, 64, 4, 8]), 64, 64)).rejects.toThrow(/has shape \[1, 64, 4, 8\]/);
  });
});
