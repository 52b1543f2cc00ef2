/** The CPU backend's tensor: f32 data, row-major, with a shape. Weights are decoded to f32. */
import { assert, fmtShape, numel } from '../../util/assert';

export interface CpuTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Wraps data, checking its length against the shape. */
export function cpuTensor(data: Float32Array, shape: readonly number[]): CpuTensor {
  assert(data.length === numel(shape), () => `cpuTensor: ${data.length} values for ${fmtShape(shape)}`);
  return { data, shape: [...shape] };
}
