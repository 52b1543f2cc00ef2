import { assert, fmtShape } from '../../util/assert';
import type { RopeLayout } from '../ops';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * Rotary embedding. x: [S, H·Dh], table: [S, Dh/2, 2] (cos, sin) per pair p → [S, H·Dh].
 * Pair (i0, i1) of head h, with (c, s) = table[t, p]: y[i0] = x[i0]·c − x[i1]·s, y[i1] = x[i1]·c + x[i0]·s.
 * 'interleaved': (i0, i1) = (2p, 2p+1) (FLUX DiT, diffusers apply_rotary_emb use_real_unbind_dim=-1);
 * 'halfSplit': (p, p+Dh/2) (Qwen3, transformers rotate_half).
 */
export function rope(x: CpuTensor, table: CpuTensor, heads: number, layout: RopeLayout): CpuTensor {
  const [s, hd] = x.shape as [number, number];
  const half = table.shape[1] as number;
  assert(table.shape[0] === s && table.shape[2] === 2 && hd === heads * 2 * half, () => `rope: x${fmtShape(x.shape)}, table${fmtShape(table.shape)}, ${heads} heads`);
  const y = new Float32Array(x.data.length);
  for (let t = 0; t < s; t++) {
    for (let h = 0; h < heads; h++) {
      const base = t * hd + h * 2 * half; // x[t, h, :]
      for (let p = 0; p < half; p++) {
        const c = table.data[(t * half + p) * 2] as number;
        const sn = table.data[(t * half + p) * 2 + 1] as number;
        const i0 = layout === 'interleaved' ? base + 2 * p : base + p;
        const i1 = layout === 'interleaved' ? i0 + 1 : i0 + half;
        const x0 = x.data[i0] as number;
        const x1 = x.data[i1] as number;
        y[i0] = x0 * c - x1 * sn;
        y[i1] = x1 * c + x0 * sn;
      }
    }
  }
  return cpuTensor(y, x.shape);
}
