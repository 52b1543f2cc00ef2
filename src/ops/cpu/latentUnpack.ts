import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * Packed latent tokens → VAE latent: P[k, i, j] = tokens[i·w + j, k]·√(var[k] + eps) + mean[k], then
 * z[c, 2i + pi, 2j + pj] = P[4c + 2pi + pj, i, j] (diffusers _unpack_latents_with_ids, BN denorm,
 * _unpatchify_latents). tokens: [h·w, K], mean/variance: [K] → [K/4, 2h, 2w] (K = 128 in klein).
 */
export function latentUnpack(tokens: CpuTensor, mean: CpuTensor, variance: CpuTensor, h: number, w: number, eps: number): CpuTensor {
  const k = mean.data.length;
  assert(k % 4 === 0 && variance.data.length === k, () => `latentUnpack: mean ${fmtShape(mean.shape)}, variance ${fmtShape(variance.shape)}`);
  assert(tokens.data.length === h * w * k, () => `latentUnpack: tokens ${fmtShape(tokens.shape)} ≠ [${h}·${w}, ${k}]`);
  const z = new Float32Array(k * h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let ch = 0; ch < k; ch++) {
        const v = (tokens.data[(i * w + j) * k + ch] as number) * Math.sqrt((variance.data[ch] as number) + eps) + (mean.data[ch] as number);
        const c = ch >> 2;
        const y = 2 * i + ((ch >> 1) & 1);
        const x = 2 * j + (ch & 1);
        z[(c * 2 * h + y) * 2 * w + x] = v;
      }
    }
  }
  return cpuTensor(z, [k / 4, 2 * h, 2 * w]);
}
