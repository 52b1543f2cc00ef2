/**
 * The reference worker: decodes an image file and fits it to what the engine takes, off the page's
 * thread. Chromium converts a bitmap decoded with colorSpaceConversion / premultiplyAlpha 'none' on
 * the thread that asked for it (0.7–1.6 s for a 12000×8000 PNG on 2 busy cores), and the PIL-exact
 * Lanczos downscale of such a photo takes 2–3 s more; neither may freeze the page. Only
 * ui/references.ts talks to it (Comlink).
 */
import * as Comlink from 'comlink';
import { arrayRows, resizeRows, type RowSource } from '../pipeline/lanczos';
import { resizedSize } from '../pipeline/references';
import type { ReferenceImage } from '../worker/api';
import { addError } from './referenceRules';

/** The image the engine takes (≤ 1024², as diffusers resizes it) and the size it was added at. */
export interface FittedImage extends ReferenceImage {
  original: { width: number; height: number };
}

/** A bitmap's rows through a canvas one strip high (never a full-size RGBA8 copy). */
function bitmapRows(bitmap: ImageBitmap): RowSource {
  const { width, height } = bitmap;
  let ctx: OffscreenCanvasRenderingContext2D | null = null;
  return {
    width,
    height,
    rows(y0, count) {
      if (!ctx || ctx.canvas.height < count) {
        ctx = new OffscreenCanvas(width, count).getContext('2d', { willReadFrequently: true });
        if (!ctx) throw new Error(`no 2D canvas context for ${width}×${count}`);
      }
      ctx.clearRect(0, 0, width, count);
      ctx.drawImage(bitmap, 0, y0, width, count, 0, 0, width, count); // 1:1 at whole pixels: a copy
      return ctx.getImageData(0, 0, width, count).data;
    },
  };
}

/** Unchanged up to 1024², else PIL-Lanczos-downscaled to the diffusers size (references.ts resizedSize). */
function fit(src: RowSource): FittedImage {
  const { width, height } = src;
  const [w, h] = resizedSize(width, height);
  const rgba = w === width && h === height ? new Uint8ClampedArray(src.rows(0, height)) : resizeRows(src, w, h);
  return { width: w, height: h, rgba, original: { width, height } };
}

function transferred(image: FittedImage): FittedImage {
  return Comlink.transfer(image, [image.rgba.buffer]);
}

const api = {
  /**
   * Decodes `file` as stored (no colour-space conversion, unpremultiplied alpha, as Pillow reads it)
   * and fits it. `n` is the 1-based position it would take. Errors: an Error whose message finishes
   * "Could not add NAME: …".
   */
  async fitFile(file: Blob, n: number): Promise<FittedImage> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    } catch (e) {
      const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new Error(`it is not an image this browser can decode (${why})`);
    }
    try {
      const err = addError(bitmap.width, bitmap.height, n);
      if (err) throw new Error(err);
      return transferred(fit(bitmapRows(bitmap)));
    } finally {
      bitmap.close();
    }
  },

  /** Fits RGBA8 pixels (the output image, up to 2048²); the caller transfers them. */
  fitPixels({ width, height, rgba }: ReferenceImage): FittedImage {
    return transferred(fit(arrayRows(rgba, width, height)));
  },
};

export type ReferenceWorkerApi = typeof api;

Comlink.expose(api);
