import code from '../../../shaders/silu.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { numel } from '../../util/assert';

const SHADER = { file: 'silu.wgsl', code };

/** silu(x), any shape → same shape (f32). */
export function silu(ctx: GpuContext, x: GpuTensor): GpuTensor {
  const n = numel(x.shape);
  const y = ctx.alloc(x.shape, 'silu');
  ctx.dispatch({ shader: SHADER, bindings: [x, y], params: [n], workgroups: grid1d(n, 256) });
  return y;
}
