/**
 * Fits the live-preview map (preview.ts) on a VAE decoder: decode a few smooth random latents,
 * regress each latent pixel's f×f block mean (f = 8) on its de-normalised channels z [C] plus a
 * bias, by ridge least squares in float64 (normal equations, Cholesky). The ridge λ is chosen by
 * cross-fitting between the decodes (each predicted by a map fitted on the others), so a decoder
 * the map cannot model (e.g. the random golden VAE, whose pixels depend mostly on their
 * neighbourhood) gets a map shrunk towards its mean colour instead of an over-fitted one.
 */
import { assert } from '../util/assert';
import { Rng } from '../util/rng';
import type { Ops } from '../ops/ops';
import { cpuTensor } from '../ops/cpu/tensor';
import { latentUnpack } from '../ops/cpu/latentUnpack';
import type { Flux2VaeConfig } from '../model/config';
import { type DecoderWeights, decode } from '../model/vae';
import { type PreviewProjection, blockMeans, makeProjection } from './preview';

/** Decodes BN-normalised tokens [g², 4C] → rgb [3, f·2g, f·2g] on the host (the VAE decoder; tests pass synthetic ones). */
export type LatentDecoder = (tokens: Float32Array, g: number) => Promise<Float32Array>;

/** The VAE's packed BatchNorm statistics, [4C] each. */
export interface LatentStats {
  mean: Float32Array;
  variance: Float32Array;
  eps: number;
}

/** How the map is fitted: `latents` (≥ 2) decodes of `grid`×`grid` tokens each (16·grid px a side). */
export interface PreviewFitOptions {
  latents?: number;
  grid?: number;
  seed?: number;
  /** Spatial correlation length of the fit latents in latent pixels (1: white noise). */
  cell?: number;
}

export const PREVIEW_FIT_DEFAULTS: Required<PreviewFitOptions> = { latents: 2, grid: 8, seed: 0x5eed, cell: 4 };

/**
 * The fit grid for a request of h×w tokens: ⌊√(h·w)⌋, at most the default 8 (klein: two decodes at
 * 128² px, ≈ 0.3 TFLOP), so a fit never decodes more than twice the request's own pixels (the
 * 64² golden case on SwiftShader: two 64² decodes instead of two at 128²).
 */
export function previewFitGrid(h: number, w: number): number {
  return Math.max(1, Math.min(PREVIEW_FIT_DEFAULTS.grid, Math.floor(Math.sqrt(h * w))));
}

/**
 * Ridge candidates, relative to the mean diagonal of zᵀz (so independent of the latents' scale):
 * 1e-6 only keeps the system solvable for a decoder the map fits; 10 leaves little but the mean colour.
 */
const RIDGES = [1e-6, 1e-4, 1e-2, 0.1, 1, 10];

/**
 * BN-normalised fit latents [g², 4C]: per channel a white-noise grid every `cell` latent pixels,
 * bilinearly interpolated and scaled to unit variance (smooth like natural latents; cell 1 = i.i.d.).
 */
export function fitLatents(rng: Rng, channels: number, g: number, cell: number): Float32Array {
  const S = 2 * g; // latent pixels a side
  const n = Math.floor(S / cell) + 2;
  const K = 4 * channels;
  const tokens = new Float32Array(g * g * K);
  const field = new Float64Array(S * S);
  for (let c = 0; c < channels; c++) {
    const grid = rng.normals(n * n);
    const at = (yy: number, xx: number) => grid[yy * n + xx] as number;
    let sq = 0;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const y0 = Math.floor(y / cell);
        const x0 = Math.floor(x / cell);
        const ty = y / cell - y0;
        const tx = x / cell - x0;
        const v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1)) + ty * ((1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1));
        field[y * S + x] = v;
        sq += v * v;
      }
    }
    const scale = 1 / Math.sqrt(sq / (S * S));
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) tokens[((y >> 1) * g + (x >> 1)) * K + 4 * c + 2 * (y & 1) + (x & 1)] = (field[y * S + x] as number) * scale;
    }
  }
  return tokens;
}

/** One fit decode: features z [C, P] (the CPU latentUnpack, the spec of the layout) and block means y [3, P]. */
interface Sample {
  z: Float32Array;
  y: Float32Array;
  pixels: number;
}

/** Sums of the normal equations XᵀX [p, p] (lower triangle) and XᵀY [p, 3], x = [z; 1], p = C + 1. */
class NormalEquations {
  readonly xtx: Float64Array;
  readonly xty: Float64Array;
  constructor(readonly p: number) {
    this.xtx = new Float64Array(p * p);
    this.xty = new Float64Array(p * 3);
  }

  add({ z, y, pixels }: Sample): void {
    const { p, xtx, xty } = this;
    const row = new Float64Array(p);
    row[p - 1] = 1;
    for (let q = 0; q < pixels; q++) {
      for (let c = 0; c < p - 1; c++) row[c] = z[c * pixels + q] as number;
      for (let a = 0; a < p; a++) {
        const ra = row[a] as number;
        for (let b = 0; b <= a; b++) xtx[a * p + b] = (xtx[a * p + b] as number) + ra * (row[b] as number);
        for (let k = 0; k < 3; k++) xty[a * 3 + k] = (xty[a * 3 + k] as number) + ra * (y[k * pixels + q] as number);
      }
    }
  }

  /** coef [3, p] solving (XᵀX + λ·mean(diag)·I_A)·coef = XᵀY; the bias is not penalised. */
  solve(ridge: number): Float64Array {
    const { p, xtx, xty } = this;
    const m = new Float64Array(p * p);
    let trace = 0;
    for (let a = 0; a < p - 1; a++) trace += xtx[a * p + a] as number;
    const lambda = (ridge * trace) / (p - 1);
    for (let a = 0; a < p; a++) {
      for (let b = 0; b <= a; b++) m[a * p + b] = xtx[a * p + b] as number;
      if (a < p - 1) m[a * p + a] = (m[a * p + a] as number) + lambda;
    }
    // Cholesky m = L·Lᵀ in place (lower triangle), then L·t = XᵀY and Lᵀ·coef = t per colour
    for (let a = 0; a < p; a++) {
      for (let b = 0; b <= a; b++) {
        let s = m[a * p + b] as number;
        for (let k = 0; k < b; k++) s -= (m[a * p + k] as number) * (m[b * p + k] as number);
        if (a === b) {
          assert(s > 0, () => `preview fit: normal equations not positive definite at row ${a} (${s})`);
          m[a * p + a] = Math.sqrt(s);
        } else m[a * p + b] = s / (m[b * p + b] as number);
      }
    }
    const coef = new Float64Array(3 * p);
    const t = new Float64Array(p);
    for (let k = 0; k < 3; k++) {
      for (let a = 0; a < p; a++) {
        let s = xty[a * 3 + k] as number;
        for (let b = 0; b < a; b++) s -= (m[a * p + b] as number) * (t[b] as number);
        t[a] = s / (m[a * p + a] as number);
      }
      for (let a = p - 1; a >= 0; a--) {
        let s = t[a] as number;
        for (let b = a + 1; b < p; b++) s -= (m[b * p + a] as number) * (coef[k * p + b] as number);
        coef[k * p + a] = s / (m[a * p + a] as number);
      }
    }
    return coef;
  }
}

/** Σ squared error of coef on a sample, and Σ squared deviation from the sample's own mean colour. */
function scores(coef: Float64Array, { z, y, pixels }: Sample): { sse: number; sst: number } {
  const c1 = coef.length / 3;
  let sse = 0;
  let sst = 0;
  for (let k = 0; k < 3; k++) {
    let mean = 0;
    for (let q = 0; q < pixels; q++) mean += (y[k * pixels + q] as number) / pixels;
    for (let q = 0; q < pixels; q++) {
      let pred = coef[k * c1 + c1 - 1] as number;
      for (let c = 0; c < c1 - 1; c++) pred += (coef[k * c1 + c] as number) * (z[c * pixels + q] as number);
      const want = y[k * pixels + q] as number;
      sse += (want - pred) ** 2;
      sst += (want - mean) ** 2;
    }
  }
  return { sse, sst };
}

/** Fits the preview map on `decoder` (see the file comment); `stats` de-normalise the tokens. */
export async function fitProjection(decoder: LatentDecoder, channels: number, stats: LatentStats, opts: PreviewFitOptions = {}): Promise<PreviewProjection> {
  const { latents, grid: g, seed, cell } = { ...PREVIEW_FIT_DEFAULTS, ...opts };
  assert(latents >= 2, () => `preview fit: cross-fitting needs ≥ 2 latents, got ${latents}`);
  const { mean, variance, eps } = stats;
  const K = 4 * channels;
  const rng = new Rng(seed);
  const samples: Sample[] = [];
  for (let l = 0; l < latents; l++) {
    const tokens = fitLatents(rng, channels, g, cell);
    const rgb = await decoder(tokens, g);
    const size = Math.round(Math.sqrt(rgb.length / 3));
    assert(3 * size * size === rgb.length && size % (2 * g) === 0, () => `preview fit: decoder returned ${rgb.length} values for ${g}×${g} tokens`);
    const z = latentUnpack(cpuTensor(tokens, [g * g, K]), cpuTensor(mean, [K]), cpuTensor(variance, [K]), g, g, eps).data;
    samples.push({ z, y: blockMeans(rgb, size, size, size / (2 * g)), pixels: 4 * g * g });
  }
  const sums = samples.map((s) => {
    const ne = new NormalEquations(channels + 1);
    ne.add(s);
    return ne;
  });
  const without = (skip: number) => {
    const ne = new NormalEquations(channels + 1);
    sums.forEach((s, l) => {
      if (l === skip) return;
      for (let i = 0; i < s.xtx.length; i++) ne.xtx[i] = (ne.xtx[i] as number) + (s.xtx[i] as number);
      for (let i = 0; i < s.xty.length; i++) ne.xty[i] = (ne.xty[i] as number) + (s.xty[i] as number);
    });
    return ne;
  };
  let best = { ridge: RIDGES[0] as number, crossR2: -Infinity };
  for (const ridge of RIDGES) {
    let sse = 0;
    let sst = 0;
    samples.forEach((s, l) => {
      const r = scores(without(l).solve(ridge), s);
      sse += r.sse;
      sst += r.sst;
    });
    if (1 - sse / sst > best.crossR2) best = { ridge, crossR2: 1 - sse / sst };
  }
  return { ...makeProjection(without(-1).solve(best.ridge), channels, mean, variance, eps), fit: best };
}

/**
 * fitProjection on the loaded VAE decoder `w` (through `ops`: the GPU in the app). Cost with the
 * defaults: two decodes at 128² px (klein ≈ 2 × 0.16 TFLOP, ≈ 0.2 % of a 1024² image, whose decode
 * alone is 10.5 TFLOP) plus a few (C+1)² solves on the CPU (milliseconds).
 */
export async function fitPreview<T>(ops: Ops<T>, w: DecoderWeights<T>, cfg: Flux2VaeConfig, opts: PreviewFitOptions = {}): Promise<PreviewProjection> {
  const stats = { mean: await ops.read(w.bn.running_mean), variance: await ops.read(w.bn.running_var), eps: cfg.batch_norm_eps };
  const decoder: LatentDecoder = async (tokens, g) => {
    const rgb = ops.tidy(() => decode(ops, w, cfg, ops.fromHost(tokens, [g * g, tokens.length / (g * g)], 'preview.fit_latents'), g, g));
    try {
      return await ops.read(rgb);
    } finally {
      ops.release(rgb);
    }
  };
  return fitProjection(decoder, cfg.latent_channels, stats, opts);
}
