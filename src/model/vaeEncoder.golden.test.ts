/**
 * VAE encoder against the reference (diffusers, float32) on the golden edit-1ref case, both
 * backends: golden ref0_pixels → ref0_latent (mean after quant_conv) → ref_tokens.
 */
import { describe, expect, it } from 'vitest';
import { loadGoldenCase, goldenModelSource, goldenTensor } from '../testing/golden';
import { expectGolden } from '../testing/goldenCompare';
import { testGpu } from '../testing/gpu';
import { GpuOps } from '../ops/gpuOps';
import { CpuOps } from '../ops/cpuOps';
import type { Ops } from '../ops/ops';
import { openComponent } from '../weights/safetensors';
import { WeightLoader } from '../weights/load';
import { readConfigs } from './config';
import { encodeLatent, encodeReference, loadEncoder } from './vaeEncoder';

const backends: [string, () => Promise<Ops<unknown>>][] = [
  ['cpu', async () => new CpuOps() as Ops<unknown>],
  ['gpu', async () => new GpuOps(await testGpu()) as Ops<unknown>],
];

describe.each(backends)('golden edit-1ref VAE encoder on %s', (backend, makeOps) => {
  it('ref0_pixels → ref0_latent → ref_tokens', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('edit-1ref');
    const src = goldenModelSource();
    const cfg = (await readConfigs(src)).vae;
    const w = await loadEncoder(new WeightLoader(ops, await openComponent(src, 'vae')), cfg);
    const px = goldenTensor(c.tensors, 'ref0_pixels');
    const pixels = () => ops.fromHost(px.data as Float32Array, px.shape.slice(1), 'ref0_pixels');
    const z = encodeLatent(ops, w, cfg, pixels());
    expect(ops.shape(z)).toEqual(goldenTensor(c.tensors, 'ref0_latent').shape.slice(1));
    expectGolden(c, await ops.read(z), 'ref0_latent', `${backend} ref0_latent`);
    const tokens = encodeReference(ops, w, cfg, pixels());
    expect(ops.shape(tokens)).toEqual([c.meta.ref_seq_len, 4 * cfg.latent_channels]);
    expectGolden(c, await ops.read(tokens), 'ref_tokens', `${backend} ref_tokens`);
  });
});
