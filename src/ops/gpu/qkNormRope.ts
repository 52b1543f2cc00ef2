import code from '../../../shaders/qk_norm_rope.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';
import type { QkNormRopeOptions } from '../qkNormRopeOptions';
import { dtypeCode } from './dtypeCode';

const SHADER = { file: 'qk_norm_rope.wgsl', code };

/**
 * Per-head RMSNorm then RoPE of the q and k windows of a joint buffer, in place (qk_norm_rope.wgsl):
 * x: [S, W] f32 or f16 (columns outside q and k untouched), table: [S, Dh/2, 2] f32 (cos, sin) (or
 * [P, Dh/2, 2] with `period` P: S/P sequences of the same layout),
 * weights [Dh] in f32/f16/bf16 → x. Equals rmsNorm(·, w, eps, Dh) then rope(·, table, heads, layout)
 * on each window. Errors (assert): windows outside the rows, a table or weights of the wrong shape,
 * odd widths or Dh.
 */
export function qkNormRope(ctx: GpuContext, x: GpuTensor, table: GpuTensor, o: QkNormRopeOptions<GpuTensor>): GpuTensor {
  assert(x.shape.length === 2 && (x.dtype === 'f32' || x.dtype === 'f16'), () => `qkNormRope: x must be [S, W] f32/f16, got ${x.dtype}${fmtShape(x.shape)}`);
  const [s, width] = x.shape as [number, number];
  const dh = o.headDim;
  assert(dh % 2 === 0 && width % 2 === 0 && o.qCol % 2 === 0 && o.kCol % 2 === 0, 'qkNormRope: Dh, the row width and the window columns must be even');
  assert(o.qCol + o.heads * dh <= width && o.kCol + o.kvHeads * dh <= width, () => `qkNormRope: q [${o.qCol}, +${o.heads * dh}) or k [${o.kCol}, +${o.kvHeads * dh}) outside rows of ${width}`);
  const period = o.period ?? s;
  assert(Number.isInteger(period) && period > 0 && s % period === 0, () => `qkNormRope: period ${period} does not divide ${s} rows`);
  assert(table.shape[0] === period && table.shape[1] === dh / 2 && table.shape[2] === 2, () => `qkNormRope: table ${fmtShape(table.shape)} for [${period}, ${dh / 2}, 2]`);
  const after = o.after ?? { split: s, normQ: o.normQ, normK: o.normK };
  for (const w of [o.normQ, o.normK, after.normQ, after.normK]) assert(w.shape.length === 1 && w.shape[0] === dh, () => `qkNormRope: weight ${w.label}${fmtShape(w.shape)} ≠ [${dh}]`);
  const wd = dtypeCode(o.normQ, 'qkNormRope weight');
  for (const w of [o.normK, after.normQ, after.normK]) assert(dtypeCode(w, 'qkNormRope weight') === wd, 'qkNormRope: all four weights must share a dtype');
  const n = s * (o.heads + o.kvHeads);
  const elem = x.dtype === 'f16' ? 2 : 4;
  ctx.dispatch({
    shader: SHADER,
    constants: { DH: dh, KH: o.kvHeads, INTERLEAVED: o.layout === 'interleaved' ? 1 : 0, F16: x.dtype === 'f16' ? 1 : 0, W_DTYPE: wd },
    bindings: [x, table, o.normQ, o.normK, after.normQ, after.normK],
    params: [s, width, o.qCol, o.kCol, o.heads, after.split, { f32: o.eps }, period],
    workgroups: grid1d(n, 64),
    bytes: 2 * n * dh * elem + table.buffer.size, // each window read and written once
  });
  return x;
}
