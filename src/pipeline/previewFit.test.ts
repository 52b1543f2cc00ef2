/**
 * The preview fit (previewFit.ts): on synthetic decoders whose answer is known (a local linear one it
 * must recover, a nonlinear one it must not over-fit) and on the tiny golden VAE through the real
 * decode path (CPU backend: faster than Dawn on SwiftShader for this size).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { cpuTensor } from '../ops/cpu/tensor';
import { latentUnpack } from '../ops/cpu/latentUnpack';
import { CpuOps } from '../ops/cpuOps';
import { openComponent } from '../weights/safetensors';
import { WeightLoader } from '../weights/load';
import { goldenModelSource, goldenTensor, loadGoldenCase } from '../testing/golden';
import { goldenRows } from '../testing/goldenCompare';
import { readConfigs } from '../model/config';
import { loadDecoder } from '../model/vae';
import { type PreviewProjection, blockMeans, projectLatents, rSquared } from './preview';
import { type LatentDecoder, type LatentStats, fitLatents, fitPreview, fitProjection, previewFitGrid } from './previewFit';

const C = 32;
const K = 4 * C;
/** Decoder pixels per latent pixel a side (the FLUX.2 VAE upsamples ×8). */
const F = 8;

/**
 * Recovered coefficients (|A| ≈ 0.1) of an exactly linear decoder: the smallest ridge (1e-6 of the
 * mean diagonal of zᵀz) shrinks them along the low-variance directions of z (the BN means make z
 * nearly collinear with the bias column), plus the f32 decoder output; observed 4e-5.
 */
const COEF_ATOL = 1e-4;
/** Held-out R² on the linear decoder: exact up to the same rounding; observed 0.99999+. */
const LINEAR_R2_MIN = 0.9999;
/**
 * A decoder the map cannot model (block colour quadratic in z, linearly uncorrelated with it): the
 * cross-fit must shrink the map to about the mean colour instead of over-fitting. Observed: ridge 10,
 * held-out R² 0.02; the smallest ridge alone gives −2.1.
 */
const NONLINEAR_R2_MIN = -0.05;

function randomStats(rng: Rng): LatentStats {
  return { mean: rng.normals(K, 0.5), variance: rng.uniforms(K, 0.3, 2.5), eps: 1e-4 };
}

/**
 * Synthetic VAE: each latent pixel becomes an F×F block of `colour(z)` plus a ±0.1·z[0] checkerboard
 * that averages to zero over the block (so the block mean, not any pixel, is the target).
 */
function syntheticDecoder(stats: LatentStats, colour: (z: (c: number) => number, k: number) => number): LatentDecoder {
  return async (tokens, g) => {
    const S = 2 * g;
    const size = S * F;
    const z = latentUnpack(cpuTensor(tokens, [g * g, K]), cpuTensor(stats.mean, [K]), cpuTensor(stats.variance, [K]), g, g, stats.eps).data;
    const rgb = new Float32Array(3 * size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const q = Math.floor(y / F) * S + Math.floor(x / F);
        const zq = (c: number) => z[c * S * S + q] as number;
        for (let k = 0; k < 3; k++) rgb[(k * size + y) * size + x] = colour(zq, k) + ((x + y) % 2 === 0 ? 0.1 : -0.1) * zq(0);
      }
    }
    return rgb;
  };
}

/** R² of the fitted map on a latent it was not fitted on, against the decoder's block means. */
async function heldOutR2(decoder: LatentDecoder, proj: PreviewProjection, tokens: Float32Array, g: number): Promise<number> {
  const rgb = await decoder(tokens, g);
  return rSquared(projectLatents(proj, tokens, g, g), blockMeans(rgb, 2 * g * F, 2 * g * F, F));
}

describe('previewFitGrid', () => {
  it('is ⌊√(h·w)⌋ tokens a side, at most 8', () => {
    // 64² → 4×4 tokens → 4 (two 64² decodes); 64×128 → √32 = 5.7 → 5; 1024² → 64 → 8; 64×2048 → √512 → 8
    expect([previewFitGrid(4, 4), previewFitGrid(4, 8), previewFitGrid(64, 64), previewFitGrid(4, 128)]).toEqual([4, 5, 8, 8]);
  });
});

describe('fitProjection on synthetic decoders', () => {
  it('recovers a local linear map and predicts held-out latents with it', async () => {
    const rng = new Rng(3);
    const stats = randomStats(rng);
    const A = Float64Array.from(rng.normals(3 * (C + 1), 0.1));
    const linear = (z: (c: number) => number, k: number) => {
      let v = A[k * (C + 1) + C] as number;
      for (let c = 0; c < C; c++) v += (A[k * (C + 1) + c] as number) * z(c);
      return v;
    };
    const decoder = syntheticDecoder(stats, linear);
    const proj = await fitProjection(decoder, C, stats, { grid: 4 });
    let worst = 0;
    for (let i = 0; i < A.length; i++) worst = Math.max(worst, Math.abs((proj.coef[i] as number) - (A[i] as number)));
    console.log(`linear decoder: worst coefficient error ${worst.toExponential(1)}, ridge ${proj.fit?.ridge}`);
    expect(worst).toBeLessThan(COEF_ATOL);
    expect(proj.fit?.ridge).toBe(1e-6);
    for (const [what, tokens] of [['smooth', fitLatents(new Rng(99), C, 4, 2)], ['i.i.d.', new Rng(98).normals(16 * K)]] as const) {
      const r2 = await heldOutR2(decoder, proj, tokens, 4);
      console.log(`linear decoder, held-out ${what} latent: R² ${r2.toFixed(6)} (mean colour: 0)`);
      expect(r2).toBeGreaterThan(LINEAR_R2_MIN);
    }
  });

  it('shrinks towards the mean colour when the block colour is not linear in z', async () => {
    const rng = new Rng(4);
    // BN stats shared by the 4 sub-pixels of a channel, so x below is the normalised value at every pixel
    const m = rng.normals(C, 0.5);
    const v = rng.uniforms(C, 0.3, 2.5);
    const stats: LatentStats = { mean: Float32Array.from({ length: K }, (_, k) => m[k >> 2] as number), variance: Float32Array.from({ length: K }, (_, k) => v[k >> 2] as number), eps: 1e-4 };
    const w = rng.normals(3 * C, 0.3);
    // colour_k = Σ_c w[k, c]·(x_c² − 1) on the normalised value x: E[x·(x² − 1)] = 0 for Gaussian x
    const quadratic = (z: (c: number) => number, k: number) => {
      let v = 0;
      for (let c = 0; c < C; c++) {
        const x = (z(c) - (stats.mean[4 * c] as number)) / Math.sqrt((stats.variance[4 * c] as number) + stats.eps);
        v += (w[k * C + c] as number) * (x * x - 1);
      }
      return v;
    };
    const decoder = syntheticDecoder(stats, quadratic);
    const proj = await fitProjection(decoder, C, stats, { grid: 4 });
    expect(proj.fit?.ridge).toBeGreaterThanOrEqual(1);
    const r2 = await heldOutR2(decoder, proj, fitLatents(new Rng(97), C, 4, 4), 4);
    console.log(`quadratic decoder: ridge ${proj.fit?.ridge}, cross R² ${proj.fit?.crossR2.toFixed(3)}, held-out R² ${r2.toFixed(3)}`);
    expect(r2).toBeGreaterThan(NONLINEAR_R2_MIN);
  });
});

/**
 * The golden VAE has random weights: a latent pixel's block depends more on its neighbourhood and on
 * image-wide GroupNorm statistics than on its own channels (perturbing one latent pixel puts 15 % of
 * the change into its own block), so no per-pixel linear map predicts it; measured held-out R² ≤ 0
 * for every fit size and ridge tried, even fitted on pipeline outputs. What is checked here is that
 * the production fit runs through the real decoder and, choosing a large ridge, stays about as good
 * as a constant colour on the golden t2i-64 and edit-1ref final latents (reference decodes, not used
 * for the fit). Observed with the defaults: ridge 10, cross R² −0.01, held-out R² −0.12 (t2i-64) and
 * −0.02 (edit-1ref): about the score of a constant colour that misses each image's own mean a little.
 * The smallest ridge alone (cross R² −1.4) scores −2.8 on the t2i-64 latent and fails this bound.
 */
const GOLDEN_R2_MIN = -0.5;

describe('fitPreview on the golden VAE (CPU)', () => {
  it('fits through the real decoder and does not over-fit it', async () => {
    const ops = new CpuOps();
    const src = goldenModelSource();
    const cfg = (await readConfigs(src)).vae;
    const w = await loadDecoder(new WeightLoader(ops, await openComponent(src, 'vae')), cfg);
    const t0 = performance.now();
    const proj = await fitPreview(ops, w, cfg);
    const fitMs = performance.now() - t0;
    expect(proj.coef.every(Number.isFinite)).toBe(true);
    for (const name of ['t2i-64', 'edit-1ref'] as const) {
      const c = await loadGoldenCase(name);
      const n = c.meta.image_seq_len;
      const [h, wd] = [c.meta.height / 16, c.meta.width / 16];
      const last = goldenRows(goldenTensor(c.tensors, 'step_latents'), (c.meta.num_inference_steps - 1) * n, n);
      const want = blockMeans(goldenTensor(c.tensors, 'decoded').data as Float32Array, 16 * h, 16 * wd, F);
      const r2 = rSquared(projectLatents(proj, last, h, wd), want);
      console.log(`golden VAE: fit ${fitMs.toFixed(0)} ms, ridge ${proj.fit?.ridge}, cross R² ${proj.fit?.crossR2.toFixed(3)}; ${name} final latent R² ${r2.toFixed(3)}`);
      expect(r2).toBeGreaterThan(GOLDEN_R2_MIN);
    }
  });
});
