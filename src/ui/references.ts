/**
 * Reference images on the UI thread: decode a file (or take the output image) into RGBA8 plus a
 * small thumbnail, refusing what the engine would refuse (pipeline/references.ts rules and wording)
 * before the pixels are read. Resizing to ≤ 1024² happens in the engine, not here.
 */
import { MAX_REFERENCES, processedSize, referenceSizeError } from '../pipeline/references';
import type { ReferenceImage } from '../worker/api';

/**
 * Largest image the panel decodes, in pixels: 64 MP is 256 MiB of RGBA8 kept by the panel, plus the
 * copy sent with each request and the engine's RGB copy for the Lanczos downscale.
 */
export const MAX_PIXELS = 64 * 1024 * 1024;
/** Longest thumbnail side in CSS pixels. */
const THUMB_SIDE = 96;

export interface PanelReference extends ReferenceImage {
  /** Stable key for React and reordering. */
  id: string;
  /** File name (or a made-up one for pasted / generated images). */
  name: string;
  /** Size the model will use: after the >1024² downscale, floored to multiples of 16. */
  processed: { width: number; height: number };
  /** Small PNG data URL for the thumbnail. */
  thumbnail: string;
}

let nextId = 0;

const COUNT_ERROR = `at most ${MAX_REFERENCES} reference images; remove one first`;

/** The refusal for a `width`×`height` image that would become reference `n` (1-based), or null. */
export function addError(width: number, height: number, n: number): string | null {
  if (n > MAX_REFERENCES) return COUNT_ERROR;
  const sizeErr = referenceSizeError(width, height, n);
  if (sizeErr) return sizeErr;
  if (width * height > MAX_PIXELS) {
    const mp = ((width * height) / (1024 * 1024)).toFixed(1);
    return `${width}×${height} is ${mp} MP; the panel takes images up to ${MAX_PIXELS / (1024 * 1024)} MP (downscale it first)`;
  }
  return null;
}

function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D {
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error(`no 2D canvas context for ${width}×${height}`);
  return ctx;
}

function thumbnailOf(source: CanvasImageSource, width: number, height: number): string {
  const s = Math.min(1, THUMB_SIDE / Math.max(width, height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(width * s));
  c.height = Math.max(1, Math.round(height * s));
  c.getContext('2d')?.drawImage(source, 0, 0, c.width, c.height);
  return c.toDataURL('image/png');
}

function entry(name: string, width: number, height: number, rgba: Uint8ClampedArray, thumbnail: string): PanelReference {
  const [pw, ph] = processedSize(width, height);
  return { id: `ref-${nextId++}`, name, width, height, rgba, processed: { width: pw, height: ph }, thumbnail };
}

/**
 * Decodes an image file as it is stored (no colour-space conversion, unpremultiplied alpha).
 * `n` is the 1-based position it would take. Throws an Error whose message names the file.
 */
export async function decodeReference(file: Blob, name: string, n: number): Promise<PanelReference> {
  if (n > MAX_REFERENCES) throw new Error(`Could not add ${name}: ${COUNT_ERROR}.`); // needs no pixels
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new Error(`Could not add ${name}: it is not an image this browser can decode (${why}).`);
  }
  try {
    const { width, height } = bitmap;
    const err = addError(width, height, n);
    if (err) throw new Error(`Could not add ${name}: ${err}.`);
    const ctx = canvas2d(width, height);
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    return entry(name, width, height, rgba, thumbnailOf(bitmap, width, height));
  } finally {
    bitmap.close();
  }
}

/** A reference from RGBA8 already in memory (the output image); the caller passes its own copy. */
export function referenceFromPixels(name: string, width: number, height: number, rgba: Uint8ClampedArray, n: number): PanelReference {
  const err = addError(width, height, n);
  if (err) throw new Error(`Could not add ${name}: ${err}.`);
  const ctx = canvas2d(width, height);
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return entry(name, width, height, rgba, thumbnailOf(ctx.canvas, width, height));
}

/** Image files among dropped / pasted items (non-image files are kept: they get a clear refusal). */
export function filesOf(list: FileList | DataTransferItemList | null | undefined): File[] {
  if (!list) return [];
  const out: File[] = [];
  for (const item of Array.from(list as ArrayLike<File | DataTransferItem>)) {
    if (item instanceof File) out.push(item);
    else if (item.kind === 'file') {
      const f = item.getAsFile();
      if (f) out.push(f);
    }
  }
  return out;
}
