/**
 * Live previews of the denoising latent (issue #5): a linear map from each VAE latent pixel's C
 * channels (32 in klein) to RGB, fitted by least squares on the loaded VAE decoder itself, so it
 * holds for any checkpoint (the tiny random golden VAE included) and needs no stored factors.
 *
 * Layout (flux2-klein.md §5.1): token n = i·w + j carries packed channel k = 4c + 2·pi + pj of latent
 * pixel (2i + pi, 2j + pj), BN-normalised: z = x·√(var + eps) + mean. The decoder turns each latent
 * pixel into an f×f pixel block (f = 8); the map predicts that block's mean colour, so a preview
 * has one pixel per latent pixel: (W/16)·2 × (H/16)·2 = W/8 × H/8. The BN de-normalisation is
 * folded into per-sub-pixel coefficients, so a frame costs 3·C multiply-adds per preview pixel.
 * The fit is in previewFit.ts.
 */
import { assert } from '../util/assert';

/** A fitted latent-pixel → RGB map, in decoder units (≈[−1, 1]). */
export interface PreviewProjection {
  /** Latent channels C; tokens have 4C packed channels. */
  channels: number;
  /** rgb = A·z + b: [3, C + 1] row-major, A in the first C columns, b in the last (z de-normalised). */
  coef: Float64Array;
  /** The same map on BN-normalised packed tokens, per 2×2 sub-pixel p = 2·pi + pj: [4, 3, C + 1]. */
  folded: Float32Array;
  /** Quality and ridge of the fit (previewFit.ts); absent for a map made from given coefficients. */
  fit?: PreviewFitReport;
}

export interface PreviewFitReport {
  /** Held-out R² (rSquared) of the chosen ridge, each fit decode predicted by a map fitted on the others. */
  crossR2: number;
  /** The chosen ridge λ, relative to the mean diagonal of zᵀz. */
  ridge: number;
}

/** Folds the BN de-normalisation into `coef`. mean/variance: [4C] packed BN stats. */
export function makeProjection(coef: Float64Array, channels: number, mean: Float32Array, variance: Float32Array, eps: number): PreviewProjection {
  const c1 = channels + 1;
  assert(coef.length === 3 * c1 && mean.length === 4 * channels && variance.length === 4 * channels, () => `preview: coef ${coef.length}, BN ${mean.length}/${variance.length} for C = ${channels}`);
  const folded = new Float32Array(4 * 3 * c1);
  for (let p = 0; p < 4; p++) {
    for (let k = 0; k < 3; k++) {
      let bias = coef[k * c1 + channels] as number;
      for (let c = 0; c < channels; c++) {
        const a = coef[k * c1 + c] as number;
        const ch = 4 * c + p;
        folded[(p * 3 + k) * c1 + c] = a * Math.sqrt((variance[ch] as number) + eps);
        bias += a * (mean[ch] as number);
      }
      folded[(p * 3 + k) * c1 + channels] = bias;
    }
  }
  return { channels, coef, folded };
}

/** Projects BN-normalised tokens [h·w, 4C] → rgb [3, 2h, 2w] (decoder units). */
export function projectLatents(proj: PreviewProjection, tokens: Float32Array, h: number, w: number): Float32Array {
  const C = proj.channels;
  const K = 4 * C;
  const c1 = C + 1;
  assert(tokens.length === h * w * K, () => `preview: tokens have ${tokens.length} values, expected ${h}·${w}·${K}`);
  const H = 2 * h;
  const W = 2 * w;
  const out = new Float32Array(3 * H * W);
  const f = proj.folded;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const base = (i * w + j) * K;
      for (let p = 0; p < 4; p++) {
        const pix = (2 * i + (p >> 1)) * W + 2 * j + (p & 1);
        for (let k = 0; k < 3; k++) {
          const row = (p * 3 + k) * c1;
          let acc = f[row + C] as number;
          for (let c = 0; c < C; c++) acc += (f[row + c] as number) * (tokens[base + 4 * c + p] as number);
          out[k * H * W + pix] = acc;
        }
      }
    }
  }
  return out;
}

/** One preview frame: tokens [h·w, 4C] → RGBA8 at 2w × 2h, clamp((rgb + 1)/2)·255 as the final image. */
export function previewRgba(proj: PreviewProjection, tokens: Float32Array, h: number, w: number): { width: number; height: number; rgba: Uint8ClampedArray } {
  const rgb = projectLatents(proj, tokens, h, w);
  const n = 4 * h * w;
  const rgba = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p++) {
    // Uint8ClampedArray clamps to [0, 255] and rounds half to even, like toRgba8
    for (let k = 0; k < 3; k++) rgba[4 * p + k] = ((rgb[k * n + p] as number) + 1) * 127.5;
    rgba[4 * p + 3] = 255;
  }
  return { width: 2 * w, height: 2 * h, rgba };
}

/** Mean of each f×f block: rgb [3, H, W] → [3, H/f, W/f]. */
export function blockMeans(rgb: Float32Array, height: number, width: number, f: number): Float32Array {
  assert(rgb.length === 3 * height * width && height % f === 0 && width % f === 0, () => `blockMeans: ${rgb.length} values as [3, ${height}, ${width}] in ${f}×${f} blocks`);
  const bh = height / f;
  const bw = width / f;
  const out = new Float32Array(3 * bh * bw);
  for (let k = 0; k < 3; k++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (k * bh + Math.floor(y / f)) * bw + Math.floor(x / f);
        out[o] = (out[o] as number) + (rgb[(k * height + y) * width + x] as number) / (f * f);
      }
    }
  }
  return out;
}

/** 1 − Σ(y − ŷ)² / Σ(y − ȳ_k)² over [3, P] colour planes (ȳ_k: the mean of plane k of `want`). */
export function rSquared(got: Float32Array, want: Float32Array): number {
  assert(got.length === want.length && want.length % 3 === 0, () => `rSquared: ${got.length} vs ${want.length}`);
  const n = want.length / 3;
  let sse = 0;
  let sst = 0;
  for (let k = 0; k < 3; k++) {
    let mean = 0;
    for (let p = 0; p < n; p++) mean += (want[k * n + p] as number) / n;
    for (let p = 0; p < n; p++) {
      const y = want[k * n + p] as number;
      sse += (y - (got[k * n + p] as number)) ** 2;
      sst += (y - mean) ** 2;
    }
  }
  return 1 - sse / sst;
}
