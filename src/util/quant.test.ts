import { describe, expect, it } from 'vitest';
import { Rng } from './rng';
import { f16BitsToF32, f32ToF16Bits } from './dtype';
import { type QuantFormat, dequantize, quantError, quantLayout, quantReport, quantize } from './quant';

// Round-trip relative RMS error of W ~ N(0, 1/K) ([64, 1024], seed 1) and of a heavy-tailed W
// (Student-t, ν = 4), per group size G. Observed: G = 64: q8 gauss 0.00592, t4 0.00921; q4 gauss
// 0.0823, t4 0.1092 (0.0900, 0.1191 with min/max ranges); G = 32 (the GGUF repack size): q8
// 0.00536, 0.00749; q4 0.0700, 0.0845 (min/max 0.0782, 0.0942) (cf. the table in quant.ts, measured
// at K = 3072); K = 100 (padded) q4 0.0821 (G 64), 0.0718 (G 32). Bounds: observed + ~5%.
const ROUND_TRIP: Record<QuantFormat, Record<32 | 64, { gauss: number; t4: number }>> = {
  q8: { 64: { gauss: 0.0062, t4: 0.0097 }, 32: { gauss: 0.0056, t4: 0.0079 } },
  q4: { 64: { gauss: 0.0865, t4: 0.115 }, 32: { gauss: 0.0735, t4: 0.0887 } },
};

// q8m (min/max, 255 steps), observed: G = 32 gauss 0.00462, t4 0.00558 (K = 100: 0.00477); G = 64
// 0.00528, 0.00703 (0.00544); cf. the table in quant.ts. Bounds: observed + ~5%.
const Q8M_ROUND_TRIP: Record<32 | 64, { gauss: number; t4: number }> = { 32: { gauss: 0.0049, t4: 0.0059 }, 64: { gauss: 0.0056, t4: 0.0074 } };

function studentT(rng: Rng, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let chi = 0;
    for (let j = 0; j < 4; j++) chi += rng.normal() ** 2;
    out[i] = (rng.normal() / Math.sqrt(chi / 4)) * scale;
  }
  return out;
}

describe('quantize / dequantize', () => {
  it('q8 hand-checked group [−1, 0, 0.5, 1]: scale 1/127, codes [−127, 0, 64, 127]', () => {
    const q = quantize(new Float32Array([-1, 0, 0.5, 1]), 1, 4, 'q8');
    // K = 4 → one group padded to 64: 16 code words, then one f16 scale (+ 2 bytes padding).
    expect(q.data.byteLength).toBe(68);
    expect(Array.from(q.data.subarray(0, 4))).toEqual([0x81, 0x00, 0x40, 0x7f]); // int8 −127, 0, 64, 127
    expect(q.data.subarray(4, 64).every((b) => b === 0)).toBe(true); // padding codes
    const sBits = f32ToF16Bits(1 / 127);
    expect(q.data[64]! | (q.data[65]! << 8)).toBe(sBits);
    // 0.5 / f16(1/127) = 63.50… → 64; ±1 / s = ±127.006… → clamped to ±127
    const s = f16BitsToF32(sBits);
    expect(Array.from(dequantize(q))).toEqual([-127, 0, 64, 127].map((c) => Math.fround(c * s)));
  });

  it('q4 hand-checked group [1, 2, 3, 4]: min 1, scale f16(0.2), codes [0, 5, 10, 15]', () => {
    const q = quantize(new Float32Array([1, 2, 3, 4]), 1, 4, 'q4');
    // 8 code words (64 nibbles), scale table at 32, min table at 36.
    expect(q.data.byteLength).toBe(40);
    const word0 = new Uint32Array(q.data.buffer, 0, 1)[0];
    expect(word0).toBe(0xfa50); // nibbles 0, 5, 10, 15 from the low end: (2−1)/0.19995 = 5.001 …
    const s = f16BitsToF32(f32ToF16Bits(0.2));
    expect(q.data[32]! | (q.data[33]! << 8)).toBe(f32ToF16Bits(0.2));
    expect(q.data[36]! | (q.data[37]! << 8)).toBe(f32ToF16Bits(1));
    expect(Array.from(dequantize(q))).toEqual([0, 5, 10, 15].map((c) => Math.fround(1 + c * s)));
  });

  it('q8m hand-checked group [−1, 0, 1.55, −0.5]: min −1, scale f16(2.55/255), codes [0, 100, 255, 50]', () => {
    const q = quantize(new Float32Array([-1, 0, 1.55, -0.5]), 1, 4, 'q8m');
    // K = 4 → one group padded to QUANT_GROUP.q8m = 32: 8 code words, scale table at 32, min table at 36
    expect([q.groupSize, q.data.byteLength]).toEqual([32, 40]);
    const sBits = f32ToF16Bits(2.55 / 255);
    const s = f16BitsToF32(sBits); // 0.0100021…: 1/s = 99.98 → 100, 2.55/s = 254.95 → 255, 0.5/s = 49.99 → 50
    expect(Array.from(q.data.subarray(0, 4))).toEqual([0, 100, 255, 50]); // unsigned bytes
    expect(q.data.subarray(4, 32).every((b) => b === 0)).toBe(true);
    expect([q.data[32]! | (q.data[33]! << 8), q.data[36]! | (q.data[37]! << 8)]).toEqual([sBits, f32ToF16Bits(-1)]);
    expect(Array.from(dequantize(q))).toEqual([0, 100, 255, 50].map((c) => Math.fround(-1 + c * s)));
    // a constant group: scale 0, every value the min
    expect(Array.from(dequantize(quantize(new Float32Array(40).fill(-0.25), 1, 40, 'q8m')))).toEqual(new Array(40).fill(-0.25));
  });

  it('q8m layout: codes as q8 (a byte per weight), scales and mins as q4', () => {
    // G = 32: 160 B of codes per row = 40 words; 15 scales and 15 mins → 32 B each
    expect(quantLayout('q8m', 3, 130)).toEqual({ groupSize: 32, paddedCols: 160, groups: 5, codeWordsPerRow: 40, scaleOffset: 480, minOffset: 512, byteLength: 544 });
    expect(quantLayout('q8m', 3, 130, 64)).toEqual({ groupSize: 64, paddedCols: 192, groups: 3, codeWordsPerRow: 48, scaleOffset: 576, minOffset: 596, byteLength: 616 });
    expect(quantLayout('q8m', 3072, 3072).byteLength / 3072 ** 2).toBe(1.125);
  });

  for (const G of [32, 64] as const) {
    it(`q8m G=${G} round-trip error on gaussian and heavy-tailed rows (and K not a multiple of G)`, () => {
      const K = 1024;
      const wg = new Rng(1).normals(64 * K, 1 / Math.sqrt(K));
      const wt = studentT(new Rng(2), 64 * K, 1 / Math.sqrt(2 * K));
      expect(quantError(wg, quantize(wg, 64, K, 'q8m', G)).relRms).toBeLessThan(Q8M_ROUND_TRIP[G].gauss);
      expect(quantError(wt, quantize(wt, 64, K, 'q8m', G)).relRms).toBeLessThan(Q8M_ROUND_TRIP[G].t4);
      const wp = new Rng(3).normals(8 * 100, 0.1);
      expect(quantError(wp, quantize(wp, 8, 100, 'q8m', G)).relRms).toBeLessThan(Q8M_ROUND_TRIP[G].gauss * 1.2);
    });
  }

  it('layout offsets: [3, 130] pads K to 192 (3 groups of 64)', () => {
    // q8: 192 B of codes per row = 48 words; 9 scales → 5 words.
    expect(quantLayout('q8', 3, 130)).toEqual({ groupSize: 64, paddedCols: 192, groups: 3, codeWordsPerRow: 48, scaleOffset: 576, minOffset: -1, byteLength: 596 });
    // q4: 96 B per row = 24 words; scales 20 B at 288, mins 20 B at 308.
    expect(quantLayout('q4', 3, 130)).toEqual({ groupSize: 64, paddedCols: 192, groups: 3, codeWordsPerRow: 24, scaleOffset: 288, minOffset: 308, byteLength: 328 });
    // the real model's linear K are multiples of 128: no padding, q4 = 0.5625 B/weight
    expect(quantLayout('q4', 3072, 3072).byteLength / 3072 ** 2).toBe(0.5625);
    expect(quantLayout('q8', 3072, 3072).byteLength / 3072 ** 2).toBe(1.03125);
  });

  it('zero groups round-trip exactly; q4 also constant groups (scale 0, value = min)', () => {
    const w = new Float32Array(128).fill(0.25).fill(0, 64);
    expect(Array.from(dequantize(quantize(w, 1, 128, 'q4')))).toEqual(Array.from(w));
    expect(Array.from(dequantize(quantize(w.fill(0), 1, 128, 'q8')))).toEqual(Array.from(w));
  });

  for (const format of ['q8', 'q4'] as const) {
    for (const G of [64, 32] as const) {
      it(`${format} G=${G} round-trip error on gaussian and heavy-tailed rows (and K not a multiple of G)`, () => {
        const K = 1024;
        const wg = new Rng(1).normals(64 * K, 1 / Math.sqrt(K));
        const wt = studentT(new Rng(2), 64 * K, 1 / Math.sqrt(2 * K));
        const qg = quantize(wg, 64, K, format, G);
        expect(qg.groupSize).toBe(G);
        expect(quantError(wg, qg).relRms).toBeLessThan(ROUND_TRIP[format][G].gauss);
        expect(quantError(wt, quantize(wt, 64, K, format, G)).relRms).toBeLessThan(ROUND_TRIP[format][G].t4);
        // K = 100: the last group has 36 (G 64) or 4 (G 32) real columns; same error class
        const wp = new Rng(3).normals(8 * 100, 0.1);
        expect(quantError(wp, quantize(wp, 8, 100, format, G)).relRms).toBeLessThan(ROUND_TRIP[format][G].gauss * 1.2);
      });
    }
  }

  it('G = 32: [3, 130] pads K to 160 (5 groups), one scale per 32 columns', () => {
    // q8: 160 B of codes per row = 40 words; 15 scales → 8 words. q4: 80 B = 20 words per row;
    // scales 32 B at 240, mins 32 B at 272.
    expect(quantLayout('q8', 3, 130, 32)).toEqual({ groupSize: 32, paddedCols: 160, groups: 5, codeWordsPerRow: 40, scaleOffset: 480, minOffset: -1, byteLength: 512 });
    expect(quantLayout('q4', 3, 130, 32)).toEqual({ groupSize: 32, paddedCols: 160, groups: 5, codeWordsPerRow: 20, scaleOffset: 240, minOffset: 272, byteLength: 304 });
    expect(quantLayout('q4', 3072, 3072, 32).byteLength / 3072 ** 2).toBe(0.625);
    // row [1, 0 × 34, 2, 0 × 4] (K = 40): G = 32 gives group 0 the scale f16(1/127) and group 1
    // f16(2/127), so both are codes 127; G = 64 shares s = f16(2/127) = 0.0157471: 1/s = 63.504 → code 64
    const w = new Float32Array(40);
    w[0] = 1;
    w[35] = 2;
    const q = quantize(w, 1, 40, 'q8', 32);
    expect(q.data.byteLength).toBe(68); // 64 B of codes, 2 scales
    expect(q.data[0]).toBe(127);
    expect(q.data[35]).toBe(127);
    expect([q.data[64]! | (q.data[65]! << 8), q.data[66]! | (q.data[67]! << 8)]).toEqual([f32ToF16Bits(1 / 127), f32ToF16Bits(2 / 127)]);
    const d = dequantize(q);
    expect([d[0], d[35]]).toEqual([Math.fround(127 * f16BitsToF32(f32ToF16Bits(1 / 127))), Math.fround(127 * f16BitsToF32(f32ToF16Bits(2 / 127)))]);
    expect(quantize(w, 1, 40, 'q8', 64).data[0]).toBe(64);
  });

  it('refuses a group size that is not a positive multiple of 8', () => {
    expect(() => quantLayout('q8', 1, 64, 12)).toThrow(/group size 12 is not a positive multiple of 8/);
    expect(() => quantize(new Float32Array(64), 1, 64, 'q4', 0)).toThrow(/group size 0/);
  });

  it('quantReport is one line with the relative RMS error', () => {
    const w = new Rng(4).normals(16 * 128, 0.05);
    const line = quantReport('blocks.0.ff.linear_in.weight', w, 16, 128, 'q4');
    expect(line).toMatch(/^blocks\.0\.ff\.linear_in\.weight q4 \[16, 128\] 0\.5625 B\/w relRms \d\.\d\de-\d maxAbs \d\.\d\de-\d$/);
    expect(line.includes('\n')).toBe(false);
  });
});
