/**
 * PNG file → RGBA8 reference image (Node; the browser will decode with createImageBitmap).
 * Follows PIL's `Image.open(...).convert('RGB')` as diffusers does: gray is replicated, palettes
 * are expanded, and alpha is dropped without compositing (alpha is kept in the RGBA output but the
 * pipeline ignores it). Deviation: 16-bit samples keep their high byte (PIL does this for 16-bit
 * RGB; for 16-bit gray it clips the raw value to 255 instead, which we do not copy).
 */
import { convertIndexedToRgb, decode as decodePng } from 'fast-png';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/references';

/** Decodes PNG bytes (gray, gray+alpha, RGB, RGBA, palette; 1–16 bit) to RGBA8. Errors: InvalidInput. */
export function pngToRgba(bytes: Uint8Array, what = 'image'): ReferenceImage {
  let png;
  try {
    png = decodePng(bytes);
  } catch (e) {
    throw new InvalidInput(`${what}: not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width, height } = png;
  const n = width * height;
  let samples: ArrayLike<number>;
  let channels = png.channels;
  if (png.palette) {
    samples = convertIndexedToRgb(png);
    channels = png.palette[0]?.length ?? 3;
  } else if (png.depth < 8) {
    samples = unpackBits(png.data as Uint8Array, width, height, channels, png.depth);
  } else if (png.depth === 16) {
    samples = Uint8Array.from(png.data as Uint16Array, (v) => v >> 8);
  } else {
    samples = png.data;
  }
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    const gray = channels < 3;
    rgba[i * 4] = samples[s] as number;
    rgba[i * 4 + 1] = samples[gray ? s : s + 1] as number;
    rgba[i * 4 + 2] = samples[gray ? s : s + 2] as number;
    rgba[i * 4 + 3] = channels === 2 || channels === 4 ? (samples[s + channels - 1] as number) : 255;
  }
  return { width, height, rgba };
}

/** 1/2/4-bit gray rows (byte-aligned) → 8-bit samples scaled to 0…255 (PIL mode L). */
function unpackBits(data: Uint8Array, width: number, height: number, channels: number, depth: number): Uint8Array {
  const perRow = Math.ceil((width * channels * depth) / 8);
  const max = (1 << depth) - 1;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * channels; x++) {
      const bit = x * depth;
      const byte = data[y * perRow + (bit >> 3)] as number;
      const v = (byte >> (8 - depth - (bit & 7))) & max;
      out[y * width * channels + x] = Math.round((v * 255) / max);
    }
  }
  return out;
}
