/**
 * The banded VAE at klein 4B's real shapes on the plan device (src/gpu/planDevice.ts: GpuContext's
 * exact buffer pool and dispatches, nothing computed): decode and encode fit WebGPU's default
 * buffer and binding limits up to 1 MP, the memory budgets, and the recomputation stays small.
 */
import { describe, expect, it } from 'vitest';
import { GpuContext, type DispatchRecord } from '../gpu/context';
import { createPlanDevice } from '../gpu/planDevice';
import { GpuOps } from '../ops/gpuOps';
import { PlanWeights } from '../weights/planWeights';
import { folderSource } from '../weights/folderSource';
import { readConfigs } from './config';
import { type VaeBandOptions, decode, loadDecoder } from './vae';
import { encodeLatent, loadEncoder } from './vaeEncoder';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

interface Measure {
  /** Peak of all device buffers above what existed before (weights, input): activations + free pool buffers. */
  peak: number;
  maxBuffer: number;
  maxBinding: number;
  flops: number;
}

/** Decodes (or encodes) a width×height image of zeros on a fresh plan device with klein 4B's VAE config. */
async function measure(what: 'decode' | 'encode', width: number, height: number, bands: VaeBandOptions = {}): Promise<Measure> {
  const cfg = (await readConfigs(folderSource('bench/configs/flux2-klein-4b'))).vae;
  const unlimited = 2 ** 52;
  const ctx = new GpuContext(createPlanDevice({ limits: { maxBufferSize: unlimited, maxStorageBufferBindingSize: unlimited }, features: ['shader-f16'] }));
  try {
    const ops = new GpuOps(ctx);
    const src = new PlanWeights(ops);
    const input =
      what === 'decode'
        ? ops.fromHost(new Float32Array((width / 16) * (height / 16) * 128), [(width / 16) * (height / 16), 128], 'tokens')
        : ops.fromHost(new Float32Array(3 * width * height), [3, height, width], 'pixels');
    const weights = what === 'decode' ? await loadDecoder(src, cfg) : await loadEncoder(src, cfg);
    let maxBinding = 0;
    let flops = 0;
    ctx.recorder = (d: DispatchRecord) => {
      maxBinding = Math.max(maxBinding, d.maxBindingBytes);
      flops += d.flops;
    };
    ctx.pool.maxBufferBytes = 0;
    ctx.pool.resetStagePeak();
    const before = ctx.pool.stagePeak.allocated;
    const out = what === 'decode' ? decode(ops, weights as never, cfg, input, height / 16, width / 16, bands) : encodeLatent(ops, weights as never, cfg, input, bands);
    expect(ops.shape(out)).toEqual(what === 'decode' ? [3, height, width] : [cfg.latent_channels, height / 8, width / 8]);
    return { peak: ctx.pool.stagePeak.allocated - before, maxBuffer: ctx.pool.maxBufferBytes, maxBinding, flops };
  } finally {
    ctx.destroy();
  }
}

const fmt = (m: Measure) =>
  `peak ${(m.peak / MiB).toFixed(0)} MiB, largest buffer ${(m.maxBuffer / MiB).toFixed(1)} MiB, binding ${(m.maxBinding / MiB).toFixed(1)} MiB, ${(m.flops / 1e9).toFixed(0)} GFLOP`;

describe('banded VAE at klein 4B shapes (plan device)', () => {
  // The decode stage must stay ≤ 4.5 GiB with 3.55 GiB of q4 weights (3.61 GiB once the encoder is
  // loaded): ≤ 0.885 GiB of activations; measured 868 MiB at 1024², 898 MiB at 1360×768.
  const STAGE_1MP = 0.885 * GiB;
  // ≤ 5.0 GiB at 2048²: ≤ 1.45 GiB; measured 1376 MiB (every full-resolution GroupNorm recomputed).
  const STAGE_4MP = 1.45 * GiB;

  it.each([
    [1024, 1024],
    [1360, 768],
    [768, 1360],
    [512, 512],
  ])('decode %i×%i: buffers ≤ 256 MiB, bindings ≤ 128 MiB, ≤ 0.885 GiB of activations', async (w, h) => {
    const m = await measure('decode', w, h);
    console.log(`[vae plan] decode ${w}×${h}: ${fmt(m)}`);
    expect(m.maxBuffer).toBeLessThanOrEqual(256 * MiB);
    expect(m.maxBinding).toBeLessThanOrEqual(128 * MiB);
    expect(m.peak).toBeLessThanOrEqual(STAGE_1MP);
  });

  it('decode 1024²: at most 1.5× the whole decode\'s FLOPs (measured 1.42×), a fifth of its memory', async () => {
    const banded = await measure('decode', 1024, 1024);
    const whole = await measure('decode', 1024, 1024, { banded: false });
    console.log(`[vae plan] decode 1024² whole: ${fmt(whole)}`);
    expect(banded.flops / whole.flops).toBeLessThanOrEqual(1.5);
    expect(whole.maxBuffer).toBe(1024 * MiB); // [256, 1024, 1024] f32: what the bands avoid
    expect(banded.peak).toBeLessThan(whole.peak / 5);
  });

  it('decode 2048²: buffers and bindings ≤ 128 MiB, ≤ 1.45 GiB of activations', async () => {
    const m = await measure('decode', 2048, 2048);
    console.log(`[vae plan] decode 2048²: ${fmt(m)}`);
    expect(m.maxBuffer).toBeLessThanOrEqual(128 * MiB);
    expect(m.maxBinding).toBeLessThanOrEqual(128 * MiB);
    expect(m.peak).toBeLessThanOrEqual(STAGE_4MP);
  });

  it('decode 2048×1152 (4 MP 16:9, clamped): ≤ 1.45 GiB of activations (measured 1413 MiB), ≤ 1.7× the FLOPs (1.63×)', async () => {
    const m = await measure('decode', 2048, 1152);
    const whole = await measure('decode', 2048, 1152, { banded: false });
    console.log(`[vae plan] decode 2048×1152: ${fmt(m)}; whole: ${fmt(whole)}`);
    expect(m.maxBinding).toBeLessThanOrEqual(128 * MiB);
    expect(m.peak).toBeLessThanOrEqual(STAGE_4MP);
    expect(m.flops / whole.flops).toBeLessThanOrEqual(1.7);
  });

  it.each([
    [1024, 1024],
    [1360, 768],
  ])('encode %i×%i: buffers ≤ 256 MiB, bindings ≤ 128 MiB, ≤ 0.885 GiB of activations, ≤ 1.3× the FLOPs', async (w, h) => {
    const m = await measure('encode', w, h);
    const whole = await measure('encode', w, h, { banded: false });
    console.log(`[vae plan] encode ${w}×${h}: ${fmt(m)}; whole: ${fmt(whole)}`);
    expect(m.maxBuffer).toBeLessThanOrEqual(256 * MiB);
    expect(m.maxBinding).toBeLessThanOrEqual(128 * MiB);
    expect(m.peak).toBeLessThanOrEqual(STAGE_1MP);
    expect(m.flops / whole.flops).toBeLessThanOrEqual(1.3);
  });
});
