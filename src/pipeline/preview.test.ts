/**
 * Live-preview projection: the pixel layout against the documented latent layout (flux2-klein.md
 * §5.1, hand-computed values), the BN folding against the CPU latentUnpack op, and the block-mean and
 * R² helpers on hand-checkable inputs.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { cpuTensor } from '../ops/cpu/tensor';
import { latentUnpack } from '../ops/cpu/latentUnpack';
import { blockMeans, makeProjection, previewRgba, projectLatents, rSquared } from './preview';

/** Folded f32 coefficients against z computed in f64: rounding of 4C-term f32 dot products of O(1) values. */
const FOLD_ATOL = 1e-5;

describe('previewRgba', () => {
  // C = 2 latent channels → 8 packed; h = 2, w = 3 tokens → a 6×4 preview. Identity BN (mean 0,
  // var 1, eps 0), so z = x. Token n, packed channel k holds (10n + k)/100 − 0.3.
  const C = 2;
  const h = 2;
  const w = 3;
  const tokens = new Float32Array(h * w * 4 * C);
  for (let n = 0; n < h * w; n++) for (let k = 0; k < 4 * C; k++) tokens[n * 4 * C + k] = (10 * n + k) / 100 - 0.3;
  // R = z[0], G = z[1], B = 0.5 (bias only)
  const coef = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0.5]);
  const proj = makeProjection(coef, C, new Float32Array(4 * C), new Float32Array(4 * C).fill(1), 0);
  const { width, height, rgba } = previewRgba(proj, tokens, h, w);
  const px = (y: number, x: number) => [...rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)];

  it('is one pixel per latent pixel: (W/16)·2 × (H/16)·2', () => {
    expect([width, height]).toEqual([6, 4]);
  });

  it('puts packed channel 4c + 2·pi + pj of token i·w + j at pixel (2i + pi, 2j + pj)', () => {
    // (y, x) = (0, 0): token 0, pi = pj = 0 → R: k = 0 → −0.3 → 0.7·127.5 = 89.25; G: k = 4 → −0.26 → 94.35
    expect(px(0, 0)).toEqual([89, 94, 191, 255]); // B: 1.5·127.5 = 191.25
    // (1, 2): i = 0, pi = 1, j = 1, pj = 0 → token 1; R: k = 2 → −0.18 → 104.55; G: k = 6 → −0.14 → 109.65
    expect(px(1, 2)).toEqual([105, 110, 191, 255]);
    // (2, 1): i = 1, pi = 0, j = 0, pj = 1 → token 3; R: k = 1 → 0.01 → 128.775; G: k = 5 → 0.05 → 133.875
    expect(px(2, 1)).toEqual([129, 134, 191, 255]);
    // (3, 5): i = 1, pi = 1, j = 2, pj = 1 → token 5; R: k = 3 → 0.23 → 156.825; G: k = 7 → 0.27 → 161.925
    expect(px(3, 5)).toEqual([157, 162, 191, 255]);
  });

  it('matches the layout formula at every pixel and clamps to [0, 255]', () => {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const n = (y >> 1) * w + (x >> 1);
        const sub = 2 * (y & 1) + (x & 1);
        const r = (10 * n + sub) / 100 - 0.3;
        const g = (10 * n + 4 + sub) / 100 - 0.3;
        expect(px(y, x), `pixel (${y}, ${x})`).toEqual([Math.round((r + 1) * 127.5), Math.round((g + 1) * 127.5), 191, 255]);
      }
    }
    const loud = previewRgba(proj, tokens.map((v) => 10 * v), h, w).rgba; // token 0, k = 0 → −3; token 5, k = 7 → 2.7
    expect([loud[0], loud[(3 * width + 5) * 4 + 1]]).toEqual([0, 255]);
  });
});

describe('projectLatents', () => {
  it('equals de-normalise + unpatchify (latentUnpack) followed by A·z + b', () => {
    const C = 32;
    const K = 4 * C;
    const [h, w] = [3, 2];
    const rng = new Rng(11);
    const mean = rng.normals(K, 0.5);
    const variance = rng.uniforms(K, 0.3, 2.5);
    const eps = 1e-4;
    const coef = Float64Array.from(rng.normals(3 * (C + 1), 0.2));
    const tokens = rng.normals(h * w * K);
    const got = projectLatents(makeProjection(coef, C, mean, variance, eps), tokens, h, w);
    const z = latentUnpack(cpuTensor(tokens, [h * w, K]), cpuTensor(mean, [K]), cpuTensor(variance, [K]), h, w, eps).data; // [C, 2h, 2w]
    const P = 4 * h * w;
    let worst = 0;
    for (let k = 0; k < 3; k++) {
      for (let q = 0; q < P; q++) {
        let want = coef[k * (C + 1) + C] as number;
        for (let c = 0; c < C; c++) want += (coef[k * (C + 1) + c] as number) * (z[c * P + q] as number);
        worst = Math.max(worst, Math.abs((got[k * P + q] as number) - want));
      }
    }
    expect(worst).toBeLessThan(FOLD_ATOL);
  });
});

describe('blockMeans and rSquared', () => {
  it('averages f×f blocks per colour plane', () => {
    // [3, 2, 4] → 2×2 blocks → [3, 1, 2]: plane k holds k·100 + y·4 + x
    const rgb = Float32Array.from({ length: 24 }, (_, i) => Math.floor(i / 8) * 100 + (i % 8));
    // block (0, 0): values 0, 1, 4, 5 → 2.5; block (0, 1): 2, 3, 6, 7 → 4.5
    expect([...blockMeans(rgb, 2, 4, 2)]).toEqual([2.5, 4.5, 102.5, 104.5, 202.5, 204.5]);
  });

  it('is 1 for a perfect prediction and 0 for each plane’s mean', () => {
    const want = Float32Array.from([1, 3, 0, 4, 5, 7]); // plane means 2, 2, 6
    expect(rSquared(want, want)).toBe(1);
    expect(rSquared(Float32Array.from([2, 2, 2, 2, 6, 6]), want)).toBeCloseTo(0, 12);
    // SSE 1 + 1 + 0 + 0 + 0 + 0 = 2 against SST 1 + 1 + 4 + 4 + 1 + 1 = 12
    expect(rSquared(Float32Array.from([2, 2, 0, 4, 5, 7]), want)).toBeCloseTo(1 - 2 / 12, 12);
  });
});
