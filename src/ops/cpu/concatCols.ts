import { type CpuTensor, cpuTensor } from './tensor';

/** [a | b]: a [M, Ca], b [M, Cb] → [M, Ca+Cb]. */
export function concatCols(a: CpuTensor, b: CpuTensor): CpuTensor {
  const [m, ca] = a.shape as [number, number];
  const cb = b.shape[1] as number;
  if (b.shape[0] !== m) throw new Error(`concatCols: ${m} rows vs ${b.shape[0]}`);
  const y = new Float32Array(m * (ca + cb));
  for (let r = 0; r < m; r++) {
    y.set(a.data.subarray(r * ca, (r + 1) * ca), r * (ca + cb));
    y.set(b.data.subarray(r * cb, (r + 1) * cb), r * (ca + cb) + ca);
  }
  return cpuTensor(y, [m, ca + cb]);
}
