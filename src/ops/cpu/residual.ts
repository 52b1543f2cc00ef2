import { assert, fmtShape } from '../../util/assert';
import type { CpuTensor } from './tensor';

/**
 * In place: x += y, or x += mod[chunk·D + d] ⊙ y (FLUX gated residual). x, y: [S, D], mod: [k·D].
 * Returns x.
 */
export function residual(x: CpuTensor, y: CpuTensor, gate?: { mod: CpuTensor; chunk: number }): CpuTensor {
  assert(x.data.length === y.data.length, () => `residual: x${fmtShape(x.shape)} vs y${fmtShape(y.shape)}`);
  const d = x.shape[x.shape.length - 1] as number;
  if (gate) assert((gate.chunk + 1) * d <= gate.mod.data.length, () => `residual: chunk ${gate.chunk} of D=${d} outside mod[${gate.mod.data.length}]`);
  for (let i = 0; i < x.data.length; i++) {
    const g = gate ? (gate.mod.data[gate.chunk * d + (i % d)] as number) : 1;
    x.data[i] = (x.data[i] as number) + g * (y.data[i] as number);
  }
  return x;
}
