/**
 * What the reference panel refuses before it reads pixels, in the engine's wording
 * (pipeline/references.ts), shared by the page (ui/references.ts) and the reference worker.
 */
import { MAX_REFERENCES, referenceSizeError } from '../pipeline/references';

/**
 * Largest image the panel decodes, in pixels (1 MP = 1024² px). The browser holds the decoded
 * bitmap while the reference worker downscales it: 150 MP is 600 MiB of RGBA8 (a 12000×8000 photo
 * is 92 MP).
 */
export const MAX_PIXELS = 150 * 1024 * 1024;

export const COUNT_ERROR = `at most ${MAX_REFERENCES} reference images; remove one first`;

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
