import code from '../../../shaders/upsample_nearest.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';

const SHADER = { file: 'upsample_nearest.wgsl', code };

/**
 * Nearest-neighbour ×2 (diffusers Upsample2D: F.interpolate(scale_factor=2, mode="nearest")).
 * x: [C, H, W] f32 → [C, 2H, 2W] f32. Errors (assert): x not f32 rank 3.
 */
export function upsampleNearest2x(ctx: GpuContext, x: GpuTensor): GpuTensor {
  assert(x.dtype === 'f32' && x.shape.length === 3, () => `upsampleNearest2x: x must be f32 [C, H, W], got ${x.dtype}${fmtShape(x.shape)}`);
  const [c, h, w] = x.shape as [number, number, number];
  const n = c * h * w;
  const y = ctx.alloc([c, 2 * h, 2 * w], 'upsampleNearest2x');
  ctx.dispatch({ shader: SHADER, bindings: [x, y], params: [n, w], workgroups: grid1d(n, 256) });
  return y;
}
