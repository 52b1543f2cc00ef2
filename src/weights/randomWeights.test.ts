/** RandomWeights: scales per tensor kind (CPU backend), and speed for the 4B sizes. */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import type { Ops } from '../ops/ops';
import type { DType } from '../util/dtype';
import { RandomWeights } from './randomWeights';

describe('RandomWeights', () => {
  const ops = new CpuOps();

  it('gives ≥ 2-D weights RMS ≈ 1/√fan_in (within the documented factor 2), norms 1 ± 0.1, BN var in [0.5, 2]', async () => {
    const rw = new RandomWeights(ops, 7);
    const w = await ops.read(await rw.get('blocks.0.attn.to_q.weight', [256, 1024]));
    const rms = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(rms * Math.sqrt(1024)).toBeGreaterThan(0.5);
    expect(rms * Math.sqrt(1024)).toBeLessThan(2);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.05 * rms); // random signs: |mean| ≈ rms/√262144 = 0.002·rms
    const conv = await ops.read(await rw.get('decoder.conv_in.weight', [64, 32, 3, 3]));
    expect(Math.max(...conv.map(Math.abs))).toBeLessThanOrEqual(2 / (1.5 * Math.sqrt(32 * 9)));
    const norm = await ops.read(await rw.get('model.layers.0.input_layernorm.weight', [64]));
    for (const v of norm) expect(Math.abs(v - 1)).toBeLessThanOrEqual(0.1 + 2 ** -8); // + one bf16 ulp below 1 (truncation)
    const variance = await ops.read(await rw.get('bn.running_var', [128]));
    for (const v of variance) expect(v >= 0.5 && v <= 2).toBe(true);
    const bias = await ops.read(await rw.get('decoder.conv_in.bias', [64]));
    for (const v of bias) expect(Math.abs(v)).toBeLessThanOrEqual(0.02);
    expect(rw.loadedBytes).toBe(2 * (256 * 1024 + 64 * 32 * 9 + 64 + 128 + 64));
  });

  it('fills 4B-model-sized tensors quickly (reused scratch)', async () => {
    // an Ops stand-in that only checks the bytes: measures generation alone
    let seen = 0;
    const sink = { weight: (b: Uint8Array, dtype: DType) => ((seen += b.byteLength), dtype) } as unknown as Ops<DType>;
    const rw = new RandomWeights(sink, 1);
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) expect(await rw.get(`mlp.${i}.weight`, [9728, 2560])).toBe('bf16');
    const ms = performance.now() - t0;
    expect(seen).toBe(4 * 2 * 9728 * 2560);
    console.log(`RandomWeights: ${((4 * 9728 * 2560) / ms / 1e3).toFixed(0)} M weights/s`);
    expect(ms).toBeLessThan(10_000); // ≈ 0.1 s here; 4B weights at that rate take ≈ 4 s
  });
});
