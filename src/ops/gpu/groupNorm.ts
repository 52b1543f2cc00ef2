import statsCode from '../../../shaders/group_norm_stats.wgsl?raw';
import mergeCode from '../../../shaders/group_norm_merge.wgsl?raw';
import code from '../../../shaders/group_norm.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import { dtypeCode } from './dtypeCode';
import { withSubgroups } from '../../gpu/shaderVariants';

const STATS = withSubgroups('group_norm_stats.wgsl', statsCode);
const MERGE = { file: 'group_norm_merge.wgsl', code: mergeCode };
const APPLY = { file: 'group_norm.wgsl', code };
const MAX_GROUPS_PER_DIM = 65535;

/**
 * GroupNorm with affine and optional fused SiLU (torch.nn.GroupNorm: biased variance, then
 * x̂·w[c] + b[c]; diffusers VAE: 32 groups, eps 1e-6, SiLU after most norms).
 * x: [C, H, W] f32, w/b: [C] in f32/f16/bf16 → [C, H, W] f32.
 *
 * Three dispatches: groupNormStats over all rows, groupNormMerge, groupNormApply — the same kernels
 * the banded VAE runs band by band, so both give the same bits. Statistics are f32 and numerically
 * sound at any size (per-row shifted sums and Chan merges).
 * Errors (assert): non-f32 x, C not divisible by `groups`, w/b not [C], eps ≤ 0.
 */
export function groupNorm(ctx: GpuContext, x: GpuTensor, w: GpuTensor, b: GpuTensor, groups: number, eps: number, silu: boolean): GpuTensor {
  const [, h] = imageShape(x, 'groupNorm');
  const partials = ctx.alloc([groups, h, 3], 'groupNorm.partials');
  groupNormStats(ctx, x, groups, partials, 0);
  const stats = groupNormMerge(ctx, partials);
  ctx.release(partials);
  const y = groupNormApply(ctx, x, stats, w, b, eps, silu);
  ctx.release(stats);
  return y;
}

/**
 * In place: the partial statistics (count, mean, M2) of each (group, row) of x's rows
 * [xRows[0], xRows[0] + xRows[1]) (default: all) into partials: [G, H, 3] at image rows
 * [row, row + count). x: [C, h, W] f32 with C divisible by G. Returns partials.
 * One partial per group and image row, whatever band the row arrives in (group_norm_stats.wgsl).
 * Errors (assert): non-f32 x or partials, G ∤ C, rows outside x or outside partials.
 */
export function groupNormStats(
  ctx: GpuContext,
  x: GpuTensor,
  groups: number,
  partials: GpuTensor,
  row: number,
  xRows?: readonly [start: number, count: number],
): GpuTensor {
  const [c, h, wd] = imageShape(x, 'groupNormStats');
  const [xRow, rows] = xRows ?? [0, h];
  assert(Number.isInteger(groups) && groups > 0 && groups <= MAX_GROUPS_PER_DIM && c % groups === 0, () => `groupNormStats: ${c} channels not divisible into ${groups} groups`);
  assert(partials.dtype === 'f32' && partials.shape.length === 3 && partials.shape[0] === groups && partials.shape[2] === 3,
    () => `groupNormStats: partials ${partials.dtype}${fmtShape(partials.shape)} ≠ f32[${groups}, H, 3]`);
  const imgH = partials.shape[1] as number;
  assert(Number.isInteger(xRow) && Number.isInteger(rows) && xRow >= 0 && rows >= 0 && xRow + rows <= h, () => `groupNormStats: rows [${xRow}, ${xRow + rows}) outside x${fmtShape(x.shape)}`);
  assert(Number.isInteger(row) && row >= 0 && row + rows <= imgH, () => `groupNormStats: image rows [${row}, ${row + rows}) outside partials${fmtShape(partials.shape)}`);
  assert(rows <= MAX_GROUPS_PER_DIM, () => `groupNormStats: ${rows} rows > ${MAX_GROUPS_PER_DIM}`);
  ctx.dispatch({
    shader: STATS,
    bindings: [x, partials],
    params: [c / groups, h, wd, xRow, imgH, row],
    workgroups: [rows, groups],
  });
  return partials;
}

/**
 * Per-row partials [G, H, 3] → statistics [G, 3] (count, mean, M2) per group, merged in an order
 * that depends only on H (group_norm_merge.wgsl). Errors (assert): partials not f32 [G, H, 3].
 */
export function groupNormMerge(ctx: GpuContext, partials: GpuTensor): GpuTensor {
  assert(partials.dtype === 'f32' && partials.shape.length === 3 && partials.shape[2] === 3, () => `groupNormMerge: partials ${partials.dtype}${fmtShape(partials.shape)} ≠ f32[G, H, 3]`);
  const [groups, h] = partials.shape as [number, number];
  assert(groups <= MAX_GROUPS_PER_DIM, () => `groupNormMerge: ${groups} groups > ${MAX_GROUPS_PER_DIM}`);
  const stats = ctx.alloc([groups, 3], 'groupNorm.stats');
  ctx.dispatch({ shader: MERGE, bindings: [partials, stats], params: [h], workgroups: [groups] });
  return stats;
}

/**
 * GroupNorm with given statistics: y = (x − mean_g)/√(M2_g/count_g + eps)·w[c] + b[c] (+ SiLU).
 * x: [C, h, W] f32 (any band of the image the statistics were taken over), stats: [G, 3] f32 from
 * groupNormMerge, w/b: [C] in f32/f16/bf16 → [C, h, W] f32.
 * Errors (assert): non-f32 x, G ∤ C, w/b not [C], eps ≤ 0.
 */
export function groupNormApply(ctx: GpuContext, x: GpuTensor, stats: GpuTensor, w: GpuTensor, b: GpuTensor, eps: number, silu: boolean): GpuTensor {
  const [c, h, wd] = imageShape(x, 'groupNormApply');
  assert(stats.dtype === 'f32' && stats.shape.length === 2 && stats.shape[1] === 3, () => `groupNormApply: stats ${stats.dtype}${fmtShape(stats.shape)} ≠ f32[G, 3]`);
  const groups = stats.shape[0] as number;
  assert(c % groups === 0, () => `groupNormApply: ${c} channels not divisible into ${groups} groups`);
  assert(w.shape.length === 1 && w.shape[0] === c, () => `groupNormApply: w ${fmtShape(w.shape)} ≠ [${c}]`);
  assert(b.shape.length === 1 && b.shape[0] === c, () => `groupNormApply: b ${fmtShape(b.shape)} ≠ [${c}]`);
  assert(eps > 0, () => `groupNormApply: eps ${eps} must be > 0`);
  const total = c * h * wd;
  const y = ctx.alloc([c, h, wd], 'groupNorm');
  ctx.dispatch({
    shader: APPLY,
    constants: { W_DTYPE: dtypeCode(w, 'groupNorm weight'), B_DTYPE: dtypeCode(b, 'groupNorm bias'), SILU: silu ? 1 : 0 },
    bindings: [x, stats, w, b, y],
    params: [total, h * wd, c / groups, { f32: eps }],
    workgroups: grid1d(total, 256),
  });
  return y;
}

function imageShape(x: GpuTensor, what: string): [number, number, number] {
  assert(x.dtype === 'f32' && x.shape.length === 3, () => `${what}: x must be f32 [C, H, W], got ${x.dtype}${fmtShape(x.shape)}`);
  return x.shape as [number, number, number];
}
