/**
 * lanczos.ts against Pillow: fixtures/lanczos.json + lanczos/*.png were written by
 * scripts/fixtures/lanczos_fixture.py (Image.resize(..., LANCZOS), the diffusers call) from the
 * pattern rebuilt here, so a change in either side's arithmetic shows up as a level difference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { resizeLanczos, resizeRows } from './lanczos';
import { resizedSize } from './references';

const FIXTURES = join(import.meta.dirname, 'fixtures');

interface LanczosCase {
  name: string;
  mode: 'RGB' | 'RGBA';
  input: [number, number];
  output: [number, number];
  area_rule: boolean;
  /** Output rows stored in the PNG (area cases), or null for all of them. */
  rows: number[] | null;
  file: string;
}

const fixture = JSON.parse(readFileSync(join(FIXTURES, 'lanczos.json'), 'utf8')) as { pillow: string; cases: LanczosCase[] };

/**
 * Largest difference from Pillow in 8-bit levels. Observed 0 on every case (Pillow 9.4.0): the
 * weights, the fixed-point rounding, the clipping and the RGBa (un)premultiplication are all
 * Pillow's own, so any difference means the arithmetic drifted.
 */
const MAX_LEVELS = 0;

/** The fixture pattern (see its `pattern` field) as RGBA8 [h, w, 4]; RGB cases are opaque. */
function pattern(w: number, h: number, withAlpha: boolean): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      rgba[i] = (7 * x + 13 * y) % 256;
      rgba[i + 1] = (29 * x + 3 * y) % 256;
      rgba[i + 2] = (Math.floor(x / 6) + Math.floor(y / 4)) % 2 ? 255 : 0;
      rgba[i + 3] = withAlpha ? Math.min(255, (5 * x + 9 * y) % 300) : 255;
    }
  }
  return rgba;
}

describe(`resizeLanczos against Pillow ${fixture.pillow}`, () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const [w, h] = c.input;
    const [ow, oh] = c.output;
    if (c.area_rule) expect(resizedSize(w, h)).toEqual([ow, oh]);
    const got = resizeLanczos(pattern(w, h, c.mode === 'RGBA'), w, h, ow, oh);
    const png = decode(readFileSync(join(FIXTURES, c.file)));
    const rows = c.rows ?? Array.from({ length: oh }, (_, y) => y);
    expect([png.width, png.height, png.channels]).toEqual([ow, rows.length, c.mode === 'RGBA' ? 4 : 3]);
    let max = 0;
    let sum = 0;
    let n = 0;
    rows.forEach((y, k) => {
      for (let x = 0; x < ow; x++) {
        for (let ch = 0; ch < png.channels; ch++) {
          const d = Math.abs((got[(y * ow + x) * 4 + ch] as number) - (png.data[(k * ow + x) * png.channels + ch] as number));
          max = Math.max(max, d);
          sum += d;
          n++;
        }
      }
    });
    console.log(`[lanczos] ${c.name} ${w}×${h} → ${ow}×${oh}: max ${max}, mean ${(sum / n).toFixed(4)} levels over ${n} samples`);
    expect(max).toBeLessThanOrEqual(MAX_LEVELS);
  });
});

describe('resizeRows', () => {
  it('reads the source in strips and gives the same pixels as from one array; rejects bad sizes', () => {
    const [w, h, ow, oh] = [1500, 1200, 500, 400]; // 1500 px rows: 699 per 1 MiP strip, so 2 strips
    const rgba = pattern(w, h, true);
    const reads: number[] = [];
    const src = { width: w, height: h, rows: (y0: number, count: number) => (reads.push(count), rgba.slice(y0 * w * 4, (y0 + count) * w * 4)) };
    const strips = resizeRows(src, ow, oh);
    const whole = resizeLanczos(rgba, w, h, ow, oh);
    expect(strips.length).toBe(whole.length);
    expect(strips.every((v, i) => v === whole[i])).toBe(true); // toEqual on 800 K bytes takes seconds
    expect(reads).toEqual([699, 501]);
    expect(() => resizeLanczos(rgba, w, h, 0, 10)).toThrow(RangeError);
  });

  it('is the identity at the same size and keeps a flat opaque colour flat', () => {
    const rgba = pattern(37, 23, true);
    expect(resizeLanczos(rgba, 37, 23, 37, 23)).toEqual(rgba);
    const flat = new Uint8ClampedArray(120 * 80 * 4).fill(77);
    for (let i = 3; i < flat.length; i += 4) flat[i] = 255;
    const out = resizeLanczos(flat, 120, 80, 41, 29);
    expect(out.every((v, i) => v === (i % 4 === 3 ? 255 : 77))).toBe(true);
  });
});
