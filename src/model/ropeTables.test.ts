import { describe, expect, it } from 'vitest';
import { fluxRopeTable, qwenRopeTable } from './ropeTables';

/** (cos, sin) of pair p of token t in a [S, half, 2] table. */
function at(table: { data: Float32Array; shape: readonly number[] }, t: number, p: number): [number, number] {
  const half = table.shape[1] as number;
  return [table.data[(t * half + p) * 2] as number, table.data[(t * half + p) * 2 + 1] as number];
}

describe('fluxRopeTable', () => {
  // klein: 4 axes (t, h, w, l) × 32 dims → 64 pairs per token, theta 2000.
  const ids = new Int32Array([
    0, 0, 0, 0, // token 0: origin
    0, 0, 0, 5, // token 1: text token l = 5
    0, 3, 7, 0, // token 2: image token h = 3, w = 7
  ]);
  const table = fluxRopeTable(ids, [32, 32, 32, 32], 2000);

  it('has shape [S, Dh/2, 2]', () => {
    expect(table.shape).toEqual([3, 64, 2]);
  });

  it('position 0 is the identity (cos 1, sin 0) on every pair', () => {
    for (let p = 0; p < 64; p++) expect(at(table, 0, p)).toEqual([1, 0]);
  });

  it('a text token (0, 0, 0, l) rotates only the last axis, with hand-checked angles', () => {
    for (let p = 0; p < 48; p++) expect(at(table, 1, p)).toEqual([1, 0]);
    // k = 0: ω = 1, angle = 5 → (cos 5, sin 5) = (0.2836622, −0.9589243).
    expect(at(table, 1, 48)[0]).toBeCloseTo(0.2836622, 7);
    expect(at(table, 1, 48)[1]).toBeCloseTo(-0.9589243, 7);
    // k = 1: ω = 2000^(−2/32) = e^(−ln 2000/16) = e^(−0.4750564) = 0.6218500, angle = 3.1092499
    // → (cos, sin) = (−0.9994770, 0.0323371).
    expect(at(table, 1, 49)[0]).toBeCloseTo(-0.999477, 7);
    expect(at(table, 1, 49)[1]).toBeCloseTo(0.0323371, 7);
    // k = 8: ω = 2000^(−1/2) = 1/√2000 = 0.0223607, angle = 0.1118034 → (0.9937565, 0.1115706).
    expect(at(table, 1, 56)[0]).toBeCloseTo(0.9937565, 7);
    expect(at(table, 1, 56)[1]).toBeCloseTo(0.1115706, 7);
  });

  it('an image token rotates the h pairs [16, 32) and w pairs [32, 48) only', () => {
    for (const p of [0, 15, 48, 63]) expect(at(table, 2, p)).toEqual([1, 0]);
    // first pair of each axis has ω = 1: h = 3 → (cos 3, sin 3) = (−0.9899925, 0.1411200);
    // w = 7 → (cos 7, sin 7) = (0.7539023, 0.6569866).
    expect(at(table, 2, 16)[0]).toBeCloseTo(-0.9899925, 7);
    expect(at(table, 2, 16)[1]).toBeCloseTo(0.14112, 7);
    expect(at(table, 2, 32)[0]).toBeCloseTo(0.7539023, 7);
    expect(at(table, 2, 32)[1]).toBeCloseTo(0.6569866, 7);
  });

  it('rejects ids that are not whole rows of axes', () => {
    expect(() => fluxRopeTable(new Int32Array(5), [32, 32, 32, 32], 2000)).toThrow(/5 ids are not rows of 4 axes/);
  });
});

describe('qwenRopeTable', () => {
  const table = qwenRopeTable(1024, 128, 1e6);

  it('has shape [S, headDim/2, 2] and the identity at position 0', () => {
    expect(table.shape).toEqual([1024, 64, 2]);
    for (let i = 0; i < 64; i++) expect(at(table, 0, i)).toEqual([1, 0]);
  });

  it('hand-checked: inv_freq_0 = 1, so position 1, pair 0 is (cos 1, sin 1)', () => {
    expect(at(table, 1, 0)).toEqual([Math.fround(Math.cos(1)), Math.fround(Math.sin(1))]); // (0.5403023, 0.8414710)
  });

  it('hand-checked: pair 32 has inv_freq = 1/1e6^(64/128) = f32(0.001); position 1000 → angle exactly 1', () => {
    // f32(0.001) = 0.0010000000475; 1000 × that = 1.0000000475 rounds to f32 1.
    expect(at(table, 1000, 32)).toEqual([Math.fround(Math.cos(1)), Math.fround(Math.sin(1))]);
  });

  it('follows transformers float32 inv_freq and angle, not float64 (position 511, pair 1)', () => {
    // exponent 2/128 = 0.015625; 1e6^0.015625 = 1.24093776 → f32 1.2409377098; 1/that = 0.80584219
    // → f32 0.80584222078; ×511 = 411.7853698 (f32). cos = −0.9721096; the float64 chain
    // (angle 411.7853579) would give −0.9721123.
    expect(at(table, 511, 1)[0]).toBeCloseTo(-0.9721096, 7);
    expect(Math.abs((at(table, 511, 1)[0] as number) - -0.9721123)).toBeGreaterThan(2e-6);
  });
});
