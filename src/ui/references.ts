/**
 * Reference images on the page: refuse what the engine would refuse (pipeline/references.ts rules
 * and wording) from the file's header, then let the reference worker decode the file and fit it
 * (downscaled to ≤ 1024² with the engine's own PIL-exact Lanczos and size rule, so the engine skips
 * its resize and uses the same pixels), and make a thumbnail. The panel keeps only the fitted image.
 */
import * as Comlink from 'comlink';
import { MAX_REFERENCES, processedSize } from '../pipeline/references';
import type { ReferenceImage } from '../worker/api';
import { addError, COUNT_ERROR } from './referenceRules';
import type { FittedImage, ReferenceWorkerApi } from './referenceWorker';

/** Longest thumbnail side in CSS pixels. */
const THUMB_SIDE = 96;

/**
 * What the engine is sent: `width`×`height` RGBA8 `rgba`, already downscaled to ≤ 1024² when the
 * original was larger (`original` keeps the file's size).
 */
export interface PanelReference extends FittedImage {
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

let worker: Comlink.Remote<ReferenceWorkerApi> | null = null;

/** The reference worker, started on first use and kept for the page's lifetime. */
function referenceWorker(): Comlink.Remote<ReferenceWorkerApi> {
  worker ??= Comlink.wrap<ReferenceWorkerApi>(
    new Worker(new URL('./referenceWorker.ts', import.meta.url), { type: 'module', name: 'kleinbild-references' }),
  );
  return worker;
}

/** PNG data URL of the image the engine gets, scaled to fit THUMB_SIDE (1:1 when it already fits). */
function thumbnailOf({ width, height, rgba }: ReferenceImage): string {
  const full = new OffscreenCanvas(width, height).getContext('2d');
  if (!full) throw new Error(`no 2D canvas context for ${width}×${height}`);
  full.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  const s = Math.min(1, THUMB_SIDE / Math.max(width, height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(width * s));
  c.height = Math.max(1, Math.round(height * s));
  c.getContext('2d')?.drawImage(full.canvas, 0, 0, c.width, c.height);
  return c.toDataURL('image/png');
}

function entry(name: string, image: FittedImage): PanelReference {
  const [pw, ph] = processedSize(image.original.width, image.original.height);
  return { id: `ref-${nextId++}`, name, ...image, processed: { width: pw, height: ph }, thumbnail: thumbnailOf(image) };
}

/**
 * Size of an image file from its header, without decoding the pixels (an <img> decodes lazily), so
 * that a huge or refused image is turned down before the browser allocates its bitmap. null when the
 * browser cannot read it: decodeReference's createImageBitmap then reports why.
 */
function headerSize(file: Blob): Promise<{ width: number; height: number } | null> {
  const url = URL.createObjectURL(file);
  const img = new Image();
  return new Promise<{ width: number; height: number } | null>((resolve) => {
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => resolve(null);
    img.src = url;
  }).finally(() => URL.revokeObjectURL(url));
}

/**
 * Decodes an image file as it is stored (no colour-space conversion, unpremultiplied alpha) and
 * fits it, in the reference worker. `n` is the 1-based position it would take. Throws an Error whose
 * message names the file.
 */
export async function decodeReference(file: Blob, name: string, n: number): Promise<PanelReference> {
  if (n > MAX_REFERENCES) throw new Error(`Could not add ${name}: ${COUNT_ERROR}.`); // needs no pixels
  const size = await headerSize(file);
  const early = size ? addError(size.width, size.height, n) : null; // the rules are the same for a rotated size
  if (early) throw new Error(`Could not add ${name}: ${early}.`);
  let image: FittedImage;
  try {
    image = await referenceWorker().fitFile(file, n);
  } catch (e) {
    throw new Error(`Could not add ${name}: ${e instanceof Error ? e.message : String(e)}.`);
  }
  return entry(name, image);
}

/** A reference from RGBA8 already in memory (the output image); the caller passes its own copy, which is transferred. */
export async function referenceFromPixels(name: string, width: number, height: number, rgba: Uint8ClampedArray, n: number): Promise<PanelReference> {
  const err = addError(width, height, n);
  if (err) throw new Error(`Could not add ${name}: ${err}.`);
  return entry(name, await referenceWorker().fitPixels(Comlink.transfer({ width, height, rgba }, [rgba.buffer])));
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
