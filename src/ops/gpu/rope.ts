import code from '../../../shaders/rope.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import type { RopeLayout } from '../ops';

const SHADER = { file: 'rope.wgsl', code };
const LAYOUT: Readonly<Record<RopeLayout, number>> = { interleaved: 0, halfSplit: 1 };

/**
 * Rotary embedding with a host-built table (see ../cpu/ropeTables.ts). x: [S, H·Dh] f32,
 * table: [S, Dh/2, 2] f32 (cos, sin) per pair p → new [S, H·Dh] f32. 'interleaved' rotates
 * (2p, 2p+1) (FLUX DiT, diffusers apply_rotary_emb use_real_unbind_dim=-1); 'halfSplit' rotates
 * (p, p+Dh/2) (Qwen3 rotate_half). Dh comes from the table.
 */
export function rope(ctx: GpuContext, x: GpuTensor, table: GpuTensor, heads: number, layout: RopeLayout): GpuTensor {
  assert(x.shape.length === 2 && x.dtype === 'f32', () => `rope: x ${x.label} ${x.dtype}${fmtShape(x.shape)} is not f32 [S, H·Dh]`);
  assert(table.shape.length === 3 && table.shape[2] === 2 && table.dtype === 'f32', () => `rope: table ${table.dtype}${fmtShape(table.shape)} is not f32 [S, Dh/2, 2]`);
  const [s, hd] = x.shape as [number, number];
  const half = table.shape[1] as number;
  assert(table.shape[0] === s, () => `rope: table${fmtShape(table.shape)} for ${s} tokens`);
  assert(hd === heads * 2 * half, () => `rope: x${fmtShape(x.shape)} is not ${heads} heads × Dh ${2 * half}`);
  const pairs = s * heads * half;
  const y = ctx.alloc(x.shape, 'rope');
  ctx.dispatch({
    shader: SHADER,
    constants: { LAYOUT: LAYOUT[layout] },
    bindings: [x, table, y],
    params: [pairs, heads, half],
    workgroups: grid1d(pairs, 256),
  });
  return y;
}
