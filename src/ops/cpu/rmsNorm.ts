import { assert, fmtShape, numel } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * RMSNorm over groups of `cols` (default: last dim): y = w ⊙ x / sqrt(mean(x²) + eps).
 * x: [R, C] read as [R·C/cols, cols], w: [cols] → [R, C]. Matches transformers Qwen3RMSNorm
 * (normalise in f32, then multiply by the weight); the sum of squares here is f64.
 */
export function rmsNorm(x: CpuTensor, w: CpuTensor, eps: number, cols?: number): CpuTensor {
  const c = cols ?? (x.shape[x.shape.length - 1] as number);
  assert(x.data.length % c === 0, () => `rmsNorm: ${x.data.length} values of x${fmtShape(x.shape)} do not split into groups of ${c}`);
  assert(numel(w.shape) === c, () => `rmsNorm: weight ${fmtShape(w.shape)} for groups of ${c}`);
  const y = new Float32Array(x.data.length);
  for (let r = 0; r < x.data.length / c; r++) {
    // row r: x[r·c .. r·c + c)
    let ss = 0;
    for (let j = 0; j < c; j++) ss += (x.data[r * c + j] as number) ** 2;
    const inv = 1 / Math.sqrt(ss / c + eps);
    for (let j = 0; j < c; j++) y[r * c + j] = (w.data[j] as number) * Math.fround((x.data[r * c + j] as number) * inv);
  }
  return cpuTensor(y, x.shape);
}
