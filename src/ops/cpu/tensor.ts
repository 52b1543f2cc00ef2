/**
 * The CPU backend's tensor: f32 data, row-major, with a shape. Weights are decoded to f32. `f16` marks
 * an activation the GPU would store as f16: the ops that write it round every value to f16.
 */
import { assert, fmtShape, numel } from '../../util/assert';

export interface CpuTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly f16?: boolean;
}

/** Wraps data, checking its length against the shape. */
export function cpuTensor(data: Float32Array, shape: readonly number[], f16 = false): CpuTensor {
  assert(data.length === numel(shape), () => `cpuTensor: ${data.length} values for ${fmtShape(shape)}`);
  return f16 ? { data, shape: [...shape], f16 } : { data, shape: [...shape] };
}
