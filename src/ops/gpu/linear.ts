import matmulCode from '../../../shaders/matmul.wgsl?raw';
import matvecCode from '../../../shaders/matvec.wgsl?raw';
import matmulQCode from '../../../shaders/matmul_q.wgsl?raw';
import matvecQCode from '../../../shaders/matvec_q.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import type { LinearOptions } from '../ops';
import { assert, fmtShape, numel } from '../../util/assert';
import type { DType } from '../../util/dtype';
import { type QuantLayoutFormat, type WeightFormat, isQuantLayoutFormat, quantLayout } from '../../util/quant';
import { dtypeCode } from './dtypeCode';
import { withSubgroups } from '../../gpu/shaderVariants';

const MATMUL = { file: 'matmul.wgsl', code: matmulCode };
const MATVEC = withSubgroups('matvec.wgsl', matvecCode);
const MATMUL_Q = { file: 'matmul_q.wgsl', code: matmulQCode };
const MATVEC_Q = withSubgroups('matvec_q.wgsl', matvecQCode);

/** The `QFORMAT` override codes of matmul_q.wgsl and matvec_q.wgsl. */
const QFORMAT_CODE: Readonly<Record<QuantLayoutFormat, number>> = { q8: 0, q4: 1, q8m: 2 };

/** Largest M served by matvec.wgsl (its ROWS override; one pipeline per M). */
const MATVEC_MAX_ROWS = 8;
/** matmul.wgsl output tile edge; matvec.wgsl outputs per workgroup. */
const TILE = 64;
const MATVEC_OUTPUTS_PER_GROUP = 8;

/**
 * y = x·Wᵀ (+ bias), nn.Linear semantics (torch.nn.functional.linear). x: [M, K] f32, w: [N, K] in
 * f32/f16/bf16/q8/q4/q8m (read in its storage dtype, f32 accumulation), bias: [N] in any dtype
 * → y: [M, N] f32, or [M, count] using only weight rows and bias entries [start, start+count) when
 * `opts.rows = [start, count]`. M ≤ 8 runs the weight-streaming matvec.wgsl, larger M the 64×64-tiled
 * matmul.wgsl; a quantized weight (see `uploadQuantized`) runs matvec_q.wgsl / matmul_q.wgsl, which
 * dequantize in registers. Errors: assertion failures (with the numbers) for mismatched shapes, a bias of the
 * wrong length, a row range outside w, or empty M/K.
 */
export function linear(ctx: GpuContext, x: GpuTensor, w: GpuTensor, opts: LinearOptions<GpuTensor> = {}): GpuTensor {
  assert(x.shape.length === 2 && x.dtype === 'f32', () => `linear: x must be [M, K] f32, got ${x.dtype}${fmtShape(x.shape)}`);
  assert(w.shape.length === 2, () => `linear: w must be [N, K], got ${fmtShape(w.shape)}`);
  const [M, K] = x.shape as [number, number];
  const [rowsTotal, Kw] = w.shape as [number, number];
  assert(K === Kw, () => `linear: x ${fmtShape(x.shape)} and w ${fmtShape(w.shape)} disagree on K (${K} vs ${Kw})`);
  assert(M >= 1 && K >= 1, () => `linear: empty input ${fmtShape(x.shape)}`);
  const [row0, N] = opts.rows ?? [0, rowsTotal];
  assert(
    Number.isInteger(row0) && Number.isInteger(N) && row0 >= 0 && N >= 1 && row0 + N <= rowsTotal,
    () => `linear: rows [${row0}, +${N}) outside w ${fmtShape(w.shape)}`,
  );
  const bias = opts.bias ?? null;
  if (bias) {
    assert(numel(bias.shape) === rowsTotal, () => `linear: bias ${fmtShape(bias.shape)} for ${rowsTotal} weight rows`);
  }
  const format = w.dtype;
  const y = ctx.alloc([M, N], 'linear');
  const constants: Record<string, number> = {
    BIAS_DTYPE: dtypeCode(bias, 'linear bias'),
    HAS_BIAS: bias ? 1 : 0,
  };
  // Without a bias, w stands in for the (unread) bias binding: both are read-only, so aliasing is valid.
  const bindings = [x, w, bias ?? w, y];
  const params = [M, N, K, row0];
  if (isQuantLayoutFormat(format)) {
    const L = quantLayout(format, rowsTotal, K, w.group);
    assert(w.buffer.size >= L.byteLength, () => `linear: ${format} G=${L.groupSize} weight ${w.label} has ${w.buffer.size} bytes, layout needs ${L.byteLength}`);
    constants.QFORMAT = QFORMAT_CODE[format];
    constants.GROUP = L.groupSize;
    params.push(L.codeWordsPerRow, L.groups, L.scaleOffset / 4, Math.max(0, L.minOffset) / 4);
  } else {
    constants.DTYPE = dtypeCode(w, 'linear weight');
  }
  const quant = isQuantLayoutFormat(format);
  // traffic: x and y once, and only the weight (and bias) rows used
  const used = N / rowsTotal;
  const cost = { flops: 2 * M * N * K, bytes: x.buffer.size + y.buffer.size + Math.ceil(used * (w.buffer.size + (bias?.buffer.size ?? 0))) };
  if (M <= MATVEC_MAX_ROWS) {
    constants.ROWS = M;
    ctx.dispatch({ shader: quant ? MATVEC_Q : MATVEC, constants, bindings, params, workgroups: grid1d(N, MATVEC_OUTPUTS_PER_GROUP), ...cost });
  } else {
    ctx.dispatch({ shader: quant ? MATMUL_Q : MATMUL, constants, bindings, params, workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)], ...cost });
  }
  return y;
}

/**
 * A persistent weight holding quant.ts `bytes` (the exact `quantize` layout) for a logical [N, K]
 * weight in `format` with `group` weights per scale (default QUANT_GROUP; GGUF repacks use 32);
 * only `linear` reads it. The buffer is uploaded as plain words; the tensor's `dtype` is the quant
 * format and its `group` the group size (the kernels' GROUP override). Errors: assertion failures
 * for a shape that is not 2-D, a group that is not a multiple of 8, a byte count off the layout.
 */
export function uploadQuantized(ctx: GpuContext, bytes: Uint8Array, format: QuantLayoutFormat, shape: readonly number[], label: string, group?: number): GpuTensor {
  assert(shape.length === 2, () => `${label}: a ${format} weight must be [N, K], got ${fmtShape(shape)}`);
  const L = quantLayout(format, shape[0] as number, shape[1] as number, group);
  assert(bytes.byteLength === L.byteLength, () => `${label}: ${bytes.byteLength} bytes for ${format}${fmtShape(shape)} G=${L.groupSize}, want ${L.byteLength}`);
  const raw = ctx.upload(bytes, [L.byteLength / 4], 'f32', label, true);
  return { ...raw, shape: [...shape], dtype: format, group: L.groupSize };
}

