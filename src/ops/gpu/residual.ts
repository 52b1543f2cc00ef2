import code from '../../../shaders/residual.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape, numel } from '../../util/assert';

const SHADER = { file: 'residual.wgsl', code };

/**
 * In place: x += y, or x += mod[chunk·D + d] ⊙ y (FLUX gated residual, diffusers
 * `hidden_states + gate * attn_output`). x, y: [S, D] f32, gate.mod: [k·D] f32. Returns x.
 * x and y must be different buffers (a buffer cannot be bound writable and read-only at once).
 */
export function residual(ctx: GpuContext, x: GpuTensor, y: GpuTensor, gate?: { mod: GpuTensor; chunk: number }): GpuTensor {
  assert(
    x.shape.length === y.shape.length && x.shape.every((d, i) => d === y.shape[i]),
    () => `residual: x${fmtShape(x.shape)} vs y${fmtShape(y.shape)}`,
  );
  assert(x.dtype === 'f32' && y.dtype === 'f32', () => `residual: x ${x.dtype}, y ${y.dtype}; need f32`);
  assert(x.buffer !== y.buffer, () => `residual: x and y are the same buffer (${x.label})`);
  const n = numel(x.shape);
  const d = x.shape[x.shape.length - 1] as number;
  if (gate) {
    const chunks = numel(gate.mod.shape) / d;
    assert(gate.mod.dtype === 'f32', () => `residual: gate ${gate.mod.label} is ${gate.mod.dtype}, need f32`);
    assert(Number.isInteger(gate.chunk) && gate.chunk >= 0 && gate.chunk < Math.floor(chunks), () => `residual: chunk ${gate.chunk} outside mod${fmtShape(gate.mod.shape)} as chunks of D=${d}`);
  }
  ctx.dispatch({
    shader: SHADER,
    constants: { GATED: gate ? 1 : 0 },
    bindings: [x, y, gate?.mod ?? y], // plain: y doubles as the unread gate binding
    params: [n, d, gate ? gate.chunk * d : 0],
    workgroups: grid1d(n, 256),
  });
  return x;
}
