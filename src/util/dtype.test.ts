/** f16 decoding: every one of the 65536 bit patterns against the IEEE binary16 definition. */
import { describe, expect, it } from 'vitest';
import { f16BitsToF32, f16ToF32, f32ToF16Bits } from './dtype';

/** (−1)^s · 2^(e − 15) · (1 + m/1024), subnormals 2^−24 · m, Inf and NaN at e = 31. */
function reference(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('f16BitsToF32', () => {
  it('decodes all 65536 patterns exactly (signed zeros, subnormals, Inf, NaN), and f32ToF16Bits inverts every non-NaN one', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const bulk = f16ToF32(all);
    let wrong = 0;
    let notInverted = 0;
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      if (!Object.is(v, reference(h)) || !Object.is(bulk[h], Math.fround(v))) wrong++;
      if (!Number.isNaN(v) && f32ToF16Bits(v) !== h) notInverted++;
    }
    expect(wrong).toBe(0);
    expect(notInverted).toBe(0);
  });
});
