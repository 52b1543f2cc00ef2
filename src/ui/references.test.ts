import { describe, expect, it } from 'vitest';
import { addError, MAX_PIXELS } from './references';

describe('addError', () => {
  it('uses the engine wording for sizes and refuses a fifth image and images over 64 MP', () => {
    expect(addError(88, 72, 1)).toBeNull();
    expect(addError(63, 200, 2)).toBe('reference image 2 is 63×200; each side must be at least 64 px');
    expect(addError(640, 64, 1)).toBe('reference image 1 is 640×64; the aspect ratio must be at most 8:1');
    expect(addError(88, 72, 5)).toMatch(/^at most 4 reference images/);
    expect(addError(8192, 8192, 1)).toBeNull(); // exactly 64 MP
    expect(MAX_PIXELS).toBe(8192 * 8192);
    expect(addError(12000, 8000, 1)).toBe('12000×8000 is 91.6 MP; the panel takes images up to 64 MP (downscale it first)');
  });
});
