import code from '../../../shaders/copy_rows.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert } from '../../util/assert';
import { checkCopyRows } from '../cpu/copyRows';

const SHADER = { file: 'copy_rows.wgsl', code };

/**
 * In place: dst[c, dstRow + r, x] = src[c, srcRow + r, x] for r < rows (shaders/copy_rows.wgsl).
 * src: [C, Hs, W] f32, dst: [C, Hd, W] f32, different buffers → dst.
 * Errors (assert): non-f32 tensors, the same buffer, channel or width mismatch, rows outside either image.
 */
export function copyRows(ctx: GpuContext, dst: GpuTensor, src: GpuTensor, dstRow: number, srcRow: number, rows: number): GpuTensor {
  assert(dst.dtype === 'f32' && src.dtype === 'f32', () => `copyRows: f32 only, got dst ${dst.dtype}, src ${src.dtype}`);
  assert(dst.buffer !== src.buffer, () => `copyRows: dst and src are the same buffer (${dst.label})`);
  checkCopyRows(dst.shape, src.shape, dstRow, srcRow, rows);
  const [c, hs, w] = src.shape as [number, number, number];
  const n = c * rows * w;
  if (n === 0) return dst;
  ctx.dispatch({
    shader: SHADER,
    bindings: [src, dst],
    params: [n, rows * w, w, hs, dst.shape[1] as number, srcRow, dstRow],
    workgroups: grid1d(n, 256),
  });
  return dst;
}
