import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * VAE latent → packed tokens (inverse of latentUnpack): P[4c + 2pi + pj, i, j] = z[c, 2i + pi, 2j + pj],
 * tokens[i·w + j, k] = (P[k, i, j] − mean[k]) / √(var[k] + eps) (diffusers _patchify_latents, BN
 * normalise, _pack_latents). z: [K/4, 2h, 2w], mean/variance: [K] → [h·w, K] (K = 128 in klein).
 */
export function latentPack(z: CpuTensor, mean: CpuTensor, variance: CpuTensor, eps: number): CpuTensor {
  const k = mean.data.length;
  assert(z.shape.length === 3, () => `latentPack: z must be [C, 2h, 2w], got ${fmtShape(z.shape)}`);
  const [c, zh, zw] = z.shape as [number, number, number];
  assert(c * 4 === k && variance.data.length === k && zh % 2 === 0 && zw % 2 === 0, () => `latentPack: z ${fmtShape(z.shape)} vs mean/variance [${k}]`);
  const h = zh / 2;
  const w = zw / 2;
  const tokens = new Float32Array(h * w * k);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let ch = 0; ch < k; ch++) {
        const v = z.data[((ch >> 2) * zh + 2 * i + ((ch >> 1) & 1)) * zw + 2 * j + (ch & 1)] as number;
        tokens[(i * w + j) * k + ch] = (v - (mean.data[ch] as number)) / Math.sqrt((variance.data[ch] as number) + eps);
      }
    }
  }
  return cpuTensor(tokens, [h * w, k]);
}
