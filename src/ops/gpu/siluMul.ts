import code from '../../../shaders/silu_mul.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape, numel } from '../../util/assert';

const SHADER = { file: 'silu_mul.wgsl', code };

/** SwiGLU: silu(gate) ⊙ up. gate, up: same shape, f32 → same shape f32. */
export function siluMul(ctx: GpuContext, gate: GpuTensor, up: GpuTensor): GpuTensor {
  const n = numel(gate.shape);
  assert(
    gate.shape.length === up.shape.length && gate.shape.every((d, i) => d === up.shape[i]),
    () => `siluMul: gate${fmtShape(gate.shape)} vs up${fmtShape(up.shape)}`,
  );
  assert(gate.dtype === 'f32' && up.dtype === 'f32', () => `siluMul: gate ${gate.dtype}, up ${up.dtype}; need f32`);
  const y = ctx.alloc(gate.shape, 'siluMul');
  ctx.dispatch({ shader: SHADER, bindings: [gate, up, y], params: [n], workgroups: grid1d(n, 256) });
  return y;
}
