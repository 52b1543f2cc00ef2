/**
 * Reference-image preprocessing for editing / multi-reference generation, exactly as diffusers
 * Flux2KleinPipeline.__call__ + Flux2ImageProcessor (../shared/docs/flux2-klein.md §7.1):
 * validate (sides ≥ 64, aspect ≤ 8) → if w·h > 1024², resize by area with PIL LANCZOS →
 * floor both sides to multiples of 16 and center-crop (no resize) → RGB /255 → 2x − 1.
 *
 * Deviations from PIL (documented, none affects an opaque RGB(A)8 input):
 * - PIL resizes RGBA images with premultiplied alpha (RGBa) before `convert('RGB')` drops alpha;
 *   we resample the RGB channels as they are (alpha is ignored everywhere, as `convert('RGB')` does).
 * - Gray / 16-bit inputs are expected already expanded to RGBA8 by the caller (cli/png.ts).
 */
import { InvalidInput } from '../gpu/errors';
import type { ReferenceImage } from '../worker/api';
import { imageIds } from './latents';

export type { ReferenceImage };

/** A preprocessed reference: pixels [3, height, width] in [−1, 1], sides multiples of 16. */
export interface ProcessedReference {
  width: number;
  height: number;
  pixels: Float32Array;
  /** Where the crop started in the (possibly resized) image. */
  cropLeft: number;
  cropTop: number;
}

/** BFL documents up to 4 references for klein (§7.3). */
export const MAX_REFERENCES = 4;
/** Flux2ImageProcessor.check_image_input defaults. */
export const REF_MIN_SIDE = 64;
export const REF_MAX_ASPECT = 8;
/** Area above which a reference is downscaled (diffusers `_resize_to_target_area(img, 1024 * 1024)`). */
export const REF_MAX_AREA = 1024 * 1024;
/** VAE ×8 and 2×2 patch. */
const MULTIPLE = 16;

/** Throws InvalidInput unless there are at most 4 references, each ≥ 64 px a side with aspect ≤ 8. */
export function validateReferences(refs: readonly ReferenceImage[]): void {
  if (refs.length > MAX_REFERENCES) throw new InvalidInput(`at most ${MAX_REFERENCES} reference images (got ${refs.length})`);
  refs.forEach((r, k) => {
    const n = k + 1;
    if (!Number.isInteger(r.width) || !Number.isInteger(r.height) || r.rgba.length !== r.width * r.height * 4) {
      throw new InvalidInput(`reference image ${n}: ${r.rgba.length} bytes do not match ${r.width}×${r.height} RGBA8`);
    }
    const sizeErr = referenceSizeError(r.width, r.height, n);
    if (sizeErr) throw new InvalidInput(sizeErr);
  });
}

/** The size rule alone (the UI checks it before reading pixels): the message, or null. `n` is 1-based. */
export function referenceSizeError(width: number, height: number, n: number): string | null {
  if (width < REF_MIN_SIDE || height < REF_MIN_SIDE) {
    return `reference image ${n} is ${width}×${height}; each side must be at least ${REF_MIN_SIDE} px`;
  }
  const aspect = Math.max(width / height, height / width);
  if (aspect > REF_MAX_ASPECT) {
    return `reference image ${n} is ${width}×${height}; the aspect ratio must be at most ${REF_MAX_ASPECT}:1`;
  }
  return null;
}

/** Size after the optional area downscale: (int(w·s), int(h·s)) with s = √(1024²/(w·h)) when w·h > 1024². */
export function resizedSize(width: number, height: number): [number, number] {
  if (width * height <= REF_MAX_AREA) return [width, height];
  const s = Math.sqrt(REF_MAX_AREA / (width * height));
  return [Math.trunc(width * s), Math.trunc(height * s)];
}

/** Final size of a reference (the output size defaults to the first one's). */
export function processedSize(width: number, height: number): [number, number] {
  const [w, h] = resizedSize(width, height);
  return [w - (w % MULTIPLE), h - (h % MULTIPLE)];
}

/** Output size when the caller gives none: the first processed reference's size (diffusers). */
export function defaultSizeFor(refs: readonly ReferenceImage[]): { width: number; height: number } | null {
  const first = refs[0];
  if (!first) return null;
  const [width, height] = processedSize(first.width, first.height);
  return { width, height };
}

/** Reference k's position ids [h·w, 4] = (10·(k+1), i, j, 0) (diffusers `_prepare_image_ids(scale=10)`). */
export function referenceIds(index: number, h16: number, w16: number): Int32Array {
  return imageIds(h16, w16, 10 * (index + 1));
}

/** Validates, resizes (if > 1024²), crops and normalises one reference (index is 0-based, for messages). */
export function preprocessReference(ref: ReferenceImage, index = 0): ProcessedReference {
  validateReferences([ref]);
  if (index >= MAX_REFERENCES) throw new InvalidInput(`at most ${MAX_REFERENCES} reference images`);
  let { width: w, height: h } = ref;
  let rgb = rgbaToRgb(ref.rgba);
  const [rw, rh] = resizedSize(w, h);
  if (rw !== w || rh !== h) {
    rgb = resizeLanczos(rgb, w, h, rw, rh);
    w = rw;
    h = rh;
  }
  const [cw, ch] = [w - (w % MULTIPLE), h - (h % MULTIPLE)];
  const left = Math.floor((w - cw) / 2);
  const top = Math.floor((h - ch) / 2);
  // numpy: (x.astype(float32) / 255) then 2·x − 1, both in float32
  const pixels = new Float32Array(3 * ch * cw);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const v = Math.fround((rgb[((top + y) * w + left + x) * 3 + c] as number) / 255);
        pixels[(c * ch + y) * cw + x] = Math.fround(2 * v - 1);
      }
    }
  }
  return { width: cw, height: ch, pixels, cropLeft: left, cropTop: top };
}

function rgbaToRgb(rgba: Uint8ClampedArray): Uint8Array {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba[i * 4] as number;
    rgb[i * 3 + 1] = rgba[i * 4 + 1] as number;
    rgb[i * 3 + 2] = rgba[i * 4 + 2] as number;
  }
  return rgb;
}

// ---- PIL-compatible Lanczos-3 resampling (Pillow src/libImaging/Resample.c) ----------------------

/** Pillow 8-bit fixed point: coefficients scaled by 2^22 (PRECISION_BITS = 32 − 8 − 2). */
const PRECISION = 2 ** 22;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczos(x: number): number {
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

/**
 * Per output index: first input index and fixed-point weights (Resample.c precompute_coeffs +
 * normalize_coeffs_8bpc). When downscaling, the kernel is stretched by the scale (support 3·scale).
 */
function coefficients(inSize: number, outSize: number): { start: number; k: Int32Array }[] {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const ss = 1 / filterscale; // multiply by the reciprocal, as Pillow does (bit-identical weights)
  const out: { start: number; k: Int32Array }[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w = new Float64Array(xmax);
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = lanczos((x + xmin - center + 0.5) * ss);
      sum += w[x] as number;
    }
    const k = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const v = sum !== 0 ? (w[x] as number) / sum : (w[x] as number);
      k[x] = Math.trunc(v < 0 ? -0.5 + v * PRECISION : 0.5 + v * PRECISION);
    }
    out.push({ start: xmin, k });
  }
  return out;
}

/** (acc + ½) >> 22, clamped to 0…255 (Resample.c clip8). */
function clip8(acc: number): number {
  return Math.min(255, Math.max(0, Math.floor((acc + PRECISION / 2) / PRECISION)));
}

/**
 * RGB8 [h, w, 3] → [oh, ow, 3] with PIL `Image.resize(..., LANCZOS)` arithmetic: horizontal pass
 * into an 8-bit temporary, then vertical pass (each pass skipped when that side is unchanged).
 */
export function resizeLanczos(rgb: Uint8Array, w: number, h: number, ow: number, oh: number): Uint8Array {
  let src = rgb;
  if (ow !== w) {
    const cx = coefficients(w, ow);
    const tmp = new Uint8Array(h * ow * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < ow; x++) {
        const { start, k } = cx[x] as { start: number; k: Int32Array };
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let i = 0; i < k.length; i++) acc += (src[(y * w + start + i) * 3 + c] as number) * (k[i] as number);
          tmp[(y * ow + x) * 3 + c] = clip8(acc);
        }
      }
    }
    src = tmp;
  }
  if (oh === h) return src;
  const cy = coefficients(h, oh);
  const out = new Uint8Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    const { start, k } = cy[y] as { start: number; k: Int32Array };
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = 0; i < k.length; i++) acc += (src[((start + i) * ow + x) * 3 + c] as number) * (k[i] as number);
        out[(y * ow + x) * 3 + c] = clip8(acc);
      }
    }
  }
  return out;
}
