import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/**
 * GroupNorm with affine and optional SiLU, as torch.nn.GroupNorm (biased variance) followed by
 * F.silu. x: [C, H, W], w/b: [C] → [C, H, W]. Group g holds channels [g·C/G, (g+1)·C/G).
 * = groupNormStats over all rows → groupNormMerge → groupNormApply, like the GPU backend, so a
 * banded run gives the same bits.
 */
export function groupNorm(x: CpuTensor, w: CpuTensor, b: CpuTensor, groups: number, eps: number, silu: boolean): CpuTensor {
  assert(x.shape.length === 3, () => `groupNorm: x must be [C, H, W], got ${fmtShape(x.shape)}`);
  const partials = cpuTensor(new Float32Array(groups * (x.shape[1] as number) * 3), [groups, x.shape[1] as number, 3]);
  groupNormStats(x, groups, partials, 0);
  return groupNormApply(x, groupNormMerge(partials), w, b, eps, silu);
}

/**
 * In place: per (group, row) partial statistics (count, mean, M2) of x's rows [xRows[0],
 * xRows[0] + xRows[1]) (default all) into partials: [G, H, 3] at image rows [row, row + count).
 * x: [C, h, W]. Two-pass sums in f64 over the row's C/G·W values, stored as f32. Returns partials.
 * Errors (assert): G ∤ C, partials not [G, H, 3], rows outside x or partials.
 */
export function groupNormStats(x: CpuTensor, groups: number, partials: CpuTensor, row: number, xRows?: readonly [start: number, count: number]): CpuTensor {
  assert(x.shape.length === 3, () => `groupNormStats: x must be [C, H, W], got ${fmtShape(x.shape)}`);
  const [c, h, wd] = x.shape as [number, number, number];
  const [xRow, rows] = xRows ?? [0, h];
  assert(Number.isInteger(groups) && groups > 0 && c % groups === 0, () => `groupNormStats: ${c} channels not divisible into ${groups} groups`);
  assert(partials.shape.length === 3 && partials.shape[0] === groups && partials.shape[2] === 3, () => `groupNormStats: partials ${fmtShape(partials.shape)} ≠ [${groups}, H, 3]`);
  const imgH = partials.shape[1] as number;
  assert(xRow >= 0 && rows >= 0 && xRow + rows <= h, () => `groupNormStats: rows [${xRow}, ${xRow + rows}) outside x${fmtShape(x.shape)}`);
  assert(row >= 0 && row + rows <= imgH, () => `groupNormStats: image rows [${row}, ${row + rows}) outside partials${fmtShape(partials.shape)}`);
  const cpg = c / groups;
  const n = cpg * wd;
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < rows; r++) {
      const bases = Array.from({ length: cpg }, (_, k) => ((g * cpg + k) * h + xRow + r) * wd);
      let sum = 0;
      for (const base of bases) for (let i = base; i < base + wd; i++) sum += x.data[i] as number;
      const mean = sum / n;
      let m2 = 0;
      for (const base of bases) for (let i = base; i < base + wd; i++) m2 += ((x.data[i] as number) - mean) ** 2;
      partials.data.set([n, mean, m2], 3 * (g * imgH + row + r));
    }
  }
  return partials;
}

/**
 * Per-row partials [G, H, 3] → [G, 3] (count, mean, M2) per group: Chan's merge in f64, rows in
 * order 0…H−1. Errors (assert): partials not [G, H, 3].
 */
export function groupNormMerge(partials: CpuTensor): CpuTensor {
  assert(partials.shape.length === 3 && partials.shape[2] === 3, () => `groupNormMerge: partials ${fmtShape(partials.shape)} ≠ [G, H, 3]`);
  const [groups, h] = partials.shape as [number, number];
  const out = new Float32Array(groups * 3);
  for (let g = 0; g < groups; g++) {
    let n = 0;
    let mean = 0;
    let m2 = 0;
    for (let r = 0; r < h; r++) {
      const q = 3 * (g * h + r);
      const [nb, mb, m2b] = [partials.data[q] as number, partials.data[q + 1] as number, partials.data[q + 2] as number];
      if (nb === 0) continue;
      const total = n + nb;
      const d = mb - mean;
      mean += (d * nb) / total;
      m2 += m2b + (d * d * n * nb) / total;
      n = total;
    }
    out.set([n, mean, m2], 3 * g);
  }
  return cpuTensor(out, [groups, 3]);
}

/**
 * GroupNorm with given statistics: (x − mean_g)/√(M2_g/count_g + eps)·w[c] + b[c] (+ SiLU), in f64.
 * x: [C, h, W], stats: [G, 3] from groupNormMerge, w/b: [C] → [C, h, W].
 * Errors (assert): G ∤ C, w/b not [C].
 */
export function groupNormApply(x: CpuTensor, stats: CpuTensor, w: CpuTensor, b: CpuTensor, eps: number, silu: boolean): CpuTensor {
  assert(x.shape.length === 3, () => `groupNormApply: x must be [C, H, W], got ${fmtShape(x.shape)}`);
  assert(stats.shape.length === 2 && stats.shape[1] === 3, () => `groupNormApply: stats ${fmtShape(stats.shape)} ≠ [G, 3]`);
  const [c, h, wd] = x.shape as [number, number, number];
  const groups = stats.shape[0] as number;
  assert(c % groups === 0, () => `groupNormApply: ${c} channels not divisible into ${groups} groups`);
  assert(w.data.length === c && b.data.length === c, () => `groupNormApply: w ${fmtShape(w.shape)}, b ${fmtShape(b.shape)} ≠ [${c}]`);
  const hw = h * wd;
  const cpg = c / groups;
  const y = new Float32Array(x.data.length);
  for (let ch = 0; ch < c; ch++) {
    const q = 3 * Math.floor(ch / cpg);
    const mean = stats.data[q + 1] as number;
    const rstd = 1 / Math.sqrt((stats.data[q + 2] as number) / (stats.data[q] as number) + eps);
    const wc = w.data[ch] as number;
    const bc = b.data[ch] as number;
    for (let i = ch * hw; i < (ch + 1) * hw; i++) {
      let v = ((x.data[i] as number) - mean) * rstd * wc + bc;
      if (silu) v = v / (1 + Math.exp(-v));
      y[i] = v;
    }
  }
  return cpuTensor(y, x.shape);
}
