import { describe, expect, it } from 'vitest';
import { relL2 } from '../testing/expectClose';
import { type F32Tensor, diffusersFromBfl, expectSameF32, goldenTransformerAsBfl, memorySource } from '../testing/goldenBfl';
import { f32ToBf16 } from '../util/dtype';
import { e4m3ToF32, e5m2ToF32, openFp8Tensors } from './fp8';
import { type WritableTensor, encodeSafetensors } from './safetensorsWrite';
import type { SourceTensor } from './sourceTensor';

describe('FP8 byte values (OCP 8-bit floating point spec v1.0, Table 1; torch float8_e4m3fn / float8_e5m2)', () => {
  it('E4M3 (fn): bias 7, no infinities, max 448, subnormals down to 2⁻⁹, NaN only at S.1111.111', () => {
    expect(e4m3ToF32(0x38)).toBe(1); // 0.0111.000 = 2^(7−7)
    expect(e4m3ToF32(0x7e)).toBe(448); // 0.1111.110 = 1.75·2^8, the largest finite
    expect(e4m3ToF32(0xfe)).toBe(-448);
    expect(e4m3ToF32(0x08)).toBe(2 ** -6); // smallest normal
    expect(e4m3ToF32(0x07)).toBe(0.875 * 2 ** -6); // largest subnormal
    expect(e4m3ToF32(0x01)).toBe(2 ** -9); // smallest subnormal
    expect(Object.is(e4m3ToF32(0x00), 0)).toBe(true);
    expect(Object.is(e4m3ToF32(0x80), -0)).toBe(true);
    expect(e4m3ToF32(0x7f)).toBeNaN();
    expect(e4m3ToF32(0xff)).toBeNaN();
    const all = Array.from({ length: 256 }, (_, b) => e4m3ToF32(b));
    expect(all.filter(Number.isNaN).length).toBe(2);
    expect(all.some((v) => !Number.isFinite(v) && !Number.isNaN(v))).toBe(false);
  });

  it('E5M2: bias 15, max 57344, ±Inf at exponent 31 with mantissa 0, subnormals down to 2⁻¹⁶', () => {
    expect(e5m2ToF32(0x3c)).toBe(1);
    expect(e5m2ToF32(0x7b)).toBe(57344);
    expect(e5m2ToF32(0x7c)).toBe(Infinity);
    expect(e5m2ToF32(0xfc)).toBe(-Infinity);
    for (const b of [0x7d, 0x7e, 0x7f, 0xff]) expect(e5m2ToF32(b)).toBeNaN();
    expect(e5m2ToF32(0x04)).toBe(2 ** -14);
    expect(e5m2ToF32(0x01)).toBe(2 ** -16);
  });
});

/** Non-negative finite values of a format, ascending, with their bytes (from the formula, for the test's encoder). */
function positives(decode: (b: number) => number): { v: number; b: number }[] {
  return Array.from({ length: 128 }, (_, b) => ({ v: decode(b), b })).filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v);
}

/** Quantizes x/scale to the nearest value of the format: bytes and the chosen values. */
function encodeFp8(x: Float32Array, scale: ArrayLike<number>, cols: number, decode: (b: number) => number): { bytes: Uint8Array; values: Float32Array } {
  const table = positives(decode);
  const bytes = new Uint8Array(x.length);
  const values = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const s = scale.length === 1 ? (scale[0] as number) : (scale[Math.floor(i / cols)] as number);
    const a = Math.abs((x[i] as number) / s);
    let lo = 0;
    let hi = table.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((table[mid] as { v: number }).v <= a) lo = mid;
      else hi = mid;
    }
    const best = a - (table[lo] as { v: number }).v <= (table[hi] as { v: number }).v - a ? (table[lo] as { v: number; b: number }) : (table[hi] as { v: number; b: number });
    const neg = (x[i] as number) < 0;
    bytes[i] = best.b | (neg ? 0x80 : 0);
    values[i] = (neg ? -best.v : best.v) * s; // what torch's fp8.to(f32) * scale gives (one f32 rounding)
  }
  return { bytes, values };
}

const amax = (x: Float32Array): number => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Relative RMS error of the fp8 weights against the bf16 originals: E4M3 keeps 3 mantissa bits
 * (relative rounding error ≤ 2⁻⁴); measured 0.0257–0.0267 per tensor over the 27 E4M3 golden block
 * weights (E5M2, 2 bits: 0.0525 on its one tensor), bounds ~1.25× the worst.
 */
const FP8_REL_RMS = { F8_E4M3: 0.033, F8_E5M2: 0.066 };

describe('FP8 scaled safetensors in BFL naming (golden model-a transformer)', async () => {
  const { diffusers, bfl } = await goldenTransformerAsBfl();
  const P = 'model.diffusion_model.';
  const tensors: Record<string, WritableTensor> = {};
  const dequant = new Map<string, F32Tensor>(); // BFL name → values the reader must produce
  for (const [name, t] of bfl) {
    const isBlockLinear = /^(double|single)_blocks\./.test(name) && t.shape.length === 2;
    if (!isBlockLinear) {
      tensors[P + name] = { dtype: 'BF16', shape: t.shape, data: f32ToBf16(t.data) };
      dequant.set(name, t);
      continue;
    }
    const rows = t.shape[0] as number;
    const cols = t.shape[1] as number;
    const e5 = name === 'single_blocks.1.linear2.weight';
    const perRow = name === 'double_blocks.1.img_mlp.0.weight';
    const max = e5 ? 57344 : 448;
    const scale = perRow
      ? Float32Array.from({ length: rows }, (_, r) => amax(t.data.subarray(r * cols, (r + 1) * cols)) / max)
      : new Float32Array([amax(t.data) / max]);
    const { bytes, values } = encodeFp8(t.data, scale, cols, e5 ? e5m2ToF32 : e4m3ToF32);
    tensors[P + name] = { dtype: e5 ? 'F8_E5M2' : 'F8_E4M3', shape: t.shape, data: bytes };
    // ComfyUI's current spelling weight_scale; one tensor with the older scale_weight
    const scaleName = name === 'double_blocks.0.txt_mlp.2.weight' ? 'scale_weight' : 'weight_scale';
    tensors[P + name.replace(/weight$/, scaleName)] = { dtype: 'F32', shape: perRow ? [rows] : [], data: scale };
    tensors[P + name.replace(/weight$/, 'input_scale')] = { dtype: 'F32', shape: [], data: new Float32Array([0.5]) };
    dequant.set(name, { shape: t.shape, data: values });
  }
  tensors[`${P}double_blocks.0.img_attn.qkv.comfy_quant`] = { dtype: 'U8', shape: [26], data: new TextEncoder().encode('{"format":"float8_e4m3fn"}') };
  const file = encodeSafetensors(tensors, { _quantization_metadata: '{"format_version":"1.0","layers":{}}' });
  const src = memorySource({ 'klein-fp8.safetensors': file });

  it('yields the 49 diffusers tensors: fp8 × scale exactly as torch dequantizes, bf16 ones unchanged', async () => {
    const out = await openFp8Tensors(src, 'klein-fp8.safetensors');
    expect(out.map((t) => t.name).sort()).toEqual([...diffusers.keys()].sort());
    const worst = { F8_E4M3: 0, F8_E5M2: 0 };
    for (const t of out) {
      expect(t.shape, t.name).toEqual((diffusers.get(t.name) as F32Tensor).shape);
      const r = t.rowBytes(0, t.shape.length <= 1 ? 1 : (t.shape[0] as number));
      const got = t.decode(await src.range(r.file, r.start, r.end), 0, t.shape.length <= 1 ? 1 : (t.shape[0] as number));
      expectSameF32(got, diffusersFromBfl(t.name, dequant), t.name);
      if (t.sourceDtype === 'F8_E4M3' || t.sourceDtype === 'F8_E5M2') {
        expect(t.plainDtype).toBeNull();
        worst[t.sourceDtype] = Math.max(worst[t.sourceDtype], relL2(got, (diffusers.get(t.name) as F32Tensor).data));
      } else {
        expect(t.sourceDtype).toBe('BF16');
        expectSameF32(got, (diffusers.get(t.name) as F32Tensor).data, `${t.name} (bf16 passthrough)`);
      }
    }
    expect(worst.F8_E4M3).toBeGreaterThan(0);
    expect(worst.F8_E4M3).toBeLessThanOrEqual(FP8_REL_RMS.F8_E4M3);
    expect(worst.F8_E5M2).toBeLessThanOrEqual(FP8_REL_RMS.F8_E5M2);
  });

  it('fp8 qkv: to_v is the last third of the fused rows, decoded with the fused tensor’s scale', async () => {
    const out = new Map((await openFp8Tensors(src, 'klein-fp8.safetensors')).map((t) => [t.name, t]));
    const v = out.get('transformer_blocks.0.attn.to_v.weight') as SourceTensor;
    const q = out.get('transformer_blocks.0.attn.to_q.weight') as SourceTensor;
    expect(v.sourceDtype).toBe('F8_E4M3');
    expect(v.rowBytes(0, 128).start - q.rowBytes(0, 128).start).toBe(2 * 128 * 128); // 2D rows of 128 one-byte values
    const r = v.rowBytes(10, 20);
    const got = v.decode(await src.range(r.file, r.start, r.end), 10, 20);
    expectSameF32(got, diffusersFromBfl(v.name, dequant).subarray(10 * 128, 20 * 128), 'to_v rows [10, 20)');
  });

  it('refuses a scale without its weight and unsupported scaling schemes', async () => {
    const orphan = { ...tensors, [`${P}double_blocks.0.img_attn.nothing.weight_scale`]: { dtype: 'F32' as const, shape: [], data: new Float32Array([1]) } };
    await expect(openFp8Tensors(memorySource({ f: encodeSafetensors(orphan) }), 'f')).rejects.toThrow(/scales without a weight: double_blocks\.0\.img_attn\.nothing\.weight/);
    const nvfp4 = { ...tensors, [`${P}single_blocks.0.linear1.weight_scale_2`]: { dtype: 'F32' as const, shape: [], data: new Float32Array([1]) } };
    await expect(openFp8Tensors(memorySource({ f: encodeSafetensors(nvfp4) }), 'f')).rejects.toThrow(/linear1\.weight_scale_2.*got a weight_scale_2 tensor/);
    const wrongSize = { ...tensors, [`${P}single_blocks.0.linear1.weight_scale`]: { dtype: 'F32' as const, shape: [2], data: new Float32Array([1, 1]) } };
    await expect(openFp8Tensors(memorySource({ f: encodeSafetensors(wrongSize) }), 'f')).rejects.toThrow(/linear1\.weight_scale: expected 1 or 1152 values, got \[2\]/);
  });
});
