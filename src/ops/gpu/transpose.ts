import code from '../../../shaders/transpose.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';

const SHADER = { file: 'transpose.wgsl', code };
/** Tile edge of transpose.wgsl. */
const T = 16;

/** Matrix transpose (torch `x.T`). x: [R, C] f32 → [C, R] f32. Errors: assertion failure unless x is 2-D f32. */
export function transpose(ctx: GpuContext, x: GpuTensor): GpuTensor {
  assert(x.shape.length === 2 && x.dtype === 'f32', () => `transpose: x must be [R, C] f32, got ${x.dtype}${fmtShape(x.shape)}`);
  const [R, C] = x.shape as [number, number];
  const y = ctx.alloc([C, R], 'transpose');
  const tilesC = Math.ceil(C / T);
  ctx.dispatch({ shader: SHADER, bindings: [x, y], params: [R, C, tilesC], workgroups: grid1d(Math.ceil(R / T) * tilesC, 1) });
  return y;
}
