import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * GroupNorm with affine and optional SiLU, as torch.nn.GroupNorm (biased variance) followed by
 * F.silu. x: [C, H, W], w/b: [C] → [C, H, W]. Group g holds channels [g·C/G, (g+1)·C/G).
 * Mean and variance are two-pass sums in f64.
 */
export function groupNorm(x: CpuTensor, w: CpuTensor, b: CpuTensor, groups: number, eps: number, silu: boolean): CpuTensor {
  assert(x.shape.length === 3, () => `groupNorm: x must be [C, H, W], got ${fmtShape(x.shape)}`);
  const [c, h, wd] = x.shape as [number, number, number];
  assert(c % groups === 0, () => `groupNorm: ${c} channels not divisible into ${groups} groups`);
  assert(w.data.length === c && b.data.length === c, () => `groupNorm: w ${fmtShape(w.shape)}, b ${fmtShape(b.shape)} ≠ [${c}]`);
  const hw = h * wd;
  const n = (c / groups) * hw; // values per group, contiguous
  const y = new Float32Array(x.data.length);
  for (let g = 0; g < groups; g++) {
    const base = g * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x.data[base + i] as number;
    const mean = sum / n;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += ((x.data[base + i] as number) - mean) ** 2;
    const rstd = 1 / Math.sqrt(sq / n + eps);
    for (let i = 0; i < n; i++) {
      const ch = Math.floor((base + i) / hw);
      let v = ((x.data[base + i] as number) - mean) * rstd * (w.data[ch] as number) + (b.data[ch] as number);
      if (silu) v = v / (1 + Math.exp(-v));
      y[base + i] = v;
    }
  }
  return cpuTensor(y, x.shape);
}
