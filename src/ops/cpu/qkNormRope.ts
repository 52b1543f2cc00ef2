import { f16BitsToF32, f32ToF16Bits } from '../../util/dtype';
import type { QkNormRopeOptions } from '../qkNormRopeOptions';
import type { CpuTensor } from './tensor';

/**
 * Per-head RMSNorm then RoPE of the q and k windows of x: [S, W], in place, as rmsNorm (f64 sum of
 * squares, f32 product) then rope of each window; `f16` rounds the written values to f16 (an f16
 * buffer on the GPU); `period`: rows repeat the table (and split) every P rows. The GPU version is
 * ../gpu/qkNormRope.ts.
 */
export function qkNormRope(x: CpuTensor, table: CpuTensor, o: QkNormRopeOptions<CpuTensor>, f16 = false): CpuTensor {
  const [s, width] = x.shape as [number, number];
  const dh = o.headDim;
  const half = dh / 2;
  const round = (v: number) => (f16 ? f16BitsToF32(f32ToF16Bits(v)) : v);
  const windows: [number, number, 'q' | 'k'][] = [
    ...Array.from({ length: o.heads }, (_, h) => [o.qCol + h * dh, h, 'q'] as [number, number, 'q']),
    ...Array.from({ length: o.kvHeads }, (_, h) => [o.kCol + h * dh, h, 'k'] as [number, number, 'k']),
  ];
  const period = o.period ?? s;
  const xh = new Float64Array(dh);
  for (let r = 0; r < s; r++) {
    const pr = r % period; // row within its sequence: its table row
    const late = o.after !== undefined && pr >= o.after.split;
    for (const [col, , which] of windows) {
      const w = which === 'q' ? (late ? o.after?.normQ : o.normQ) : late ? o.after?.normK : o.normK;
      const base = r * width + col;
      let ss = 0;
      for (let d = 0; d < dh; d++) ss += (x.data[base + d] as number) ** 2;
      const inv = 1 / Math.sqrt(ss / dh + o.eps);
      for (let d = 0; d < dh; d++) xh[d] = (w?.data[d] as number) * Math.fround((x.data[base + d] as number) * inv);
      for (let p = 0; p < half; p++) {
        const c = table.data[(pr * half + p) * 2] as number;
        const sn = table.data[(pr * half + p) * 2 + 1] as number;
        const [i0, i1] = o.layout === 'interleaved' ? [2 * p, 2 * p + 1] : [p, p + half];
        const x0 = xh[i0] as number;
        const x1 = xh[i1] as number;
        x.data[base + i0] = round(x0 * c - x1 * sn);
        x.data[base + i1] = round(x1 * c + x0 * sn);
      }
    }
  }
  return x;
}
