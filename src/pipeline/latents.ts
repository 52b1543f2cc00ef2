/**
 * Initial noise, token packing and 4-axis position ids (flux2-klein.md §3.6, §5). h = H/16, w = W/16
 * is the latent token grid; N = h·w target tokens; token n = i·w + j (row-major).
 */
import { Rng } from '../util/rng';
import { InvalidInput } from '../errors';

/** Channels per latent token: 32 VAE channels × 2×2 patch. */
export const LATENT_CHANNELS = 128;

function checkGrid(h: number, w: number, what: string): void {
  if (!(Number.isSafeInteger(h) && Number.isSafeInteger(w) && h > 0 && w > 0)) {
    throw new InvalidInput(`${what}: latent grid must be positive integers, got ${h}×${w}`);
  }
}

/**
 * Seeded N(0, 1) noise → [128, h, w] (the reference draws directly in the packed 128-channel space,
 * not BN-normalized). Uses the project Rng (xoshiro128** + Box–Muller): torch's CPU generator
 * cannot be reproduced, so parity tests inject the golden `noise` instead.
 */
export function drawNoise(seed: number, h: number, w: number): Float32Array {
  checkGrid(h, w, 'drawNoise');
  return new Rng(seed).normals(LATENT_CHANNELS * h * w);
}

/** noise [128, h, w] → tokens [h·w, 128] (channel-last transpose, diffusers `_pack_latents`). */
export function packLatents(noise: Float32Array, h: number, w: number): Float32Array {
  checkGrid(h, w, 'packLatents');
  const n = h * w;
  if (noise.length !== LATENT_CHANNELS * n) {
    throw new InvalidInput(`packLatents: noise has ${noise.length} values, expected 128·${h}·${w} = ${LATENT_CHANNELS * n}`);
  }
  const out = new Float32Array(n * LATENT_CHANNELS);
  for (let c = 0; c < LATENT_CHANNELS; c++) {
    for (let t = 0; t < n; t++) out[t * LATENT_CHANNELS + c] = noise[c * n + t] as number;
  }
  return out;
}

/**
 * Image-token ids [h·w, 4] = (t, i, j, 0), row-major over the grid. t = 0 for the target
 * (diffusers `_prepare_latent_ids`), 10·(k+1) for reference k (`_prepare_image_ids(scale=10)`).
 */
export function imageIds(h: number, w: number, t = 0): Int32Array {
  checkGrid(h, w, 'imageIds');
  const ids = new Int32Array(h * w * 4);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const o = (i * w + j) * 4;
      ids[o] = t;
      ids[o + 1] = i;
      ids[o + 2] = j;
    }
  }
  return ids;
}

/** Text-token ids [len, 4] = (0, 0, 0, l) for every position, pads included (diffusers `_prepare_text_ids`). */
export function textIds(len = 512): Int32Array {
  const ids = new Int32Array(len * 4);
  for (let l = 0; l < len; l++) ids[l * 4 + 3] = l;
  return ids;
}
