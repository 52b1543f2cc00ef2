import code from '../../../shaders/layer_norm_modulate.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape, numel } from '../../util/assert';
import { withSubgroups } from '../../gpu/shaderVariants';

const SHADER = withSubgroups('layer_norm_modulate.wgsl', code);

/**
 * AdaLN: LayerNorm over D without affine (biased variance), then (1 + scale)·x̂ + shift with
 * shift/scale = chunks `shiftChunk`/`scaleChunk` of mod. x: [S, D], mod: [k·D] f32 → [S, D] f32.
 * Matches torch LayerNorm(elementwise_affine=False) + diffusers Flux2 `(1 + scale) * norm(x) + shift`.
 */
export function layerNormModulate(
  ctx: GpuContext,
  x: GpuTensor,
  mod: GpuTensor,
  shiftChunk: number,
  scaleChunk: number,
  eps: number,
): GpuTensor {
  assert(x.shape.length === 2, () => `layerNormModulate: x ${x.label}${fmtShape(x.shape)} is not [S, D]`);
  const [s, d] = x.shape as [number, number];
  const chunks = numel(mod.shape) / d;
  assert(x.dtype === 'f32' && mod.dtype === 'f32', () => `layerNormModulate: x ${x.dtype}, mod ${mod.dtype}; need f32`);
  assert(Number.isInteger(chunks), () => `layerNormModulate: mod${fmtShape(mod.shape)} is not k chunks of D=${d}`);
  for (const k of [shiftChunk, scaleChunk]) {
    assert(Number.isInteger(k) && k >= 0 && k < chunks, () => `layerNormModulate: chunk ${k} outside mod's ${chunks} chunks of ${d}`);
  }
  const y = ctx.alloc(x.shape, 'layerNormModulate');
  ctx.dispatch({
    shader: SHADER,
    bindings: [x, mod, y],
    params: [s, d, shiftChunk * d, scaleChunk * d, { f32: eps }],
    workgroups: grid1d(s, 1),
  });
  return y;
}
