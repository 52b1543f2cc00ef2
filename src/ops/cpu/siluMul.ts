import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/** SwiGLU: silu(gate) ⊙ up = gate·sigmoid(gate)·up. gate, up: same shape → same shape. */
export function siluMul(gate: CpuTensor, up: CpuTensor): CpuTensor {
  assert(gate.data.length === up.data.length, () => `siluMul: gate${fmtShape(gate.shape)} vs up${fmtShape(up.shape)}`);
  const y = new Float32Array(gate.data.length);
  for (let i = 0; i < y.length; i++) {
    const g = gate.data[i] as number;
    y[i] = (g / (1 + Math.exp(-g))) * (up.data[i] as number);
  }
  return cpuTensor(y, gate.shape);
}
