/**
 * Size presets by aspect ratio and megapixels, and the custom-size check.
 *
 * A megapixel here is 1024² = 1,048,576 pixels, so that 1 MP at 1:1 is klein's native 1024×1024 and
 * 0.25 MP at 1:1 is 512×512. Rounding rule: for ratio a:b and area A, the ideal sides are
 * w* = √(A·a/b) and h* = √(A·b/a); each is rounded on its own to the nearest multiple of 16 (ties
 * up). If a side then exceeds 2048, the longer side becomes 2048 and the shorter one is
 * round16(2048·short/long): the preset is clamped, and the form shows the adjusted size.
 * The 4 MP cap needs no check of its own: 2048 px a side bounds the area by 2048² = 4 MP exactly.
 */
import { sizeError, SIZE_MAX, SIZE_MULTIPLE } from './validate';

export const MEGAPIXEL = 1024 * 1024;
/** The largest output area: SIZE_MAX² = 4 MP. */
export const MAX_PIXELS = SIZE_MAX * SIZE_MAX;

export interface Aspect {
  label: string;
  /** Width : height. */
  w: number;
  h: number;
}

export const ASPECTS: readonly Aspect[] = [
  { label: '1:1', w: 1, h: 1 },
  { label: '4:3', w: 4, h: 3 },
  { label: '3:4', w: 3, h: 4 },
  { label: '16:9', w: 16, h: 9 },
  { label: '9:16', w: 9, h: 16 },
  { label: '3:2', w: 3, h: 2 },
  { label: '2:3', w: 2, h: 3 },
];

export const MEGAPIXELS: readonly number[] = [0.25, 0.5, 1, 2, 4];

export interface PresetSize {
  width: number;
  height: number;
  /** Set when a side exceeded SIZE_MAX: the unclamped size the ratio and area asked for. */
  unclamped?: { width: number; height: number };
}

function round16(x: number): number {
  return Math.max(SIZE_MULTIPLE, Math.round(x / SIZE_MULTIPLE) * SIZE_MULTIPLE);
}

/** The preset size for `aspect` (e.g. "16:9") at `megapixels` (e.g. 1): 1 MP 16:9 → 1360×768. */
export function presetSize(aspect: Aspect, megapixels: number): PresetSize {
  const area = megapixels * MEGAPIXEL;
  const width = round16(Math.sqrt((area * aspect.w) / aspect.h));
  const height = round16(Math.sqrt((area * aspect.h) / aspect.w));
  if (width <= SIZE_MAX && height <= SIZE_MAX) return { width, height };
  const clamped =
    width >= height
      ? { width: SIZE_MAX, height: round16((SIZE_MAX * aspect.h) / aspect.w) }
      : { width: round16((SIZE_MAX * aspect.w) / aspect.h), height: SIZE_MAX };
  return { ...clamped, unclamped: { width, height } };
}

export function aspectByLabel(label: string): Aspect {
  return ASPECTS.find((a) => a.label === label) ?? (ASPECTS[0] as Aspect);
}

/** "0.25 MP", "1 MP". */
export function formatMegapixels(mp: number): string {
  return `${mp} MP`;
}

/** Inline messages for a custom width and height typed as text (empty when both are valid). */
export function customSizeErrors(width: string, height: string): string[] {
  return [sizeError('Width', width), sizeError('Height', height)].filter((e): e is string => e !== null);
}

/** The note shown under a clamped preset, or null when the preset fits. */
export function clampNote(aspect: Aspect, megapixels: number): string | null {
  const p = presetSize(aspect, megapixels);
  if (!p.unclamped) return null;
  return (
    `${formatMegapixels(megapixels)} at ${aspect.label} would be ${p.unclamped.width}×${p.unclamped.height}; ` +
    `adjusted to ${p.width}×${p.height} (at most ${SIZE_MAX} px a side, ${MAX_PIXELS / MEGAPIXEL} MP).`
  );
}
