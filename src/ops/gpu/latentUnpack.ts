import code from '../../../shaders/latent_unpack.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import { dtypeCode } from './dtypeCode';

const SHADER = { file: 'latent_unpack.wgsl', code };

/**
 * Packed latent tokens → VAE latent: BN de-normalise x·√(var + eps) + mean per packed channel, then
 * unpatchify 2×2 (diffusers Flux2KleinPipeline._unpack_latents_with_ids + BN denorm +
 * _unpatchify_latents; eps 1e-4 = bn.eps). tokens: [h·w, K] f32 (token i·w + j), mean/variance: [K]
 * in f32/f16/bf16 (K = 128 in klein, any multiple of 4) → [K/4, 2h, 2w] f32.
 * Errors (assert): shapes that disagree (with the numbers), eps < 0.
 */
export function latentUnpack(
  ctx: GpuContext,
  tokens: GpuTensor,
  mean: GpuTensor,
  variance: GpuTensor,
  h: number,
  w: number,
  eps: number,
): GpuTensor {
  const k = mean.shape[0] ?? 0;
  assert(mean.shape.length === 1 && k > 0 && k % 4 === 0, () => `latentUnpack: mean ${fmtShape(mean.shape)} must be [K], K a multiple of 4`);
  assert(variance.shape.length === 1 && variance.shape[0] === k, () => `latentUnpack: variance ${fmtShape(variance.shape)} ≠ [${k}]`);
  assert(
    tokens.dtype === 'f32' && tokens.shape.length === 2 && tokens.shape[0] === h * w && tokens.shape[1] === k,
    () => `latentUnpack: tokens ${tokens.dtype}${fmtShape(tokens.shape)} ≠ f32[${h}·${w}, ${k}]`,
  );
  assert(eps >= 0, () => `latentUnpack: eps ${eps} < 0`);
  const n = k * h * w;
  const z = ctx.alloc([k / 4, 2 * h, 2 * w], 'latentUnpack');
  ctx.dispatch({
    shader: SHADER,
    constants: { M_DTYPE: dtypeCode(mean, 'latentUnpack mean'), V_DTYPE: dtypeCode(variance, 'latentUnpack variance') },
    bindings: [tokens, mean, variance, z],
    params: [n, k, h, w, { f32: eps }],
    workgroups: grid1d(n, 256),
  });
  return z;
}
