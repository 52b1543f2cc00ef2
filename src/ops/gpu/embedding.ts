import code from '../../../shaders/embedding.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import { dtypeCode } from './dtypeCode';

const SHADER = { file: 'embedding.wgsl', code };


/**
 * Rows of `table` at `ids` (nn.Embedding lookup, e.g. Qwen3 `embed_tokens`). ids: [n] token ids,
 * table: [V, D] f32/f16/bf16 → [n, D] f32 (16-bit values decoded exactly).
 * Errors: Error naming the first id outside [0, V); assertion failure if table is not 2-D.
 */
export function embedding(ctx: GpuContext, ids: Int32Array, table: GpuTensor): GpuTensor {
  assert(table.shape.length === 2, () => `embedding: table must be [V, D], got ${fmtShape(table.shape)}`);
  const [V, D] = table.shape as [number, number];
  for (const [t, id] of ids.entries()) {
    if (!(id >= 0 && id < V)) throw new Error(`embedding: id ${id} at position ${t} outside the table's [0, ${V})`);
  }
  const n = ids.length;
  // The ids travel as u32 bits in an 'f32'-typed tensor (same byte length); the shader reads array<u32>.
  const idTensor = ctx.upload(new Uint32Array(ids), [n], 'f32', 'embedding:ids');
  const y = ctx.alloc([n, D], 'embedding');
  ctx.dispatch({
    shader: SHADER,
    constants: { DTYPE: dtypeCode(table, 'embedding') },
    bindings: [idTensor, table, y],
    params: [n * D, D],
    workgroups: grid1d(n * D, 256),
  });
  ctx.release(idTensor);
  return y;
}
