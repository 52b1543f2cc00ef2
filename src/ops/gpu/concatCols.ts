import code from '../../../shaders/concat_cols.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';

const SHADER = { file: 'concat_cols.wgsl', code };

/** [a | b]: a [M, Ca], b [M, Cb] (f32) → [M, Ca+Cb]. Errors: row counts differ, not 2-D. */
export function concatCols(ctx: GpuContext, a: GpuTensor, b: GpuTensor): GpuTensor {
  assert(a.shape.length === 2 && b.shape.length === 2 && a.shape[0] === b.shape[0], () => `concatCols: ${fmtShape(a.shape)} | ${fmtShape(b.shape)}`);
  assert(a.dtype === 'f32' && b.dtype === 'f32', 'concatCols: f32 only');
  const [m, ca] = a.shape as [number, number];
  const cb = b.shape[1] as number;
  const y = ctx.alloc([m, ca + cb], 'concat_cols');
  ctx.dispatch({ shader: SHADER, bindings: [a, b, y], params: [m, ca, cb], workgroups: grid1d(m * (ca + cb), 256) });
  return y;
}
