/** gallery.ts: what the kiosk's attract loop may show while the safety checker is on. */
import { describe, expect, it } from 'vitest';
import type { SafetyConfig } from '../../safety/config';
import { passesSafety } from './gallery';

const ON: SafetyConfig = { model: 'AdamCodd/vit-base-nsfw-detector', flaggedLabels: ['nsfw'], threshold: 0.5, action: 'block' };
const checked = (nsfw: number, model = ON.model) => ({ safety: { model, scores: { sfw: 1 - nsfw, nsfw } } });

describe('passesSafety', () => {
  it('with the checker off, every entry passes, checked or not', () => {
    expect(passesSafety({}, null)).toBe(true);
    expect(passesSafety({}, { ...ON, action: 'off' })).toBe(true);
    expect(passesSafety(checked(0.99), null)).toBe(true);
  });
  it('with it on, an unchecked entry or one checked by another classifier is left out', () => {
    expect(passesSafety({}, ON)).toBe(false);
    expect(passesSafety(checked(0.01, 'Falconsai/nsfw_image_detection'), ON)).toBe(false);
  });
  it("judges the stored scores by today's labels and threshold", () => {
    expect(passesSafety(checked(0.01), ON)).toBe(true);
    expect(passesSafety(checked(0.49), ON)).toBe(true);
    expect(passesSafety(checked(0.5), ON)).toBe(false); // flagged at ≥ threshold, like the checker
    expect(passesSafety(checked(0.3), { ...ON, threshold: 0.2 })).toBe(false);
    expect(passesSafety(checked(0.01), { ...ON, flaggedLabels: ['nsfw', 'gore'] })).toBe(false); // a score it never had
    expect(passesSafety(checked(0.01), { ...ON, action: 'blur' })).toBe(true);
  });
});
