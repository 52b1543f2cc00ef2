/**
 * GGUF Q8_0 / Q4_0 / Q4_1 → quant.ts q8 / q4 with G = 32: quant.ts `dequantize` of the repacked
 * bytes equals ggufQuants' `dequantize` of the GGUF bytes bit for bit (ggufRepack.ts explains why
 * it can), on hand-assembled blocks, on seeded data from the test writer, and on edge blocks
 * (d = 0, negative and subnormal d, the largest d whose −8·d is still an f16); a Q4_0 block whose
 * −8·d overflows f16 is the one case re-quantized.
 */
import { describe, expect, it } from 'vitest';
import { expectSameF32 } from '../testing/goldenBfl';
import { f16BitsToF32, f32ToF16Bits } from '../util/dtype';
import { Rng } from '../util/rng';
import { type GgmlType, dequantize as ggmlDequantize } from './ggufQuants';
import { GGUF_REPACK, repackGguf } from './ggufRepack';
import { quantizeGgml } from './ggufWrite';
import { dequantize, quantLayout } from '../util/quant';

/** f16 bits of v as two little-endian bytes. */
const h = (v: number): [number, number] => {
  const b = f32ToF16Bits(v);
  return [b & 0xff, b >> 8];
};
const halfAt = (b: Uint8Array, o: number): number => (b[o] as number) | ((b[o + 1] as number) << 8);

describe('repackGguf, hand-assembled blocks', () => {
  it('Q4_0: nibbles reordered (ggml: j low / j+16 high of qs[j]; ours: 2b low / 2b+1 high of byte b), min = −8·d', () => {
    // element j = j and element j + 16 = 15 − j (qs[j] = j | (15 − j) << 4), d = 1
    const block = new Uint8Array([...h(1), ...Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4))]);
    const q = repackGguf('Q4_0', block, 1, 32);
    expect(q).toMatchObject({ format: 'q4', rows: 1, cols: 32, groupSize: 32, requantized: 0 });
    // byte b < 8 holds elements 2b, 2b+1 = (2b, 2b+1); byte b ≥ 8 holds 15 − (2b − 16), 15 − (2b − 15)
    expect([...q.data.subarray(0, 16)]).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
    const L = quantLayout('q4', 1, 32, 32);
    expect([halfAt(q.data, L.scaleOffset), halfAt(q.data, L.minOffset)]).toEqual([f32ToF16Bits(1), f32ToF16Bits(-8)]);
    expect([...dequantize(q)]).toEqual([...Array.from({ length: 16 }, (_, j) => j - 8), ...Array.from({ length: 16 }, (_, j) => 7 - j)]);
  });

  it('Q4_1: d and m copied; Q8_0: the 32 int8 codes copied in order, scale = d', () => {
    const q41 = repackGguf('Q4_1', new Uint8Array([...h(0.5), ...h(-2), ...new Array(16).fill(0x3a)]), 1, 32);
    const L = quantLayout('q4', 1, 32, 32);
    expect([halfAt(q41.data, L.scaleOffset), halfAt(q41.data, L.minOffset)]).toEqual([f32ToF16Bits(0.5), f32ToF16Bits(-2)]);
    expect(q41.data[0]).toBe(0xaa); // elements 0, 1 are low nibbles 0xa of qs[0], qs[1]
    expect(q41.data[8]).toBe(0x33); // elements 16, 17 are high nibbles 0x3
    const qs = Array.from({ length: 32 }, (_, j) => (j - 16) & 0xff);
    qs[0] = 0x80; // −128: outside what our quantizer writes, still read by dequantize and the kernels
    const q8 = repackGguf('Q8_0', new Uint8Array([...h(0.25), ...qs]), 1, 32);
    expect([...q8.data.subarray(0, 32)]).toEqual(qs);
    expect(halfAt(q8.data, 32)).toBe(f32ToF16Bits(0.25));
    expect(dequantize(q8)[0]).toBe(-32);
  });

  it('refuses a type it cannot hold exactly, and a wrong byte count', () => {
    expect(() => repackGguf('Q4_K', new Uint8Array(144), 1, 256, 'blk.0.attn_q.weight')).toThrow(/blk\.0\.attn_q\.weight: expected one of Q8_0, Q4_0, Q4_1 to repack, got Q4_K/);
    expect(() => repackGguf('Q8_0', new Uint8Array(67), 2, 32, 'w')).toThrow(/w: expected 68 bytes \(2 rows of 32 Q8_0 values\), got 67/);
  });
});

describe('repackGguf: our dequantize equals the GGUF decoder bit for bit', () => {
  const types = Object.keys(GGUF_REPACK) as GgmlType[];
  // [7, 96]: 3 blocks per row, 21 in all; values ~ N(0, 0.05) with a few rows scaled up and down
  const rows = 7;
  const cols = 96;
  const x = new Rng(11).normals(rows * cols, 0.05);
  for (let k = 0; k < cols; k++) {
    x[cols + k] = (x[cols + k] as number) * 1e-5; // row 1: d in the f16 subnormal range
    x[2 * cols + k] = k < 32 ? 0 : (x[2 * cols + k] as number) * 300; // row 2: a zero block, then d ~ 10
  }

  it.each(types)('%s: seeded data through the test writer (ggml reference rounding), including zero and subnormal blocks', (type) => {
    const bytes = quantizeGgml(type, x);
    const want = ggmlDequantize(type, bytes, rows * cols);
    const q = repackGguf(type, bytes, rows, cols);
    expect(q.requantized).toBe(0);
    expectSameF32(dequantize(q), want, `${type} repacked`);
    // a Q4_0 block's d is negative when its largest-|x| value is positive (d = max / −8)
    if (type === 'Q4_0') expect(f16BitsToF32(halfAt(q.data, quantLayout('q4', rows, cols, 32).scaleOffset))).toBeLessThan(0);
  });

  it('Q4_0 edge d: ±8188 (−8·d = ∓65504, the largest f16) and −0 are exact; 8192 (−8·d overflows) is re-quantized', () => {
    const qs = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4));
    // the overflowing block uses codes 1…15 only, so its values (q − 8)·8192 ∈ ±57344 are finite f16s
    const qs1 = Array.from({ length: 16 }, (_, j) => (1 + (j % 15)) | ((15 - (j % 15)) << 4));
    const bytes = new Uint8Array([...h(8188), ...qs, ...h(-8188), ...qs, ...h(-0), ...qs, ...h(8192), ...qs1]);
    const want = ggmlDequantize('Q4_0', bytes, 128);
    const q = repackGguf('Q4_0', bytes, 4, 32);
    expect(q.requantized).toBe(1);
    const got = dequantize(q);
    expectSameF32(got.subarray(0, 96), want.subarray(0, 96), 'Q4_0 blocks d = 8188, −8188, −0');
    // the re-quantized block is ordinary quant.ts q4: min −57344, scale s = f16(114688 / 15) = 7644,
    // and the 15 source levels 8192 apart round to that grid: |error| ≤ s/2 (observed 3808, 6.6% of the max)
    const worst = Math.max(...Array.from(got.subarray(96), (v, i) => Math.abs(v - (want[96 + i] as number))));
    expect(worst).toBeLessThanOrEqual(7644 / 2);
  });
});
