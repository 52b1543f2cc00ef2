/**
 * Test support for the safety checker: the test classifier (scripts/make-safety-fixture.mjs; it flags
 * "nsfw" when an image's mean red is above 191/255) and one-colour images to feed it.
 */
import { join } from 'node:path';
import type { SafetyConfig } from '../safety/config';

/** test/fixtures/safety-classifier, absolute (transformers.js reads a folder path as given). */
export const SAFETY_FIXTURE = join(process.cwd(), 'test', 'fixtures', 'safety-classifier');

/** The fixture, flagging "nsfw" at 0.5, action block. */
export const FIXTURE_SAFETY: SafetyConfig = { model: SAFETY_FIXTURE, flaggedLabels: ['nsfw'], threshold: 0.5, action: 'block' };

/** A w×h RGBA image of one colour. */
export function solid(w: number, h: number, [r, g, b]: [number, number, number]): Uint8ClampedArray {
  const px = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < px.length; i += 4) px.set([r, g, b, 255], i);
  return px;
}
