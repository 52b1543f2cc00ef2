/**
 * RGBA8 image → PNG, JPEG or WebP file bytes (Node), for the CLI and the HTTP server. Every format
 * drops alpha (the pipeline's output is opaque): 8-bit RGB PNG with fast-png, progressive JPEG
 * with MozJPEG (@jsquash/jpeg, the Squoosh build and its default settings: 4:2:0 chroma,
 * optimized Huffman tables, quant table 3) and lossy WebP with libwebp (@jsquash/webp, SIMD build, its
 * WebPConfig defaults: method 4, sns 50, filter 60).
 */
import { encode as encodePng } from 'fast-png';
import mozjpegEncFactory from '@jsquash/jpeg/codec/enc/mozjpeg_enc.js';
import { defaultOptions as mozjpegDefaults } from '@jsquash/jpeg/meta.js';
import webpEncFactory from '@jsquash/webp/codec/enc/webp_enc_simd.js';
import { defaultOptions as webpDefaults } from '@jsquash/webp/meta.js';
import { InvalidInput } from '../errors';
import { type CodecLog, instantiateCodec } from './codec';

export type OutputFormat = 'png' | 'jpeg' | 'webp';

/** The Content-Type of each output format. */
export const MEDIA_TYPES: Record<OutputFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/** Checks rgba holds width×height RGBA8 pixels. Errors: InvalidInput with both lengths. */
function checkPixels(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || rgba.length !== width * height * 4) {
    throw new InvalidInput(`image to encode: ${width}×${height} needs ${width * height * 4} RGBA bytes, got ${rgba.length}`);
  }
}

/**
 * rgba: [H, W, 4] RGBA8 → 8-bit RGB PNG bytes, alpha dropped; byte for byte what `npm run generate`
 * writes (the same copy and fast-png call). Errors: InvalidInput when rgba is not width×height×4 bytes.
 */
export function encodePngRgb(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Uint8Array {
  checkPixels(rgba, width, height);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return encodePng({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** A copy of rgba with alpha set to 255: the encoders then see the same opaque image PNG gets. */
function opaque(rgba: Uint8ClampedArray | Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba);
  for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return out;
}

interface Encoder {
  encode(data: Uint8Array, width: number, height: number, options: object): Uint8Array | null;
}

/** Runs one encode on a fresh codec instance; errors carry what the codec printed. */
async function runEncoder(name: string, factory: (options: object) => Promise<unknown>, wasmPath: string, rgba: Uint8Array, width: number, height: number, options: object): Promise<Uint8Array> {
  const log: CodecLog = { errors: [] };
  const encoder = await instantiateCodec<Encoder>(factory, wasmPath, log);
  let out: Uint8Array | null = null;
  try {
    out = encoder.encode(rgba, width, height, options);
  } catch (e) {
    log.errors.push(e instanceof Error ? e.message : String(e));
  }
  if (!out) throw new Error(`${name} could not encode ${width}×${height}: ${log.errors.join('; ') || 'no output'}`);
  return out.slice(); // a copy that does not keep the instance's wasm memory alive
}

/**
 * rgba: [H, W, 4] RGBA8 → file bytes of `format`, alpha dropped. `quality` 0…100 (an integer; the
 * OpenAI `output_compression`, default 100) is the MozJPEG or libwebp quality; PNG ignores it and is
 * encodePngRgb's output. Errors: InvalidInput for a quality outside 0…100 or not an integer, a format
 * other than png, jpeg or webp, or rgba not width×height×4 bytes; Error when the codec fails.
 */
export async function encodeImage(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, format: OutputFormat, quality = 100): Promise<Uint8Array> {
  if (!Number.isInteger(quality) || quality < 0 || quality > 100) throw new InvalidInput(`quality ${quality}: use an integer from 0 to 100`);
  checkPixels(rgba, width, height);
  switch (format) {
    case 'png':
      return encodePngRgb(rgba, width, height);
    case 'jpeg':
      return runEncoder('MozJPEG', mozjpegEncFactory, '@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm', opaque(rgba), width, height, { ...mozjpegDefaults, quality });
    case 'webp':
      return runEncoder('libwebp', webpEncFactory, '@jsquash/webp/codec/enc/webp_enc_simd.wasm', opaque(rgba), width, height, { ...webpDefaults, quality, lossless: 0 });
    default:
      throw new InvalidInput(`format ${String(format)}: use ${Object.keys(MEDIA_TYPES).join(', ')}`);
  }
}
