/**
 * Form validation for the prompt panel. Each check returns the message to show inline, or null.
 * Inputs arrive as the raw text of the <input> so half-typed values never become NaN in state.
 */

/** Output sizes: multiples of 16 (VAE 8× × 2×2 patch) from 64 to 2048 pixels. The worker checks the
 * same limits again (pipeline/generate.ts validateRequest); these keep the UI from importing it. */
export const SIZE_MIN = 64;
export const SIZE_MAX = 2048;
export const SIZE_MULTIPLE = 16;
/** The UI allows 1–8 steps for a step-distilled model: klein is distilled for 4, and more steps do
 * not help it. The engine itself accepts up to 50 (pipeline/generate.ts STEPS_MAX). */
export const STEPS_MAX = 8;
/** Steps for a base (non-distilled) model: 1–50, the engine's limit; its default is 50 (ModelInfo.defaultSteps). */
export const STEPS_MAX_BASE = 50;
/** Guidance scale g of a base model in the form: 0–20 in steps of 0.5 (the engine takes up to 100;
 * useful values are ≈ 1–10, the model's default 4). g ≤ 1 switches classifier-free guidance off. */
export const GUIDANCE_MIN = 0;
export const GUIDANCE_MAX = 20;
export const GUIDANCE_STEP = 0.5;
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

/** Largest steps value for a model: STEPS_MAX (8) when step-distilled or not known yet, STEPS_MAX_BASE (50) for a base model. */
export function stepsMax(model: { distilled: boolean } | null): number {
  return model && !model.distilled ? STEPS_MAX_BASE : STEPS_MAX;
}

/** Steps 1…`max`; `max` is stepsMax(model): 8 (distilled, the default) or 50 (base). */
export function stepsError(text: string, max: number = STEPS_MAX): string | null {
  const v = asInteger(text);
  if (v !== null && v >= 1 && v <= max) return null;
  return max === STEPS_MAX
    ? `Steps must be a whole number from 1 to ${STEPS_MAX} (klein is distilled for 4; more steps do not improve it).`
    : `Steps must be a whole number from 1 to ${max}.`;
}

/** Guidance scale: a number GUIDANCE_MIN…GUIDANCE_MAX (0–20) in steps of GUIDANCE_STEP (0.5). */
export function guidanceError(text: string): string | null {
  const t = text.trim();
  const v = /^\d+(\.\d*)?$|^\.\d+$/.test(t) ? Number(t) : NaN;
  if (Number.isFinite(v) && v >= GUIDANCE_MIN && v <= GUIDANCE_MAX && Number.isInteger(v / GUIDANCE_STEP)) return null;
  return `Guidance must be a number from ${GUIDANCE_MIN} to ${GUIDANCE_MAX} in steps of ${GUIDANCE_STEP} (1 or less: no classifier-free guidance).`;
}

/**
 * A negative prompt works only through classifier-free guidance, which runs when g > 1 (the engine
 * refuses one at g ≤ 1: pipeline/guidance.ts validateGuidance). `guidance`: the scale, or NaN when
 * its field is invalid (then the guidance message alone is shown).
 */
export function negativePromptError(negativePrompt: string, guidance: number): string | null {
  if (negativePrompt.trim() === '' || !Number.isFinite(guidance) || guidance > 1) return null;
  return `A negative prompt needs guidance above 1 (at ${guidance} classifier-free guidance is off); raise the guidance or clear the negative prompt.`;
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
