/** Row-wise data movement along the first dim: concatenation and slicing. */
import { type CpuTensor, cpuTensor } from './tensor';
import { assert, fmtShape, numel } from '../../util/assert';

/**
 * [a; b] along the first dim: a: [Ma, …], b: [Mb, …] with equal trailing dims → [Ma+Mb, …].
 * Errors: assertion failure for 0-d tensors or different trailing dims.
 */
export function concatRows(a: CpuTensor, b: CpuTensor): CpuTensor {
  assert(a.shape.length >= 1 && a.shape.length === b.shape.length && a.shape.slice(1).every((d, i) => d === b.shape[i + 1]),
    () => `concatRows: trailing dims of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`);
  const [Ma, ...rest] = a.shape as [number, ...number[]];
  const y = new Float32Array(a.data.length + b.data.length);
  y.set(a.data, 0); // y[0:Ma] = a
  y.set(b.data, a.data.length); // y[Ma:] = b
  return cpuTensor(y, [Ma + (b.shape[0] as number), ...rest]);
}

/** Rows [start, start+count) of x: [M, …] → [count, …]. Errors: assertion failure for a range outside [0, M]. */
export function sliceRows(x: CpuTensor, start: number, count: number): CpuTensor {
  assert(x.shape.length >= 1, 'sliceRows: x must have a row dim');
  const [M, ...rest] = x.shape as [number, ...number[]];
  assert(start >= 0 && count >= 0 && start + count <= M, () => `sliceRows: rows [${start}, ${start + count}) outside ${fmtShape(x.shape)}`);
  const row = numel(rest);
  return cpuTensor(x.data.slice(start * row, (start + count) * row), [count, ...rest]);
}
