/**
 * Turning a finished image into a history entry (parameters, PNG, JPEG thumbnail) and saving
 * blobs as downloads. Browser only (OffscreenCanvas, object URLs).
 */
import { publicSource } from '../../util/publicSource';
import { encodePng } from '../png';
import type { Output } from '../useGenerator';
import { thumbnailSize } from './files';
import { addHistory, type HistoryEntry } from './store';

/** JPEG quality of the thumbnails: small files, no visible blocking at ≤ 256 px. */
const THUMBNAIL_QUALITY = 0.85;

/** The parameters of `o` as a history entry (without id and date); the model source without credentials or query (publicSource). */
export function entryFromOutput(o: Output): Omit<HistoryEntry, 'id' | 'createdAt'> {
  const { width, height, seed, timings } = o.result;
  return {
    prompt: o.req.prompt,
    width,
    height,
    steps: o.req.steps,
    seed,
    model: publicSource(o.model),
    referenceCount: o.req.references?.length ?? 0,
    timings,
    ...guidanceParams(o),
    ...(o.req.loras?.length ? { loras: o.req.loras.map(({ name, strength }) => ({ name, strength })) } : {}),
    ...(o.checked ? { safety: { model: o.checked.model, scores: { ...o.checked.scores } } } : {}),
  };
}

/** The request's guidance scale and non-empty negative prompt (base models), each only when set. */
function guidanceParams(o: Output): { guidance?: number; negativePrompt?: string } {
  return {
    ...(o.req.guidance !== undefined ? { guidance: o.req.guidance } : {}),
    ...(o.req.negativePrompt ? { negativePrompt: o.req.negativePrompt } : {}),
  };
}

/** The PNG of `o` with its parameters in text chunks (../png.ts); the model source as in entryFromOutput. */
export function outputPng(o: Output): Blob {
  const { width, height, rgba, seed } = o.result;
  const png = encodePng(width, height, rgba, { prompt: o.req.prompt, seed, width, height, steps: o.req.steps, model: publicSource(o.model), ...guidanceParams(o), ...(o.req.loras ? { loras: o.req.loras } : {}) });
  return new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}

/** A JPEG of width×height RGBA8 pixels scaled down to thumbnailSize() (≤ 256 px a side). */
export async function makeThumbnail(width: number, height: number, rgba: Uint8ClampedArray): Promise<Blob> {
  const size = thumbnailSize(width, height);
  const bitmap = await createImageBitmap(new ImageData(new Uint8ClampedArray(rgba), width, height));
  try {
    const canvas = new OffscreenCanvas(size.width, size.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser has no 2D OffscreenCanvas to draw the thumbnail');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    return await canvas.convertToBlob({ type: 'image/jpeg', quality: THUMBNAIL_QUALITY });
  } finally {
    bitmap.close();
  }
}

/** Stores `o` in the history; rejects with the store's error (e.g. a DOMException named 'QuotaExceededError'). */
export async function saveOutput(o: Output): Promise<HistoryEntry> {
  const thumbnail = await makeThumbnail(o.result.width, o.result.height, o.result.rgba);
  return addHistory(entryFromOutput(o), outputPng(o), thumbnail);
}

/** Starts a download of `blob` named `fileName`. */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started from the object URL; release it once the click has been handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "QuotaExceededError: …" for a DOMException or Error, else the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
