import { describe, expect, it } from 'vitest';
import { addError, MAX_PIXELS } from './referenceRules';

describe('addError', () => {
  it('uses the engine wording for sizes and refuses a fifth image and images over 150 MP', () => {
    expect(addError(88, 72, 1)).toBeNull();
    expect(addError(63, 200, 2)).toBe('reference image 2 is 63×200; each side must be at least 64 px');
    expect(addError(640, 64, 1)).toBe('reference image 1 is 640×64; the aspect ratio must be at most 8:1');
    expect(addError(88, 72, 5)).toMatch(/^at most 4 reference images/);
    expect(addError(12000, 8000, 1)).toBeNull(); // a 92 MP photo is downscaled, not refused
    expect(addError(12800, 12288, 1)).toBeNull(); // exactly 150 MP
    expect(MAX_PIXELS).toBe(12800 * 12288);
    expect(addError(16000, 10000, 1)).toBe('16000×10000 is 152.6 MP; the panel takes images up to 150 MP (downscale it first)');
  });
});
