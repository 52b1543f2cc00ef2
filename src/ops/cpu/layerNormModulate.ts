import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * AdaLN: x̂ = (x − mean)/sqrt(var + eps) over D (no affine, biased variance), then
 * y = (1 + mod[scaleChunk·D + d])·x̂ + mod[shiftChunk·D + d]. x: [S, D], mod: [k·D] → [S, D].
 * Matches torch LayerNorm(elementwise_affine=False) + diffusers Flux2 `(1 + scale) * norm(x) + shift`.
 */
export function layerNormModulate(x: CpuTensor, mod: CpuTensor, shiftChunk: number, scaleChunk: number, eps: number): CpuTensor {
  assert(x.shape.length === 2, () => `layerNormModulate: x${fmtShape(x.shape)} is not [S, D]`);
  const [s, d] = x.shape as [number, number];
  assert(Math.max(shiftChunk, scaleChunk) * d + d <= mod.data.length, () => `layerNormModulate: chunks ${shiftChunk}, ${scaleChunk} of D=${d} outside mod[${mod.data.length}]`);
  const y = new Float32Array(s * d);
  for (let r = 0; r < s; r++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x.data[r * d + j] as number;
    mean /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += ((x.data[r * d + j] as number) - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let j = 0; j < d; j++) {
      const xhat = ((x.data[r * d + j] as number) - mean) * inv;
      y[r * d + j] = (1 + (mod.data[scaleChunk * d + j] as number)) * xhat + (mod.data[shiftChunk * d + j] as number);
    }
  }
  return cpuTensor(y, x.shape);
}
