import { type CpuTensor, cpuTensor } from './tensor';

/** silu(x) = x·sigmoid(x), any shape → same shape. */
export function silu(x: CpuTensor): CpuTensor {
  const y = new Float32Array(x.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = x.data[i] as number;
    y[i] = v / (1 + Math.exp(-v));
  }
  return cpuTensor(y, x.shape);
}
