import { describe, expect, it } from 'vitest';
import { ASPECTS, aspectByLabel, clampNote, customSizeErrors, MAX_PIXELS, MEGAPIXEL, MEGAPIXELS, presetSize } from './sizes';

/**
 * Every preset, by aspect then 0.25 / 0.5 / 1 / 2 / 4 MP. Hand check, 16:9 at 1 MP:
 * w* = √(1048576·16/9) = 1365.3 → 1360, h* = √(1048576·9/16) = 768 → 768. At 4 MP 16:9 asks for
 * 2730.7 → 2736 × 1536, over 2048: clamped to 2048 × round16(2048·9/16) = 2048 × 1152.
 */
const PRESETS: Record<string, string[]> = {
  '1:1': ['512x512', '720x720', '1024x1024', '1456x1456', '2048x2048'],
  '4:3': ['592x448', '832x624', '1184x880', '1680x1248', '2048x1536'],
  '3:4': ['448x592', '624x832', '880x1184', '1248x1680', '1536x2048'],
  '16:9': ['688x384', '960x544', '1360x768', '1936x1088', '2048x1152'],
  '9:16': ['384x688', '544x960', '768x1360', '1088x1936', '1152x2048'],
  '3:2': ['624x416', '880x592', '1248x832', '1776x1184', '2048x1360'],
  '2:3': ['416x624', '592x880', '832x1248', '1184x1776', '1360x2048'],
};

describe('size presets', () => {
  it('gives every aspect and area its multiple-of-16 size', () => {
    expect(ASPECTS.map((a) => a.label)).toEqual(Object.keys(PRESETS));
    for (const a of ASPECTS) {
      const got = MEGAPIXELS.map((mp) => presetSize(a, mp)).map((p) => `${p.width}x${p.height}`);
      expect(got, a.label).toEqual(PRESETS[a.label]);
      for (const mp of MEGAPIXELS) {
        const p = presetSize(a, mp);
        expect(p.width % 16).toBe(0);
        expect(p.height % 16).toBe(0);
        // Unclamped presets stay within 2% of the asked area (rounding each side by at most 8 px).
        if (!p.unclamped) expect(Math.abs((p.width * p.height) / (mp * MEGAPIXEL) - 1)).toBeLessThan(0.02);
      }
    }
  });

  it('caps at 4 MP = 2048² and clamps presets that would pass 2048 a side, showing the adjusted size', () => {
    expect(MAX_PIXELS).toBe(4 * MEGAPIXEL);
    for (const a of ASPECTS) for (const mp of MEGAPIXELS) expect(presetSize(a, mp).width * presetSize(a, mp).height).toBeLessThanOrEqual(MAX_PIXELS);
    const square = presetSize(aspectByLabel('1:1'), 4);
    expect(square).toEqual({ width: 2048, height: 2048 }); // exactly the cap: not clamped
    expect(clampNote(aspectByLabel('1:1'), 4)).toBeNull();
    expect(presetSize(aspectByLabel('16:9'), 4)).toEqual({ width: 2048, height: 1152, unclamped: { width: 2736, height: 1536 } });
    expect(clampNote(aspectByLabel('16:9'), 4)).toBe(
      '4 MP at 16:9 would be 2736×1536; adjusted to 2048×1152 (at most 2048 px a side, 4 MP).',
    );
    expect(presetSize(aspectByLabel('2:3'), 4).unclamped).toEqual({ width: 1680, height: 2512 });
    for (const a of ASPECTS) for (const mp of [0.25, 0.5, 1, 2]) expect(clampNote(a, mp)).toBeNull();
  });
});

describe('custom sizes', () => {
  it('accepts multiples of 16 from 64 to 2048 a side, up to 2048×2048', () => {
    expect(customSizeErrors('64', '2048')).toEqual([]);
    expect(customSizeErrors('2048', '2048')).toEqual([]);
    expect(customSizeErrors('1360', '768')).toEqual([]);
  });

  it('explains each invalid side', () => {
    expect(customSizeErrors('2049', '512')).toEqual(['Width must be a multiple of 16 between 64 and 2048 (got 2049).']);
    expect(customSizeErrors('2064', '48')).toEqual([
      'Width must be a multiple of 16 between 64 and 2048 (got 2064).',
      'Height must be a multiple of 16 between 64 and 2048 (got 48).',
    ]);
    expect(customSizeErrors('', '100')).toEqual([
      'Width must be a multiple of 16 between 64 and 2048 (empty).',
      'Height must be a multiple of 16 between 64 and 2048 (got 100).',
    ]);
    expect(customSizeErrors('512.5', '512')).toHaveLength(1);
  });
});
