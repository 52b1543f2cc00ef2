/**
 * Form validation for the prompt panel. Each check returns the message to show inline, or null.
 * Inputs arrive as the raw text of the <input> so half-typed values never become NaN in state.
 */

/** Output sizes: multiples of 16 (VAE 8× × 2×2 patch) from 64 to 2048 pixels. The worker checks the
 * same limits again (pipeline/generate.ts validateRequest); these keep the UI from importing it. */
export const SIZE_MIN = 64;
export const SIZE_MAX = 2048;
export const SIZE_MULTIPLE = 16;
/** The UI allows 1–8 steps: klein is distilled for 4, and more steps do not help it. The engine
 * itself accepts up to 50 (pipeline/generate.ts STEPS_MAX). */
export const STEPS_MAX = 8;
/** Images per Generate click, run one after another. */
export const IMAGES_MAX = 10;
export const SEED_MAX = 2 ** 32 - 1;
/** Packed latent channels: 32 VAE channels × 2×2 patch. Noise is [1, 128, H/16, W/16]. */
export const LATENT_CHANNELS = 128;

function asInteger(text: string): number | null {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return null;
  return Number(t);
}

/** `label` is "Width" or "Height". */
export function sizeError(label: string, text: string): string | null {
  const v = asInteger(text);
  if (v === null || v < SIZE_MIN || v > SIZE_MAX || v % SIZE_MULTIPLE !== 0) {
    const got = text.trim() === '' ? 'empty' : `got ${text.trim()}`;
    return `${label} must be a multiple of ${SIZE_MULTIPLE} between ${SIZE_MIN} and ${SIZE_MAX} (${got}).`;
  }
  return null;
}

export function stepsError(text: string): string | null {
  const v = asInteger(text);
  if (v === null || v < 1 || v > STEPS_MAX) return `Steps must be a whole number from 1 to ${STEPS_MAX} (klein is distilled for 4; more steps do not improve it).`;
  return null;
}

export function countError(text: string): string | null {
  const v = asInteger(text);
  if (v === null || v < 1 || v > IMAGES_MAX) return `Number of images must be a whole number from 1 to ${IMAGES_MAX}.`;
  return null;
}

/** Seeds for `count` images: seed, seed+1, … (wrapping at 2³²) when fixed; fresh random ones when `seed` is null. */
export function batchSeeds(seed: number | null, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (seed === null ? randomSeed() : (seed + i) % (SEED_MAX + 1)));
}

export function seedError(text: string): string | null {
  const v = asInteger(text);
  if (v === null || v < 0 || v > SEED_MAX) return `Seed must be a whole number from 0 to ${SEED_MAX}.`;
  return null;
}

/** Element count of the initial noise for a W×H image: 128 · (H/16) · (W/16). */
export function noiseElements(width: number, height: number): number {
  return LATENT_CHANNELS * (height / SIZE_MULTIPLE) * (width / SIZE_MULTIPLE);
}

/** Checks an injected noise tensor against the requested size; `shape` is only used in the message. */
export function noiseError(count: number, shape: readonly number[], width: number, height: number): string | null {
  const want = noiseElements(width, height);
  if (count === want) return null;
  const wantShape = `[1, ${LATENT_CHANNELS}, ${height / SIZE_MULTIPLE}, ${width / SIZE_MULTIPLE}]`;
  return `Initial noise has ${count} elements (shape [${shape.join(', ')}]), but ${width}×${height} needs ${want} = ${wantShape}.`;
}

export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}
