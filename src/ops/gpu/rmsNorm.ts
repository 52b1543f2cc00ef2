import code from '../../../shaders/rms_norm.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape, numel } from '../../util/assert';
import { dtypeCode } from './dtypeCode';
import { withSubgroups } from '../../gpu/shaderVariants';

const SHADER = withSubgroups('rms_norm.wgsl', code);

/**
 * RMSNorm over groups of `cols` consecutive values (default: the last dim), weight of any dtype:
 * y = w ⊙ x / sqrt(mean(x²) + eps), statistics in f32 (transformers Qwen3RMSNorm). x: [R, C] read
 * as [R·C/cols, cols], w: [cols] f32 | f16 | bf16 → [R, C] f32. Per-head q/k norm: x [S, H·Dh], cols Dh.
 */
export function rmsNorm(ctx: GpuContext, x: GpuTensor, w: GpuTensor, eps: number, cols?: number): GpuTensor {
  const n = numel(x.shape);
  const c = cols ?? (x.shape[x.shape.length - 1] as number);
  assert(x.dtype === 'f32', () => `rmsNorm: x ${x.label} is ${x.dtype}, need f32`);
  assert(Number.isInteger(c) && c > 0 && n % c === 0, () => `rmsNorm: ${n} values of x${fmtShape(x.shape)} do not split into groups of ${c}`);
  assert(numel(w.shape) === c, () => `rmsNorm: weight ${w.label}${fmtShape(w.shape)} for groups of ${c}`);
  const rows = n / c;
  // Threads per row: about 4 values each, a power of two in [1, 256] (Dh 128 → 32 threads, 8 rows per workgroup).
  const tpr = Math.min(256, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(c / 4)))));
  const y = ctx.alloc(x.shape, 'rmsNorm');
  ctx.dispatch({
    shader: SHADER,
    constants: { TPR: tpr, WDTYPE: dtypeCode(w, 'rmsNorm weight') },
    bindings: [x, w, y],
    params: [rows, c, { f32: eps }],
    workgroups: grid1d(rows, 256 / tpr),
  });
  return y;
}
