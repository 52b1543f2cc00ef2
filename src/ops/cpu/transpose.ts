import { type CpuTensor, cpuTensor } from './tensor';
import { assert, fmtShape } from '../../util/assert';

/** Matrix transpose. x: [R, C] → [C, R]. Errors: assertion failure unless x is 2-D. */
export function transpose(x: CpuTensor): CpuTensor {
  assert(x.shape.length === 2, () => `transpose: x must be [R, C], got ${fmtShape(x.shape)}`);
  const [R, C] = x.shape as [number, number];
  const y = new Float32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) y[c * R + r] = x.data[r * C + c] as number; // y[c, r] = x[r, c]
  return cpuTensor(y, [C, R]);
}
