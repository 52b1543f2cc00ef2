import { type CpuTensor, cpuTensor } from './tensor';
import { assert, fmtShape } from '../../util/assert';

/**
 * Rows of `table` at `ids` (nn.Embedding lookup). ids: [n], table: [V, D] → [n, D].
 * Errors: Error naming the first id outside [0, V).
 */
export function embedding(ids: Int32Array, table: CpuTensor): CpuTensor {
  assert(table.shape.length === 2, () => `embedding: table must be [V, D], got ${fmtShape(table.shape)}`);
  const [V, D] = table.shape as [number, number];
  const y = new Float32Array(ids.length * D);
  for (const [t, id] of ids.entries()) {
    if (!(id >= 0 && id < V)) throw new Error(`embedding: id ${id} at position ${t} outside the table's [0, ${V})`);
    y.set(table.data.subarray(id * D, (id + 1) * D), t * D); // y[t, :] = table[id, :]
  }
  return cpuTensor(y, [ids.length, D]);
}
