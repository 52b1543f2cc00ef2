import statsCode from '@shaders/group_norm_stats.wgsl?raw';
import code from '@shaders/group_norm.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import { dtypeCode } from './dtypeCode';

const STATS = { file: 'group_norm_stats.wgsl', code: statsCode };
const APPLY = { file: 'group_norm.wgsl', code };
const CHUNK = 4096; // items per stats workgroup: 256 threads × ITEMS in group_norm_stats.wgsl
const MAX_GROUPS_PER_DIM = 65535;

/**
 * GroupNorm with affine and optional fused SiLU (torch.nn.GroupNorm: biased variance, then
 * x̂·w[c] + b[c]; diffusers VAE: 32 groups, eps 1e-6, SiLU after most norms).
 * x: [C, H, W] f32, w/b: [C] in f32/f16/bf16 → [C, H, W] f32.
 *
 * Statistics are f32 and numerically sound at any size: group_norm_stats reduces each 4096-value
 * chunk to (count, mean, M2), then merges those partials with Chan's formula, level after level,
 * until one remains per group; group_norm then normalises elementwise.
 * Errors (assert): non-f32 x, C not divisible by `groups`, w/b not [C], eps ≤ 0.
 */
export function groupNorm(
  ctx: GpuContext,
  x: GpuTensor,
  w: GpuTensor,
  b: GpuTensor,
  groups: number,
  eps: number,
  silu: boolean,
): GpuTensor {
  assert(x.dtype === 'f32' && x.shape.length === 3, () => `groupNorm: x must be f32 [C, H, W], got ${x.dtype}${fmtShape(x.shape)}`);
  const [c, h, wd] = x.shape as [number, number, number];
  assert(Number.isInteger(groups) && groups > 0 && c % groups === 0, () => `groupNorm: ${c} channels not divisible into ${groups} groups`);
  assert(w.shape.length === 1 && w.shape[0] === c, () => `groupNorm: w ${fmtShape(w.shape)} ≠ [${c}]`);
  assert(b.shape.length === 1 && b.shape[0] === c, () => `groupNorm: b ${fmtShape(b.shape)} ≠ [${c}]`);
  assert(eps > 0, () => `groupNorm: eps ${eps} must be > 0`);
  assert(groups <= MAX_GROUPS_PER_DIM, () => `groupNorm: ${groups} groups > ${MAX_GROUPS_PER_DIM}`);

  // Level 0 reduces raw values; later levels merge partials until one per group is left.
  let src = x;
  let n = (c / groups) * h * wd;
  const partials: GpuTensor[] = [];
  do {
    const chunks = Math.ceil(n / CHUNK);
    assert(chunks <= MAX_GROUPS_PER_DIM, () => `groupNorm: ${chunks} chunks per group > ${MAX_GROUPS_PER_DIM}`);
    const dst = ctx.alloc([groups, chunks, 3], 'groupNorm.stats');
    ctx.dispatch({
      shader: STATS,
      constants: { RAW: src === x ? 1 : 0 },
      bindings: [src, dst],
      params: [n, chunks],
      workgroups: [chunks, groups],
    });
    partials.push(dst);
    src = dst;
    n = chunks;
  } while (n > 1);

  const total = c * h * wd;
  const y = ctx.alloc([c, h, wd], 'groupNorm');
  ctx.dispatch({
    shader: APPLY,
    constants: { W_DTYPE: dtypeCode(w, 'groupNorm weight'), B_DTYPE: dtypeCode(b, 'groupNorm bias'), SILU: silu ? 1 : 0 },
    bindings: [x, src, w, b, y],
    params: [total, h * wd, c / groups, { f32: eps }],
    workgroups: grid1d(total, 256),
  });
  for (const t of partials) ctx.release(t);
  return y;
}
