import matmulCode from '@shaders/matmul.wgsl?raw';
import matvecCode from '@shaders/matvec.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import type { LinearOptions } from '../ops';
import { assert, fmtShape, numel } from '../../util/assert';
import type { DType } from '../../util/dtype';

const MATMUL = { file: 'matmul.wgsl', code: matmulCode };
const MATVEC = { file: 'matvec.wgsl', code: matvecCode };

/** The `DTYPE`/`BIAS_DTYPE` override codes of matmul.wgsl and matvec.wgsl. */
const DTYPE_CODE: Readonly<Record<DType, number>> = { f32: 0, f16: 1, bf16: 2 };

/** Largest M served by matvec.wgsl (its ROWS override; one pipeline per M). */
const MATVEC_MAX_ROWS = 8;
/** matmul.wgsl output tile edge; matvec.wgsl outputs per workgroup. */
const TILE = 64;
const MATVEC_OUTPUTS_PER_GROUP = 8;

/**
 * y = x·Wᵀ (+ bias), nn.Linear semantics (torch.nn.functional.linear). x: [M, K] f32, w: [N, K] in
 * f32/f16/bf16 (read in its storage dtype, f32 accumulation), bias: [N] in any dtype
 * → y: [M, N] f32, or [M, count] using only weight rows and bias entries [start, start+count) when
 * `opts.rows = [start, count]`. M ≤ 8 runs the weight-streaming matvec.wgsl, larger M the 64×64-tiled
 * matmul.wgsl. Errors: assertion failures (with the numbers) for mismatched shapes, a bias of the
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
  const y = ctx.alloc([M, N], 'linear');
  const constants: Record<string, number> = {
    DTYPE: DTYPE_CODE[w.dtype],
    BIAS_DTYPE: DTYPE_CODE[bias?.dtype ?? 'f32'],
    HAS_BIAS: bias ? 1 : 0,
  };
  // Without a bias, w stands in for the (unread) bias binding: both are read-only, so aliasing is valid.
  const bindings = [x, w, bias ?? w, y];
  const params = [M, N, K, row0];
  if (M <= MATVEC_MAX_ROWS) {
    constants.ROWS = M;
    ctx.dispatch({ shader: MATVEC, constants, bindings, params, workgroups: grid1d(N, MATVEC_OUTPUTS_PER_GROUP) });
  } else {
    ctx.dispatch({ shader: MATMUL, constants, bindings, params, workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)] });
  }
  return y;
}
