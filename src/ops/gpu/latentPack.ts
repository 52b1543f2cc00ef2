import code from '../../../shaders/latent_pack.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import { dtypeCode } from './dtypeCode';

const SHADER = { file: 'latent_pack.wgsl', code };

/**
 * VAE latent → packed tokens, the inverse of latentUnpack: patchify 2×2, BN-normalise
 * (x − mean)/√(var + eps) per packed channel, pack row-major (diffusers Flux2KleinPipeline
 * _patchify_latents + BN normalise + _pack_latents, used for reference images).
 * z: [K/4, 2h, 2w] f32, mean/variance: [K] in f32/f16/bf16 (K = 128 in klein) → tokens [h·w, K] f32.
 * Errors (assert): z not [K/4, 2h, 2w] for K = mean length (with the numbers), eps < 0.
 */
export function latentPack(ctx: GpuContext, z: GpuTensor, mean: GpuTensor, variance: GpuTensor, eps: number): GpuTensor {
  const k = mean.shape[0] ?? 0;
  assert(mean.shape.length === 1 && k > 0 && k % 4 === 0, () => `latentPack: mean ${fmtShape(mean.shape)} must be [K], K a multiple of 4`);
  assert(variance.shape.length === 1 && variance.shape[0] === k, () => `latentPack: variance ${fmtShape(variance.shape)} ≠ [${k}]`);
  assert(z.dtype === 'f32' && z.shape.length === 3, () => `latentPack: z must be f32 [C, 2h, 2w], got ${z.dtype}${fmtShape(z.shape)}`);
  const [c, zh, zw] = z.shape as [number, number, number];
  assert(c * 4 === k && zh % 2 === 0 && zw % 2 === 0, () => `latentPack: z ${fmtShape(z.shape)} ≠ [${k / 4}, 2h, 2w]`);
  assert(eps >= 0, () => `latentPack: eps ${eps} < 0`);
  const h = zh / 2;
  const w = zw / 2;
  const n = k * h * w;
  const tokens = ctx.alloc([h * w, k], 'latentPack');
  ctx.dispatch({
    shader: SHADER,
    constants: { M_DTYPE: dtypeCode(mean, 'latentPack mean'), V_DTYPE: dtypeCode(variance, 'latentPack variance') },
    bindings: [z, mean, variance, tokens],
    params: [n, k, h, w, { f32: eps }],
    workgroups: grid1d(n, 256),
  });
  return tokens;
}
