/**
 * Reference-image preprocessing for editing / multi-reference generation, exactly as diffusers
 * Flux2KleinPipeline.__call__ + Flux2ImageProcessor (docs/flux2-klein.md §7.1):
 * validate (sides ≥ 64, aspect ≤ 8) → if w·h > 1024², resize by area with PIL LANCZOS →
 * floor both sides to multiples of 16 and center-crop (no resize) → RGB /255 → 2x − 1.
 *
 * The resize is Pillow's arithmetic (lanczos.ts; RGBA premultiplied as Pillow does). diffusers
 * resizes the image in the mode it was opened in and converts to RGB afterwards; inputs here are
 * already RGBA8 (cli/png.ts, cli/jpeg.ts, the browser's decoder), so for images over 1024² only:
 * - a palette ("P") or 1-bit PNG: Pillow resizes those with NEAREST whatever is asked; we use Lanczos;
 * - a CMYK JPEG: Pillow resizes the CMYK planes, then converts; we convert, then resize;
 * - 16-bit samples are cut to 8 bits before the resize (Pillow resizes I;16 gray in 16 bits).
 */
import { InvalidInput } from '../errors';
import type { ReferenceImage } from './types';
import { resizeLanczos } from './lanczos';
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
  let { width: w, height: h, rgba } = ref;
  const [rw, rh] = resizedSize(w, h);
  if (rw !== w || rh !== h) {
    rgba = resizeLanczos(rgba, w, h, rw, rh);
    w = rw;
    h = rh;
  }
  const [cw, ch] = [w - (w % MULTIPLE), h - (h % MULTIPLE)];
  const left = Math.floor((w - cw) / 2);
  const top = Math.floor((h - ch) / 2);
  // convert('RGB') drops alpha; numpy: (x.astype(float32) / 255) then 2·x − 1, both in float32
  const pixels = new Float32Array(3 * ch * cw);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const v = Math.fround((rgba[((top + y) * w + left + x) * 4 + c] as number) / 255);
        pixels[(c * ch + y) * cw + x] = Math.fround(2 * v - 1);
      }
    }
  }
  return { width: cw, height: ch, pixels, cropLeft: left, cropTop: top };
}
