/**
 * VAE encoder against the reference (diffusers, float32) on the golden edit-1ref case, both
 * backends: golden ref0_pixels → ref0_latent (mean after quant_conv) → ref_tokens.
 */
import { describe, expect, it } from 'vitest';
import { goldenTensor, loadGoldenCase } from '../testing/golden';
import { expectGolden } from '../testing/goldenCompare';
import { GOLDEN_BACKENDS, loadGoldenComponent } from '../testing/goldenStages';
import { encodeLatent, encodeReference, loadEncoder } from './vaeEncoder';

describe.each(GOLDEN_BACKENDS)('golden edit-1ref VAE encoder on %s', (backend, makeOps) => {
  it('ref0_pixels → ref0_latent → ref_tokens', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('edit-1ref');
    const { cfg: all, w } = await loadGoldenComponent(ops, 'vae', (l, cfg) => loadEncoder(l, cfg.vae));
    const cfg = all.vae;
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
