import { describe, expect, it } from 'vitest';
import { diffusersFromBfl, expectSameF32, goldenTransformerAsBfl, memorySource } from '../testing/goldenBfl';
import { goldenModelSource } from '../testing/golden';
import { relL2 } from '../testing/expectClose';
import { decodeToF32, f32ToF16Bits } from '../util/dtype';
import { Rng } from '../util/rng';
import { ggufRowSource, openGgufTextEncoder, openGgufTransformer, readGgufHeader } from './gguf';
import { neededTensors } from '../model/tensorList';
import { GGML_BLOCK, type GgmlType, dequantize } from './ggufQuants';
import { type GgufTensorIn, encodeGguf } from './ggufWrite';
import { openComponent } from './safetensors';
import { dequantize as quantDequantize } from '../util/quant';
import type { FileSource } from './source';
import type { SourceTensor } from './sourceTensor';
import { llamaName } from '../testing/goldenGguf';

/** f16 bits of v as two little-endian bytes. */
const h = (v: number): [number, number] => {
  const b = f32ToF16Bits(v);
  return [b & 0xff, b >> 8];
};

/** Decodes all rows of a SourceTensor through rowBytes + decode, as the converter does. */
async function readAll(src: FileSource, t: SourceTensor, r0 = 0, r1 = t.shape.length <= 1 ? 1 : (t.shape[0] as number)): Promise<Float32Array> {
  const r = t.rowBytes(r0, r1);
  return t.decode(await src.range(r.file, r.start, r.end), r0, r1);
}

describe('GGML block layouts, hand-assembled from ggml-common.h / dequantize_row_*', () => {
  it('Q4_0: d = 1, nibbles 0…15 → −8…7 (low nibbles first, then high); a second block with d = −0.5', () => {
    const b0 = [...h(1), ...Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4))];
    const b1 = [...h(-0.5), ...new Array(16).fill(0xf0)];
    const y = dequantize('Q4_0', new Uint8Array([...b0, ...b1]), 64);
    expect([...y.subarray(0, 16)]).toEqual([-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...y.subarray(16, 32)]).toEqual([7, 6, 5, 4, 3, 2, 1, 0, -1, -2, -3, -4, -5, -6, -7, -8]);
    // block 1: low nibble 0 → (0 − 8)·(−0.5) = 4, high nibble 15 → 7·(−0.5) = −3.5
    expect([...new Set(y.subarray(32, 48))]).toEqual([4]);
    expect([...new Set(y.subarray(48, 64))]).toEqual([-3.5]);
  });

  it('Q4_1: y = q·d + m with d = 0.5, m = −2', () => {
    const y = dequantize('Q4_1', new Uint8Array([...h(0.5), ...h(-2), ...new Array(16).fill(0x3a)]), 32);
    expect(y[0]).toBe(10 * 0.5 - 2); // low nibble 0xa
    expect(y[16]).toBe(3 * 0.5 - 2); // high nibble 0x3
  });

  it('Q5_0: the 5th bit of y[j] is qh bit j, of y[j+16] qh bit j+16; offset −16', () => {
    // qh = bits 0, 2, 4, …, 14 (0x5555) and bit 16+3 → little-endian bytes 0x55 0x55 0x08 0x00
    const qs = new Array(16).fill(0);
    qs[1] = 0x0f; // y[1] low nibble 15, y[17] high nibble 0
    const y = dequantize('Q5_0', new Uint8Array([...h(1), 0x55, 0x55, 0x08, 0x00, ...qs]), 32);
    expect(y[0]).toBe(0); // 16 − 16
    expect(y[1]).toBe(-1); // 15 − 16, bit 1 clear
    expect(y[2]).toBe(0);
    expect(y[3]).toBe(-16);
    expect(y[16 + 3]).toBe(0); // bit 19 set
    expect(y[16 + 4]).toBe(-16);
    expect(y[17]).toBe(-16);
  });

  it('Q5_1: y = q·d + m, qh 0x0000ffff sets the 5th bit of y[0…15] only', () => {
    const y = dequantize('Q5_1', new Uint8Array([...h(2), ...h(1), 0xff, 0xff, 0, 0, ...new Array(16).fill(0x21)]), 32);
    expect(y[0]).toBe((1 + 16) * 2 + 1);
    expect(y[16]).toBe(2 * 2 + 1);
  });

  it('Q8_0: int8 codes times d = 0.25, 0x80 = −128', () => {
    const qs = Array.from({ length: 32 }, (_, j) => (j - 16) & 0xff);
    qs[0] = 0x80;
    const y = dequantize('Q8_0', new Uint8Array([...h(0.25), ...qs]), 32);
    expect(y[0]).toBe(-32);
    expect(y[1]).toBe(-15 / 4);
    expect(y[31]).toBe(15 / 4);
  });

  it('Q4_K: 6-bit scales/mins packed in 12 bytes, 4 groups of 64 (low nibbles, then high)', () => {
    // sub-block scales sc = [1, 2, 3, 4, 17, 33, 48, 63], mins m = [0, 1, 2, 3, 20, 40, 5, 63]
    // bytes 0–3: sc[0–3] | (sc[4–7] >> 4) << 6: 17 = 0b01_0001, 33 = 0b10_0001, 48 = 0b11_0000, 63 = 0b11_1111
    //   → 1 | 1<<6 = 65, 2 | 2<<6 = 130, 3 | 3<<6 = 195, 4 | 3<<6 = 196
    // bytes 4–7: m[0–3] | (m[4–7] >> 4) << 6: 20 = 0b01_0100, 40 = 0b10_1000, 5, 63 → 64, 129, 2, 195
    // bytes 8–11: (sc[j] & 15) | (m[j] & 15) << 4 for j = 4…7 → 0x41, 0x81, 0x50, 0xff
    const scales = [65, 130, 195, 196, 64, 129, 2, 195, 0x41, 0x81, 0x50, 0xff];
    const qs = Array.from({ length: 128 }, (_, i) => (i % 16) | ((15 - (i % 16)) << 4));
    const y = dequantize('Q4_K', new Uint8Array([...h(1), ...h(0.5), ...scales, ...qs]), 256);
    // y = d·sc·q − dmin·m, d = 1, dmin = 0.5
    expect(y[0]).toBe(0); // sub-block 0, low nibble of qs[0] = 0
    expect(y[32]).toBe(2 * 15 - 0.5 * 1); // sub-block 1, high nibble of qs[0] = 15
    expect(y[128]).toBe(17 * 0 - 0.5 * 20); // group 2 → sub-block 4, low nibble of qs[64] = 0
    expect(y[160]).toBe(33 * 15 - 0.5 * 40); // sub-block 5, high nibble of qs[64]
    expect(y[224]).toBe(63 * 15 - 0.5 * 63); // sub-block 7, high nibble of qs[96]
    expect(y[255]).toBe(63 * 0 - 0.5 * 63); // high nibble of qs[127] = 15 − 15
    expect(y[200]).toBe(48 * 8 - 0.5 * 5); // sub-block 6, low nibble of qs[96 + 8] = 8
  });

  it('Q5_K: qh[l] bit 2g is the 5th bit of y[64g+l], bit 2g+1 that of y[64g+32+l]', () => {
    // all scales 1, mins 0: bytes 0–3 = 1, 4–7 = 0, 8–11 = 0x01
    const scales = [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1];
    const qh = Array.from({ length: 32 }, (_, l) => 1 << (l % 8));
    const qs = new Array(128).fill(0);
    qs[0] = 0x53;
    const y = dequantize('Q5_K', new Uint8Array([...h(1), ...h(1), ...scales, ...qh, ...qs]), 256);
    expect(y[0]).toBe(3 + 16); // qh[0] bit 0 set, low nibble 3
    expect(y[32]).toBe(5); // qh[0] bit 1 clear, high nibble 5
    expect(y[33]).toBe(16); // qh[1] = 2: bit 1 set
    expect(y[64 + 2]).toBe(16); // group 1: qh[2] bit 2
    expect(y[64 + 3]).toBe(0);
    expect(y[255]).toBe(16); // group 3, high: qh[31] = 1 << 7
    expect(y[254]).toBe(0);
  });

  it('Q6_K: ql nibbles, qh 2-bit pairs, int8 scale per 16 values, d last', () => {
    // per 128-value half: ql[0–31] = 0x21, ql[32–63] = 0x43, qh = 0b11_10_01_00 (2-bit pair k for quarter k)
    // quarter 0: low of 0x21 = 1 | 0<<4 → 1 − 32 = −31; quarter 1: low of 0x43 = 3 | 1<<4 → −13;
    // quarter 2: high of 0x21 = 2 | 2<<4 → 2; quarter 3: high of 0x43 = 4 | 3<<4 → 20
    const ql = Array.from({ length: 128 }, (_, i) => (i % 64 < 32 ? 0x21 : 0x43));
    const qh = new Array(64).fill(0xe4);
    const sc = Array.from({ length: 16 }, (_, s) => (s - 8) & 0xff);
    const y = dequantize('Q6_K', new Uint8Array([...ql, ...qh, ...sc, ...h(0.5)]), 256);
    expect(y[0]).toBe(0.5 * -8 * -31);
    expect(y[40]).toBe(0.5 * -6 * -13); // scale index 40 >> 4 = 2
    expect(y[70]).toBe(0.5 * -4 * 2);
    expect(y[100]).toBe(0.5 * -2 * 20);
    expect(y[130]).toBe(-0); // scale 8 − 8 = 0: 0.5·0·(−31) = −0, as in ggml's float arithmetic
    expect(y[160]).toBe(0.5 * 2 * -13);
    expect(y[255]).toBe(0.5 * 7 * 20);
    // every value against ggml's dequantize_row_q6_K loop order (4 outputs per l)
    const want = new Float32Array(256);
    for (let n = 0; n < 2; n++) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q = [
          ((ql[64 * n + l] as number) & 15) | ((((qh[32 * n + l] as number) >> 0) & 3) << 4),
          ((ql[64 * n + l + 32] as number) & 15) | ((((qh[32 * n + l] as number) >> 2) & 3) << 4),
          ((ql[64 * n + l] as number) >> 4) | ((((qh[32 * n + l] as number) >> 4) & 3) << 4),
          ((ql[64 * n + l + 32] as number) >> 4) | ((((qh[32 * n + l] as number) >> 6) & 3) << 4),
        ];
        for (let k = 0; k < 4; k++) want[128 * n + l + 32 * k] = 0.5 * (((sc[8 * n + is + 2 * k] as number) << 24) >> 24) * ((q[k] as number) - 32);
      }
    }
    expect([...y]).toEqual([...want]);
  });

  it('Q3_K: hmask high bits, 2-bit qs planes, 16 6-bit scales − 32 in 12 bytes, d last; every value against ggml\'s loop', () => {
    // hand-checked values: all stored scales 33 (sc′ = 1) except sub-block 0: 0 (sc′ = −32) and 15: 63 (sc′ = 31)
    // stored 33 = 0b10_0001: low nibbles 1 → bytes 0–7 = 0x11 (byte 0: 0x10, low nibble of scale 0 is 0);
    // top bits 2 for scales 1…14, 0 for scale 0 (bits 0–1 of byte 8) and 3 for scale 15 (bits 6–7 of byte 11)
    const scales = [0x10, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0xf1, 0xa8, 0xaa, 0xaa, 0xea];
    const hmask = Array.from({ length: 32 }, (_, l) => (l === 0 ? 0xff : l === 1 ? 0 : 0x0f)); // l ≥ 2: high bit for e < 128 only
    const qs = Array.from({ length: 64 }, (_, i) => (i === 0 ? 0b11_10_01_00 : 0)); // qs[0]: element 0 → 0, 32 → 1, 64 → 2, 96 → 3
    const d = -0.5;
    const block = new Uint8Array([...hmask, ...qs, ...scales, ...h(d)]);
    const y = dequantize('Q3_K', block, 256);
    expect(y[0]).toBe(d * -32 * (0 + 4 - 4)); // sub-block 0, q = 0 | 1 << 2
    expect(y[32]).toBe(d * 1 * (1 + 4 - 4)); // sub-block 2, qs[0] bits 2–3 = 1, hmask[0] bit 1
    expect(y[96]).toBe(d * 1 * (3 + 4 - 4)); // sub-block 6, qs[0] bits 6–7
    expect(y[128]).toBe(d * 1 * (0 + 4 - 4)); // sub-block 8, qs[32] = 0, hmask[0] bit 4
    expect(y[1]).toBe(d * -32 * (0 - 4)); // hmask[1] = 0: q = 0
    expect(y[255]).toBe(d * 31 * (0 - 4)); // sub-block 15, hmask[31] bit 7 clear
    expect(y[242]).toBe(d * 31 * (0 - 4)); // hmask[18] = 0x0f: bit 7 clear
    expect(y[2]).toBe(d * -32 * (4 - 4));
    // random bytes against ggml's dequantize_row_q3_K as written (aux words, kmask1/kmask2, m and shift)
    const rnd = new Rng(3);
    const b = Uint8Array.from({ length: 110 }, () => rnd.nextU32() & 0xff);
    b.set(h(0.125), 108);
    const aux = new Uint32Array(4);
    new Uint8Array(aux.buffer).set(b.subarray(96, 108));
    const [kmask1, kmask2] = [0x03030303, 0x0f0f0f0f];
    const tmp = aux[2] as number;
    aux[2] = (((aux[0] as number) >>> 4) & kmask2) | (((tmp >>> 4) & kmask1) << 4);
    aux[3] = (((aux[1] as number) >>> 4) & kmask2) | (((tmp >>> 6) & kmask1) << 4);
    aux[0] = ((aux[0] as number) & kmask2) | (((tmp >>> 0) & kmask1) << 4);
    aux[1] = ((aux[1] as number) & kmask2) | (((tmp >>> 2) & kmask1) << 4);
    const sc = new Int8Array(aux.buffer);
    const want: number[] = [];
    let is = 0;
    for (let n = 0, q = 32, m = 1; n < 256; n += 128, q += 32) {
      for (let j = 0, shift = 0; j < 4; j++, shift += 2, m <<= 1) {
        let dl = 0.125 * ((sc[is++] as number) - 32);
        for (let l = 0; l < 16; l++) want.push(dl * ((((b[q + l] as number) >> shift) & 3) - ((b[l] as number) & m ? 0 : 4)));
        dl = 0.125 * ((sc[is++] as number) - 32);
        for (let l = 0; l < 16; l++) want.push(dl * ((((b[q + l + 16] as number) >> shift) & 3) - ((b[l + 16] as number) & m ? 0 : 4)));
      }
    }
    expect([...dequantize('Q3_K', b, 256)]).toEqual(want.map(Math.fround));
  });

  it('rejects a byte count that is not whole blocks of the type', () => {
    expect(() => dequantize('Q4_K', new Uint8Array(143), 256, 'x')).toThrow(/weight x: expected 144 bytes/);
    expect(() => dequantize('Q8_0', new Uint8Array(34), 16, 'y')).toThrow(/multiple of 32/);
  });
});

/**
 * Relative RMS error of writer → GGUF file → header parse → decode, gaussian N(0, 1) data [8, 512]
 * (seeds 7/8/9 measured: Q8_0 0.0054/0.0052/0.0055, Q6_K 0.0189/0.0186/0.0187, Q5_K 0.0378/0.0379/
 * 0.0382, Q5_1 0.0377, Q5_0 0.0423/0.0424/0.0429, Q4_K 0.0796/0.0783/0.0792, Q4_1 0.0791/0.0782/0.0792,
 * Q4_0 0.0855/0.0841/0.0874, Q3_K 0.1534/0.1538/0.1546; F16 2.1e-4, BF16 1.65e-3 from rounding to the
 * stored type; F32 exact).
 * That is the quantization noise step/√12 of these plain quantizers (ggufWrite.ts); bounds are
 * ~1.25× the worst observation. A layout error (nibble order, scale unpacking, a high bit) scrambles
 * values and gives errors of order 1.
 */
const ROUND_TRIP_REL_RMS: Readonly<Record<GgmlType, number>> = {
  F32: 0, F16: 3e-4, BF16: 2.1e-3, Q8_0: 0.007, Q6_K: 0.024, Q5_K: 0.048, Q5_1: 0.048, Q5_0: 0.054, Q4_K: 0.1, Q4_1: 0.1, Q4_0: 0.11,
  Q3_K: 0.19,
};

describe('GGUF writer → @huggingface/gguf header → decode', () => {
  const types = Object.keys(ROUND_TRIP_REL_RMS) as GgmlType[];
  const data = new Rng(7).normals(8 * 512);
  const tensors: GgufTensorIn[] = types.map((type) => ({ name: `t.${type}`, type, shape: [8, 512], data }));
  const file = encodeGguf({ 'general.architecture': 'test', 'general.alignment': 64, 'test.names': ['a', 'b'] }, tensors);
  const src = memorySource({ 'm.gguf': file });

  it('parses the header: shape reversed back to [rows, cols], 64-byte aligned offsets, metadata', async () => {
    const header = await readGgufHeader(src, 'm.gguf');
    expect(header.metadata['general.architecture']).toBe('test');
    expect(header.metadata['test.names']).toEqual(['a', 'b']);
    expect(header.tensors.map((t) => t.type)).toEqual(types);
    for (const t of header.tensors) {
      expect(t.shape).toEqual([8, 512]);
      expect(t.start % 64).toBe(0);
    }
  });

  it.each(types)('%s: relative RMS error within its bound; partial rows decode the same', async (type) => {
    const header = await readGgufHeader(src, 'm.gguf');
    const t = ggufRowSource(header.tensors.find((x) => x.name === `t.${type}`) as (typeof header.tensors)[0], 'm.gguf', file.length);
    expect(t.rowByteLength).toBe((512 / GGML_BLOCK[type].size) * GGML_BLOCK[type].bytes);
    const all = t.decodeRows(await src.range('m.gguf', t.start, t.start + 8 * t.rowByteLength), 0, 8);
    const err = relL2(all, data);
    expect(err).toBeLessThanOrEqual(ROUND_TRIP_REL_RMS[type]);
    if (type === 'F32') expectSameF32(all, data, 'F32 round trip');
    const part = t.decodeRows(await src.range('m.gguf', t.start + 3 * t.rowByteLength, t.start + 5 * t.rowByteLength), 3, 2);
    expectSameF32(part, all.subarray(3 * 512, 5 * 512), `${type} rows [3, 5)`);
  });

  it('reads a header larger than the library’s 2 MB fetch chunk (a tokenizer vocabulary, as in real Qwen3 GGUFs)', async () => {
    const tokens = Array.from({ length: 100_000 }, (_, i) => `token-${String(i).padStart(18, '0')}`); // 100k × (8 + 24) B
    const f = encodeGguf({ 'general.architecture': 'qwen3', 'tokenizer.ggml.tokens': tokens }, [{ name: 'w', type: 'Q8_0', shape: [2, 64], data: data.subarray(0, 128) }]);
    expect(f.length).toBeGreaterThan(3_000_000);
    const header = await readGgufHeader(memorySource({ 'big.gguf': f }), 'big.gguf');
    expect((header.metadata['tokenizer.ggml.tokens'] as string[])[99_999]).toBe('token-000000000000099999');
    expect(header.tensors[0]).toMatchObject({ name: 'w', type: 'Q8_0', shape: [2, 64] });
    expect((header.tensors[0] as { start: number }).start + 160).toBe(f.length); // 2 × 68 B of Q8_0, padded to 32
  });

  it('names the tensor and type of a type without a decoder', async () => {
    // write Q4_0 (18-byte blocks of 32), then relabel the tensor as IQ4_NL (id 20, same block size)
    const f = encodeGguf({ 'general.architecture': 'test' }, [{ name: 'w', type: 'Q4_0', shape: [1, 32], data: new Float32Array(32) }]);
    const at = findTypeField(f, 'w', 2);
    new DataView(f.buffer).setUint32(at, 20, true);
    const header = await readGgufHeader(memorySource({ 'x.gguf': f }), 'x.gguf');
    expect(() => ggufRowSource(header.tensors[0] as (typeof header.tensors)[0], 'x.gguf', f.length)).toThrow(/w \(x\.gguf\).*got IQ4_NL/);
  });

  it('refuses a file that is not GGUF, and data past the end of the file; source errors propagate as they are', async () => {
    await expect(readGgufHeader(memorySource({ 'x.gguf': new Uint8Array(64) }), 'x.gguf')).rejects.toThrow(/mem\/x\.gguf: not a readable GGUF/);
    const failing: FileSource = { ...src, range: async () => Promise.reject(new Error('HTTP 503 from the CDN')) };
    await expect(readGgufHeader(failing, 'm.gguf')).rejects.toThrow(/^HTTP 503 from the CDN$/);
    const header = await readGgufHeader(src, 'm.gguf');
    const t = header.tensors[0] as (typeof header.tensors)[0];
    expect(() => ggufRowSource(t, 'm.gguf', t.start + 100)).toThrow(/past the file end/);
  });
});

/** Byte offset of the u32 `type` field in the tensor info of `name` (n_dims u32 + dims u64 after the name). */
function findTypeField(file: Uint8Array, name: string, nDims: number): number {
  const needle = new TextEncoder().encode(name);
  for (let i = 8; i < file.length; i++) {
    const len = Number(new DataView(file.buffer).getBigUint64(i, true));
    if (len === needle.length && needle.every((b, k) => file[i + 8 + k] === b)) return i + 8 + len + 4 + 8 * nDims;
  }
  throw new Error(`tensor info ${name} not found`);
}

describe('FLUX.2 GGUF in BFL naming (golden model-a transformer)', async () => {
  const { diffusers, bfl } = await goldenTransformerAsBfl();
  // 2-D weights alternate BF16 / F32, norms F32: both hold the bf16 golden values exactly (F16 would
  // round 124 of the 1,663,744 values, those below 2⁻¹⁴); names as ComfyUI-GGUF writes them
  const tensors: GgufTensorIn[] = [...bfl].map(([name, t], i) => ({ name, shape: t.shape, data: t.data, type: t.shape.length === 2 && i % 2 ? 'BF16' : 'F32' }));
  const src = memorySource({ 'flux.gguf': encodeGguf({ 'general.architecture': 'flux' }, tensors) });

  it('yields exactly the 49 diffusers tensors, every value equal to the golden checkpoint', async () => {
    expect(bfl.size).toBe(2 * 12 + 2 * 4 + 9);
    const out = await openGgufTransformer(src, 'flux.gguf');
    expect(out.map((t) => t.name).sort()).toEqual([...diffusers.keys()].sort());
    for (const t of out) {
      const want = diffusers.get(t.name) as { shape: number[]; data: Float32Array };
      expect(t.shape, t.name).toEqual(want.shape);
      expectSameF32(await readAll(src, t), want.data, t.name);
    }
  });

  it('fused qkv: to_k is rows [D, 2D) of img_attn.qkv, plain-copyable; norm_out swaps halves and is not', async () => {
    const out = new Map((await openGgufTransformer(src, 'flux.gguf')).map((t) => [t.name, t]));
    const header = await readGgufHeader(src, 'flux.gguf');
    const qkv = header.tensors.find((t) => t.name === 'double_blocks.1.img_attn.qkv.weight') as (typeof header.tensors)[0];
    const k = out.get('transformer_blocks.1.attn.to_k.weight') as SourceTensor;
    const rowLen = (qkv.shape[1] as number) * (qkv.type === 'BF16' ? 2 : 4);
    expect(k.rowBytes(0, 128)).toEqual({ file: 'flux.gguf', start: qkv.start + 128 * rowLen, end: qkv.start + 256 * rowLen });
    expect(k.plainDtype).toBe(qkv.type === 'BF16' ? 'bf16' : 'f32');
    const norm = out.get('norm_out.linear.weight') as SourceTensor;
    expect(norm.plainDtype).toBeNull();
    const want = (diffusers.get('norm_out.linear.weight') as { data: Float32Array }).data;
    expectSameF32(await readAll(src, norm, 100, 160), want.subarray(100 * 128, 160 * 128), 'norm_out rows across the swap');
  });

  it('quantized (Q8_0 / Q4_0 / Q5_1) fused tensors: every slice equals the same rows of the whole decoded BFL tensor', async () => {
    const types = ['Q8_0', 'Q4_0', 'Q5_1'] as const;
    const q: GgufTensorIn[] = tensors.map((t, i) => (t.shape.length === 2 ? { ...t, type: types[i % 3] as GgmlType } : t));
    const s = memorySource({ 'q.gguf': encodeGguf({ 'general.architecture': 'flux' }, q) });
    const header = await readGgufHeader(s, 'q.gguf');
    const whole = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of header.tensors) {
      const rs = ggufRowSource(t, 'q.gguf', header.fileSize);
      const rows = t.shape.length <= 1 ? 1 : (t.shape[0] as number);
      whole.set(t.name, { shape: t.shape, data: rs.decodeRows(await s.range('q.gguf', rs.start, rs.start + rows * rs.rowByteLength), 0, rows) });
    }
    let repacked = 0;
    for (const t of await openGgufTransformer(s, 'q.gguf')) {
      const got = await readAll(s, t);
      expectSameF32(got, diffusersFromBfl(t.name, whole), t.name);
      // Q4_0 is the coarsest of the three: relative RMS ≤ its round-trip bound (golden weights are near-gaussian)
      expect(relL2(got, (diffusers.get(t.name) as { data: Float32Array }).data), t.name).toBeLessThanOrEqual(ROUND_TRIP_REL_RMS.Q4_0);
      expect(t.lossless?.format, t.name).toBe(({ Q8_0: 'q8', Q4_0: 'q4', Q5_1: 'q8m' } as const)[t.sourceDtype as 'Q8_0' | 'Q4_0' | 'Q5_1']);
      if (!t.lossless) continue;
      // the lossless repack of a row slice (norm_out: across its swapped halves) is the decoded slice exactly
      const [r0, r1] = [(t.shape[0] as number) / 2 - 3, (t.shape[0] as number) / 2 + 5];
      const r = t.rowBytes(r0, r1);
      const data = t.lossless.repack(await s.range(r.file, r.start, r.end), r0, r1);
      const cols = t.shape[1] as number;
      expectSameF32(quantDequantize({ format: t.lossless.format, rows: r1 - r0, cols, groupSize: t.lossless.group, data }), got.subarray(r0 * cols, r1 * cols), `${t.name} repacked rows [${r0}, ${r1})`);
      repacked++;
    }
    expect(repacked).toBeGreaterThan(20);
  });

  it('accepts the model.diffusion_model. prefix (stable-diffusion.cpp files)', async () => {
    const prefixed = tensors.map((t) => ({ ...t, name: `model.diffusion_model.${t.name}` }));
    const s = memorySource({ 'f.gguf': encodeGguf({ 'general.architecture': 'flux' }, prefixed) });
    expect((await openGgufTransformer(s, 'f.gguf')).length).toBe(49);
  });

  it('lists missing and unexpected tensors', async () => {
    const cut = tensors.filter((t) => t.name !== 'double_blocks.0.txt_attn.qkv.weight' && t.name !== 'img_in.weight');
    cut.push({ name: 'guidance_in.in_layer.weight', type: 'F32', shape: [4, 32], data: new Float32Array(128) });
    const s = memorySource({ 'f.gguf': encodeGguf({ 'general.architecture': 'flux' }, cut) });
    await expect(openGgufTransformer(s, 'f.gguf')).rejects.toThrow(
      /mem\/f\.gguf: not a FLUX\.2 transformer.*missing 2 tensors: img_in\.weight, double_blocks\.0\.txt_attn\.qkv\.weight; unexpected tensors: guidance_in\.in_layer\.weight/,
    );
  });
});

describe('Qwen3 GGUF in llama.cpp naming (golden model-a text encoder)', async () => {
  const ckpt = await openComponent(goldenModelSource(), 'text_encoder');
  const golden = new Map<string, Float32Array>();
  const tensors: GgufTensorIn[] = [];
  for (const [name, info] of ckpt.tensors) {
    const data = decodeToF32(await ckpt.read(name), 'bf16');
    golden.set(name, data);
    // the embedding in BF16 as llama.cpp's bf16 converter writes it; the rest F32
    tensors.push({ name: llamaName(name), shape: info.shape, data, type: name === 'model.embed_tokens.weight' ? 'BF16' : 'F32' });
  }
  const src = memorySource({ 'qwen3.gguf': encodeGguf({ 'general.architecture': 'qwen3' }, tensors) });
  const needed = (await neededTensors(goldenModelSource())).text_encoder;

  it('yields the embedding and layers 0…26 (297 + 1 tensors), equal to the golden checkpoint; layer 27 and output_norm skipped', async () => {
    const out = await openGgufTextEncoder(src, 'qwen3.gguf', needed);
    expect(out.length).toBe(1 + 27 * 11);
    expect(out.some((t) => t.name.startsWith('model.layers.27.') || t.name === 'model.norm.weight')).toBe(false);
    for (const t of out) {
      expect(t.shape, t.name).toEqual(ckpt.info(t.name).shape);
      expectSameF32(await readAll(src, t), golden.get(t.name) as Float32Array, t.name);
    }
    const emb = out.find((t) => t.name === 'model.embed_tokens.weight') as SourceTensor;
    expect([emb.sourceDtype, emb.plainDtype]).toEqual(['BF16', 'bf16']);
  });

  it('lists missing layers and non-Qwen3 tensors (Qwen2 biases)', async () => {
    const cut = tensors.filter((t) => !t.name.startsWith('blk.5.attn_k_norm'));
    cut.push({ name: 'blk.0.attn_q.bias', type: 'F32', shape: [64], data: new Float32Array(64) });
    const s = memorySource({ 'q.gguf': encodeGguf({ 'general.architecture': 'qwen2' }, cut) });
    await expect(openGgufTextEncoder(s, 'q.gguf', needed)).rejects.toThrow(
      /not a Qwen3 text encoder with 27 layers.*missing 1 tensors: model\.layers\.5\.self_attn\.k_norm\.weight; unexpected tensors: blk\.0\.attn_q\.bias/,
    );
  });
});
