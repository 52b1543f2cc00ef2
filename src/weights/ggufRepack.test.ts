/**
 * GGUF blocks → quant.ts layouts code for code (ggufRepack.ts). Q8_0 / Q5_0 → q8, Q4_0 / Q4_1 → q4,
 * Q5_1 → q8m, all with G = 32: quant.ts `dequantize` of the repacked bytes equals ggufQuants'
 * `dequantize` of the GGUF bytes bit for bit, on hand-assembled blocks, on seeded data from the test
 * writer, and on edge blocks (d = 0, negative and subnormal d, the largest d whose −8·d is still an
 * f16); a Q4_0 block whose −8·d overflows f16 is the one case re-quantized. Q4_K → q4 G = 32,
 * Q5_K → q8m G = 32, Q6_K → q8 G = 16, Q3_K → q4 G = 16: every code kept, the element order checked
 * on hand-assembled blocks, exact where the scale products are f16 values (negative and zero d,
 * sub-block scale 0, int8 −128), the added error of the f16 scales measured on seeded data, and a
 * group whose scale or min overflows f16 re-quantized alone.
 */
import { describe, expect, it } from 'vitest';
import { expectSameF32 } from '../testing/goldenBfl';
import { f16BitsToF32, f32ToF16Bits } from '../util/dtype';
import { Rng } from '../util/rng';
import { relL2 } from '../testing/expectClose';
import { GGML_BLOCK, type GgmlType, codeQ3K, codeQ4K, codeQ5K, codeQ6K, dequantize as ggmlDequantize } from './ggufQuants';
import { GGUF_REPACK, GGUF_REPACK_EXACT, GGUF_REPACK_GROUP, repackGguf } from './ggufRepack';
import { quantizeGgml } from './ggufWrite';
import { type QuantizedTensor, dequantize, quantLayout, quantize } from '../util/quant';

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

  it('Q5_0 → q8: code q − 16 at byte k (5th bit from qh bit k), scale d (d < 0: 16 − q, −d; zeros +0); Q5_1 → q8m: code q, scale d, min m; both bit for bit', () => {
    // codes 0…31 in an order that differs between neighbours and between the two halves
    const q = (e: number): number => (e * 13 + (e >> 4) + 16) % 32;
    const b50 = new Uint8Array([...q5Block(0.75, null, q), ...q5Block(-0.5, null, q), ...q5Block(-0, null, q)]);
    const q50 = repackGguf('Q5_0', b50, 1, 96);
    expect(q50).toMatchObject({ format: 'q8', rows: 1, cols: 96, groupSize: 32, requantized: 0 });
    for (let k = 0; k < 32; k++) {
      expect([quantCode(q50, 0, k), quantCode(q50, 0, 32 + k), quantCode(q50, 0, 64 + k)], `Q5_0 element ${k}`).toEqual([q(k) - 16, 16 - q(k), 0]);
    }
    expect([0, 1, 2].map((g) => groupParams(q50, 0, g).s)).toEqual([0.75, 0.5, 0]);
    // q = 16 (element 0 of each block) is +0, as ggufQuants' decoder gives it ((q − 16)·d + 0)
    expectSameF32(dequantize(q50), ggmlDequantize('Q5_0', b50, 96), 'Q5_0');
    const b51 = new Uint8Array(q5Block(0.25, -3, q));
    const q51 = repackGguf('Q5_1', b51, 1, 32);
    expect(q51).toMatchObject({ format: 'q8m', rows: 1, cols: 32, groupSize: 32, requantized: 0 });
    for (let k = 0; k < 32; k++) expect(quantCode(q51, 0, k), `Q5_1 element ${k}`).toBe(q(k));
    expect(groupParams(q51, 0, 0)).toEqual({ s: 0.25, m: -3 });
    expectSameF32(dequantize(q51), ggmlDequantize('Q5_1', b51, 32), 'Q5_1');
  });

  it('refuses a type it does not repack, and a wrong byte count', () => {
    expect(() => repackGguf('F16', new Uint8Array(64), 1, 32, 'blk.0.attn_q.weight')).toThrow(/blk\.0\.attn_q\.weight: expected one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q3_K, Q4_K, Q5_K, Q6_K to repack, got F16/);
    expect(() => repackGguf('Q8_0', new Uint8Array(67), 2, 32, 'w')).toThrow(/w: expected 68 bytes \(2 rows of 32 Q8_0 values\), got 67/);
  });
});

describe('repackGguf: our dequantize equals the GGUF decoder bit for bit', () => {
  const types = [...GGUF_REPACK_EXACT];
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

// ---- K-quants --------------------------------------------------------------------------------

/** The quant.ts code of element k of row r (q8: signed byte k; q8m: unsigned byte k; q4: nibble k%8 of word k/8). */
function quantCode(q: QuantizedTensor, r: number, k: number): number {
  const at = r * quantLayout(q.format, q.rows, q.cols, q.groupSize).codeWordsPerRow * 4;
  if (q.format === 'q8') return ((q.data[at + k] as number) << 24) >> 24;
  return q.format === 'q8m' ? (q.data[at + k] as number) : ((q.data[at + (k >> 1)] as number) >> (4 * (k & 1))) & 15;
}

/** The f16 scale and (q4, q8m) min of group g of row r, as values. */
function groupParams(q: QuantizedTensor, r: number, g: number): { s: number; m: number } {
  const L = quantLayout(q.format, q.rows, q.cols, q.groupSize);
  const gi = r * L.groups + g;
  return { s: f16BitsToF32(halfAt(q.data, L.scaleOffset + 2 * gi)), m: L.minOffset >= 0 ? f16BitsToF32(halfAt(q.data, L.minOffset + 2 * gi)) : 0 };
}

/** The GGML code of element e of the K-quant block at byte o, as the repack stores it. */
const GGML_CODE: Readonly<Record<'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K', (b: Uint8Array, o: number, e: number) => number>> = {
  Q3_K: codeQ3K,
  Q4_K: codeQ4K,
  Q5_K: codeQ5K,
  Q6_K: (b, o, e) => codeQ6K(b, o, e) - 32,
};

/**
 * Q5_0 / Q5_1 block (ggml-common.h block_q5_0: d, qh[4], qs[16]; block_q5_1: d, m, qh[4], qs[16])
 * assembled independently of the test writer, as quantize_row_q5_0_ref packs q ∈ 0…31: element j in
 * the low (j < 16) or high nibble of qs[j % 16], its bit 4 in bit j of the little-endian u32 qh.
 */
function q5Block(d: number, m: number | null, q: (e: number) => number): number[] {
  let qh = 0;
  for (let e = 0; e < 32; e++) qh = (qh | ((q(e) >> 4) << e)) >>> 0;
  const qs = Array.from({ length: 16 }, (_, j) => (q(j) & 15) | ((q(j + 16) & 15) << 4));
  return [...h(d), ...(m === null ? [] : h(m)), qh & 255, (qh >>> 8) & 255, (qh >>> 16) & 255, qh >>> 24, ...qs];
}

/** Every value equal (===, so +0 and −0 count as equal; NaN never is), first mismatch named. */
function expectSameValues(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const i = got.findIndex((v, k) => v !== want[k]);
  if (i >= 0) throw new Error(`${what}: value ${i} is ${got[i]}, want ${want[i]}`);
}

/**
 * Q4_K block (ggml-common.h block_q4_K) assembled independently of the test writer: sc, m 6-bit
 * per sub-block of 32 (packed as get_scale_min_k4 unpacks), element l of sub-block 2g in the low
 * and of 2g + 1 in the high nibble of qs[32g + l]. `fifth`: the Q5_K block (block_q5_K), with
 * qh[32] before qs holding bit 4 of element l of sub-block j in qh[l] bit j.
 */
function q4kBlock(d: number, dmin: number, sc: number[], m: number[], q: (e: number) => number, fifth = false): number[] {
  const scales = new Array<number>(12).fill(0);
  for (let j = 0; j < 4; j++) {
    scales[j] = (sc[j] as number) | (((sc[j + 4] as number) >> 4) << 6);
    scales[j + 4] = (m[j] as number) | (((m[j + 4] as number) >> 4) << 6);
    scales[j + 8] = ((sc[j + 4] as number) & 15) | (((m[j + 4] as number) & 15) << 4);
  }
  const qh = Array.from({ length: 32 }, (_, l) => Array.from({ length: 8 }, (_, j) => ((q(32 * j + l) >> 4) & 1) << j).reduce((a, b) => a | b, 0));
  const qs = Array.from({ length: 128 }, (_, i) => (q(64 * (i >> 5) + (i & 31)) & 15) | ((q(64 * (i >> 5) + 32 + (i & 31)) & 15) << 4));
  return [...h(d), ...h(dmin), ...scales, ...(fifth ? qh : []), ...qs];
}

/** Q6_K block (block_q6_K: ql[128], qh[64], int8 scales[16], d), as ggml's quantize_row_q6_K_ref packs q ∈ 0…63. */
function q6kBlock(d: number, sc: number[], q: (e: number) => number): number[] {
  const ql = new Array<number>(128).fill(0);
  const qh = new Array<number>(64).fill(0);
  for (let n = 0; n < 2; n++) {
    for (let l = 0; l < 32; l++) {
      const [q1, q2, q3, q4] = [0, 32, 64, 96].map((k) => q(128 * n + k + l)) as [number, number, number, number];
      ql[64 * n + l] = (q1 & 15) | ((q3 & 15) << 4);
      ql[64 * n + 32 + l] = (q2 & 15) | ((q4 & 15) << 4);
      qh[32 * n + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
    }
  }
  return [...ql, ...qh, ...sc.map((v) => v & 0xff), ...h(d)];
}

/**
 * Q3_K block (block_q3_K: hmask[32], qs[64], scales[12], d), as ggml's quantize_row_q3_K_ref packs
 * signed scales sc′ ∈ −32…31 (stored + 32) and q ∈ 0…7: bit 2 of q(e) in hmask[e % 32] bit ⌊e/32⌋,
 * its low 2 bits in qs[32·⌊e/128⌋ + e % 32] bits 2·(⌊e/32⌋ % 4).
 */
function q3kBlock(d: number, sc: number[], q: (e: number) => number): number[] {
  const hmask = new Array<number>(32).fill(0);
  const qs = new Array<number>(64).fill(0);
  for (let e = 0; e < 256; e++) {
    hmask[e % 32] = (hmask[e % 32] as number) | ((q(e) >> 2) << (e >> 5));
    qs[32 * (e >> 7) + (e % 32)] = (qs[32 * (e >> 7) + (e % 32)] as number) | ((q(e) & 3) << (2 * ((e >> 5) & 3)));
  }
  const scales = new Array<number>(12).fill(0);
  for (let j = 0; j < 16; j++) {
    const l = (sc[j] as number) + 32;
    if (j < 8) scales[j] = l & 15;
    else scales[j - 8] = (scales[j - 8] as number) | ((l & 15) << 4);
    scales[(j % 4) + 8] = (scales[(j % 4) + 8] as number) | ((l >> 4) << (2 * (j >> 2)));
  }
  return [...hmask, ...qs, ...scales, ...h(d)];
}

describe('repackGguf, K-quants: hand-assembled blocks', () => {
  // codes that differ between neighbours, sub-blocks and halves, so that any order error shows
  const pattern = (levels: number) => (e: number) => (e * 7 + (e >> 5) + (e >> 7)) % levels;

  it('Q4_K → q4 G = 32: code of element k at nibble k%8 of word k/8, scale d·sc, min −dmin·m; negative d and dmin, sc = 0, m = 0, and d = dmin = 0 exact', () => {
    const sc = [0, 1, 5, 63, 17, 33, 48, 2];
    const m = [3, 0, 63, 1, 20, 40, 5, 0];
    // d·sc and dmin·m are f16 values here, so the f16 pair fitted is (d·sc, −dmin·m) itself
    const bytes = new Uint8Array([...q4kBlock(-0.5, -0.25, sc, m, pattern(16)), ...q4kBlock(0, 0, sc, m, pattern(16))]);
    const q = repackGguf('Q4_K', bytes, 1, 512);
    expect(q).toMatchObject({ format: 'q4', rows: 1, cols: 512, groupSize: 32, requantized: 0 });
    for (let k = 0; k < 512; k++) expect(quantCode(q, 0, k), `element ${k}`).toBe(pattern(16)(k % 256));
    for (let j = 0; j < 8; j++) {
      expect(groupParams(q, 0, j), `sub-block ${j}`).toEqual({ s: -0.5 * (sc[j] as number), m: 0.25 * (m[j] as number) });
      expect(Object.values(groupParams(q, 0, 8 + j)).map(Math.abs), `sub-block ${j}, d = 0`).toEqual([0, 0]); // ±0: the sign of 0·sc
    }
    expectSameValues(dequantize(q), ggmlDequantize('Q4_K', bytes, 512), 'Q4_K exact products');
  });

  it('Q5_K → q8m G = 32: code of element k at byte k (5th bit from qh), scale d·sc, min −dmin·m; negative d and dmin, sc = 0, m = 0, and d = dmin = 0 exact', () => {
    const sc = [0, 1, 5, 63, 17, 33, 48, 2];
    const m = [3, 0, 63, 1, 20, 40, 5, 0];
    const bytes = new Uint8Array([...q4kBlock(-0.5, -0.25, sc, m, pattern(32), true), ...q4kBlock(0, 0, sc, m, pattern(32), true)]);
    const q = repackGguf('Q5_K', bytes, 1, 512);
    expect(q).toMatchObject({ format: 'q8m', rows: 1, cols: 512, groupSize: 32, requantized: 0 });
    for (let k = 0; k < 512; k++) expect(quantCode(q, 0, k), `element ${k}`).toBe(pattern(32)(k % 256));
    for (let j = 0; j < 8; j++) {
      expect(groupParams(q, 0, j), `sub-block ${j}`).toEqual({ s: -0.5 * (sc[j] as number), m: 0.25 * (m[j] as number) });
      expect(Object.values(groupParams(q, 0, 8 + j)).map(Math.abs), `sub-block ${j}, d = 0`).toEqual([0, 0]);
    }
    expectSameValues(dequantize(q), ggmlDequantize('Q5_K', bytes, 512), 'Q5_K exact products');
  });

  it('Q6_K → q8 G = 16: codes q − 32 in element order, scale d·sc; negative d, sc = 0, −128, 127, and d = 0 exact', () => {
    const sc = [0, -128, 127, 1, -1, 2, -3, 64, -64, 5, 6, -7, 8, 9, -10, 11];
    const bytes = new Uint8Array([...q6kBlock(-0.5, sc, pattern(64)), ...q6kBlock(0, sc, pattern(64))]);
    const q = repackGguf('Q6_K', bytes, 1, 512);
    expect(q).toMatchObject({ format: 'q8', rows: 1, cols: 512, groupSize: 16, requantized: 0 });
    for (let k = 0; k < 512; k++) expect(quantCode(q, 0, k), `element ${k}`).toBe(pattern(64)(k % 256) - 32);
    for (let j = 0; j < 16; j++) {
      expect(groupParams(q, 0, j).s, `sub-block ${j}`).toBe(-0.5 * (sc[j] as number));
      expect(Math.abs(groupParams(q, 0, 16 + j).s), `sub-block ${j}, d = 0`).toBe(0); // ±0: the sign of 0·sc
    }
    expectSameValues(dequantize(q), ggmlDequantize('Q6_K', bytes, 512), 'Q6_K exact products');
  });

  it('Q3_K → q4 G = 16: codes q ∈ 0…7 in element order, scale d·sc′, min −4·d·sc′; negative d, sc′ = −32, 31, 0, and d = 0 exact', () => {
    const sc = [-32, 31, 0, 1, -1, 2, -3, 16, -16, 5, 6, -7, 8, 9, -10, 11];
    const bytes = new Uint8Array([...q3kBlock(-0.25, sc, pattern(8)), ...q3kBlock(0, sc, pattern(8))]);
    const q = repackGguf('Q3_K', bytes, 1, 512);
    expect(q).toMatchObject({ format: 'q4', rows: 1, cols: 512, groupSize: 16, requantized: 0 });
    for (let k = 0; k < 512; k++) expect(quantCode(q, 0, k), `element ${k}`).toBe(pattern(8)(k % 256));
    for (let j = 0; j < 16; j++) {
      expect(groupParams(q, 0, j), `sub-block ${j}`).toEqual({ s: -0.25 * (sc[j] as number), m: sc[j] === 0 ? 0 : 4 * 0.25 * (sc[j] as number) });
      expect(Object.values(groupParams(q, 0, 16 + j)).map(Math.abs), `sub-block ${j}, d = 0`).toEqual([0, 0]); // ±0: the sign of 0·sc′
    }
    const got = dequantize(q);
    expectSameValues(got, ggmlDequantize('Q3_K', bytes, 512), 'Q3_K exact products');
    // code 4 is exactly 0, as in ggml
    for (let k = 0; k < 256; k++) if (pattern(8)(k) === 4) expect(got[k]).toBe(0);
  });

  it('a group whose scale or min overflows f16 is re-quantized alone (as quant.ts quantizes its decoded values); its neighbours keep their codes', () => {
    /** The group [k0, k0 + G) of `q` is quant.ts's own q4/q8 quantization of those decoded values. */
    const expectRequantized = (q: QuantizedTensor, want: Float32Array, k0: number, what: string): void => {
      const G = q.groupSize;
      const own = quantize(want.slice(k0, k0 + G), 1, G, q.format, G);
      expectSameValues(dequantize(q).subarray(k0, k0 + G), dequantize(own), what);
    };
    // Q4_K: d = 2000, sc(0) = 63 → d·sc = 126000 > 65504; codes 0/1, m = 0: values 0 and 126000, which
    // q4 holds exactly (e.g. min 0, scale f16(126000/15) = 8400); sub-blocks 1…7: sc 1, scale 2000
    const q01 = (e: number): number => ((e * 5) % 3 === 0 ? 1 : 0);
    const k4 = new Uint8Array(q4kBlock(2000, 0, [63, 1, 1, 1, 1, 1, 1, 1], new Array(8).fill(0), q01));
    const r4 = repackGguf('Q4_K', k4, 1, 256);
    expect(r4.requantized).toBe(1);
    const want4 = ggmlDequantize('Q4_K', k4, 256);
    expectRequantized(r4, want4, 0, 'Q4_K group 0');
    expectSameValues(dequantize(r4), want4, 'Q4_K with one re-quantized group');
    for (let k = 32; k < 256; k++) expect(quantCode(r4, 0, k)).toBe(q01(k));
    // Q5_K: d = 1360, sc(0) = 63 → d·sc = 85680 > 65504; codes 0/1, m = 0: values 0 and 85680, which
    // q8m holds exactly (min 0, scale f16(85680/255) = 336, codes 0 and 255); sub-blocks 1…7: sc 1
    const k5 = new Uint8Array(q4kBlock(1360, 0, [63, 1, 1, 1, 1, 1, 1, 1], new Array(8).fill(0), q01, true));
    const r5 = repackGguf('Q5_K', k5, 1, 256);
    expect(r5.requantized).toBe(1);
    const want5 = ggmlDequantize('Q5_K', k5, 256);
    expectRequantized(r5, want5, 0, 'Q5_K group 0');
    expectSameValues(dequantize(r5), want5, 'Q5_K with one re-quantized group');
    for (let k = 32; k < 256; k++) expect(quantCode(r5, 0, k)).toBe(q01(k));
    // Q6_K: d = 600, sc(0) = 127 → 76200; codes q − 32 ∈ {−1, 0, 1}: q8 re-quantization holds ±76200
    // exactly (scale f16(76200/127) = 600, codes ±127); sub-blocks 1…15: sc 1
    const q31 = (e: number): number => 31 + ((e * 5) % 3);
    const k6 = new Uint8Array(q6kBlock(600, [127, ...new Array(15).fill(1)], q31));
    const r6 = repackGguf('Q6_K', k6, 1, 256);
    expect(r6.requantized).toBe(1);
    const want6 = ggmlDequantize('Q6_K', k6, 256);
    expectRequantized(r6, want6, 0, 'Q6_K group 0');
    expectSameValues(dequantize(r6), want6, 'Q6_K with one re-quantized group');
    for (let k = 16; k < 256; k++) expect(quantCode(r6, 0, k)).toBe(q31(k) - 32);
    // Q3_K: d = 1000, sc′(0) = −32 → scale −32000 is an f16, but the min −4·scale = 128000 is not;
    // codes 3/4/5: values ±32000 and 0, three levels 32000 apart that a q4 grid over [−32000, 32000]
    // holds only to within half its step (min/max: s = f16(64000/15) = 4268, 0 → −2124); sub-blocks 1…15: sc′ 1
    const q345 = (e: number): number => 3 + ((e * 5) % 3);
    const k3 = new Uint8Array(q3kBlock(1000, [-32, ...new Array(15).fill(1)], q345));
    const r3 = repackGguf('Q3_K', k3, 1, 256);
    expect(r3.requantized).toBe(1);
    const got3 = dequantize(r3);
    const want3 = ggmlDequantize('Q3_K', k3, 256);
    expectRequantized(r3, want3, 0, 'Q3_K group 0');
    expectSameValues(got3.subarray(16), want3.subarray(16), 'Q3_K groups 1…15');
    const s3 = groupParams(r3, 0, 0).s;
    for (let k = 0; k < 16; k++) expect(Math.abs((got3[k] as number) - (want3[k] as number))).toBeLessThanOrEqual(s3 / 2);
  });
});

/**
 * Relative RMS error ‖dequantize(repack) − ggml‖ / ‖ggml‖ that the f16 scales (and Q4_K's / Q5_K's
 * mins) add, on the data below, seeds 11/12/13 observed: Q4_K 4.9e-4/3.6e-4/4.3e-4 (scale and min
 * rounded independently instead of fitted: 6.7e-4/4.7e-4/6.5e-4), Q5_K 4.7e-4/5.6e-4/4.6e-4, Q6_K
 * 1.4e-4/1.5e-4/2.1e-4, Q3_K 2.0e-4/1.1e-4/2.2e-4 (Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1: 0, bit for bit
 * above). Bounds ~2× the worst observation, within the issues' target of 1e-3. For
 * scale, the writer's own error against the f32 data is 0.08–0.10 (Q4_K), 0.04–0.05 (Q5_K),
 * 0.02–0.03 (Q6_K), 0.155 (Q3_K), and decoding + re-quantizing to q4 G = 64 would add 0.09–0.12
 * (quant.ts table).
 */
const ADDED_REL_RMS: Readonly<Record<'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K', number>> = { Q4_K: 1e-3, Q5_K: 1e-3, Q6_K: 4e-4, Q3_K: 4e-4 };

describe('repackGguf, K-quants: seeded data through the test writer', () => {
  // [12, 1024]: 4 super-blocks per row; N(0, 0.02) with 40 outliers ×20, row 1 ×1e-3 (scale
  // products in the f16 subnormal range), row 2 a zero super-block then ×30
  const rows = 12;
  const cols = 1024;
  const data = (seed: number): Float32Array => {
    const x = new Rng(seed).normals(rows * cols, 0.02);
    for (let i = 0; i < 40; i++) x[(i * 7919) % x.length] = (x[(i * 7919) % x.length] as number) * 20;
    for (let k = 0; k < cols; k++) {
      x[cols + k] = (x[cols + k] as number) * 1e-3;
      x[2 * cols + k] = k < 256 ? 0 : (x[2 * cols + k] as number) * 30;
    }
    return x;
  };

  it.each(['Q4_K', 'Q5_K', 'Q6_K', 'Q3_K'] as const)('%s: every code kept, each value within half a code step, added relative RMS ≤ ADDED_REL_RMS', (type) => {
    const G = GGUF_REPACK_GROUP[type] as number;
    const blockBytes = GGML_BLOCK[type].bytes;
    for (const seed of [11, 12, 13]) {
      const bytes = quantizeGgml(type, data(seed));
      const want = ggmlDequantize(type, bytes, rows * cols);
      const q = repackGguf(type, bytes, rows, cols);
      expect([q.format, q.groupSize, q.requantized]).toEqual([GGUF_REPACK[type], G, 0]);
      const got = dequantize(q);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < cols; k++) {
          const o = (r * (cols / 256) + (k >> 8)) * blockBytes;
          const c = quantCode(q, r, k);
          if (c !== GGML_CODE[type](bytes, o, k & 255)) throw new Error(`${type} seed ${seed}: code of [${r}, ${k}] is ${c}, want ${GGML_CODE[type](bytes, o, k & 255)}`);
          // a different code would be off by at least one step |s| (less the f16 rounding)
          const step = Math.abs(groupParams(q, r, Math.floor(k / G)).s);
          expect(Math.abs((got[r * cols + k] as number) - (want[r * cols + k] as number)), `${type} [${r}, ${k}]`).toBeLessThan(step / 2 + 1e-30);
        }
      }
      const added = relL2(got, want);
      console.log(`[repack] ${type} seed ${seed}: added relative RMS ${added.toExponential(2)}`);
      expect(added).toBeLessThanOrEqual(ADDED_REL_RMS[type]);
    }
  });
});
