/** Row-wise data movement with buffer copies (no shader): concatenation and slicing along dim 0. */
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { assert, fmtShape, numel } from '../../util/assert';

/**
 * [a; b] along the first dim (torch.cat(dim=0)): a: [Ma, …], b: [Mb, …] with equal trailing dims
 * → [Ma+Mb, …] f32; works for [C, H, W] images (rows = channels). Two copyBufferToBuffer.
 * Errors: assertion failure for non-f32 tensors, 0-d tensors or different trailing dims.
 */
export function concatRows(ctx: GpuContext, a: GpuTensor, b: GpuTensor): GpuTensor {
  assert(a.dtype === 'f32' && b.dtype === 'f32', () => `concatRows: f32 only, got ${a.dtype} and ${b.dtype}`);
  assert(a.shape.length >= 1 && a.shape.length === b.shape.length && a.shape.slice(1).every((d, i) => d === b.shape[i + 1]),
    () => `concatRows: trailing dims of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`);
  const [Ma, ...rest] = a.shape as [number, ...number[]];
  const y = ctx.alloc([Ma + (b.shape[0] as number), ...rest], 'concatRows');
  const aBytes = numel(a.shape) * 4;
  const bBytes = numel(b.shape) * 4;
  if (aBytes) ctx.copy(a, 0, y, 0, aBytes);
  if (bBytes) ctx.copy(b, 0, y, aBytes, bBytes);
  return y;
}

/**
 * Rows [start, start+count) along the first dim (torch `x[start:start+count]`): x: [M, …] f32
 * → [count, …] f32. One copyBufferToBuffer. Errors: assertion failure for non-f32 x or a range
 * outside [0, M].
 */
export function sliceRows(ctx: GpuContext, x: GpuTensor, start: number, count: number): GpuTensor {
  assert(x.dtype === 'f32' && x.shape.length >= 1, () => `sliceRows: x must be [M, …] f32, got ${x.dtype}${fmtShape(x.shape)}`);
  const [M, ...rest] = x.shape as [number, ...number[]];
  assert(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= M,
    () => `sliceRows: rows [${start}, ${start + count}) outside ${fmtShape(x.shape)}`);
  const rowBytes = numel(rest) * 4;
  const y = ctx.alloc([count, ...rest], 'sliceRows');
  if (count * rowBytes) ctx.copy(x, start * rowBytes, y, 0, count * rowBytes);
  return y;
}
