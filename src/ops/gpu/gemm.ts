import gemmCode from '../../../shaders/gemm.wgsl?raw';
import statsCode from '../../../shaders/row_stats.wgsl?raw';
import { withSubgroups } from '../../gpu/shaderVariants';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape, numel } from '../../util/assert';
import { isQuantLayoutFormat, quantLayout } from '../../util/quant';
import type { WeightFormat } from '../../util/dtype';
import type { GemmOptions } from '../gemmOptions';
import { dtypeCode } from './dtypeCode';

const GEMM = { file: 'gemm.wgsl', code: gemmCode };
const STATS = withSubgroups('row_stats.wgsl', statsCode);
const TILE = 64;
/** gemm.wgsl W_FORMAT codes. */
const W_FORMAT: Readonly<Record<WeightFormat, number>> = { f32: 0, f16: 1, bf16: 2, q8: 3, q4: 4, q8m: 5 };
/** Weights per 32-bit storage word (gemm.wgsl stages Ŵ a word at a time). */
const KPW: Readonly<Record<WeightFormat, number>> = { f32: 1, f16: 2, bf16: 2, q8: 4, q4: 8, q8m: 4 };

/**
 * LayerNorm statistics per row for a GEMM prologue (row_stats.wgsl): x: [S, D] f32 → [S, 3] f32 of
 * (m, c, rstd) with mean = m + c, rstd = 1/√(var + eps) (biased variance, corrected two-pass).
 */
export function rowStats(ctx: GpuContext, x: GpuTensor, eps: number): GpuTensor {
  assert(x.shape.length === 2 && x.dtype === 'f32', () => `rowStats: x must be [S, D] f32, got ${x.dtype}${fmtShape(x.shape)}`);
  const [s, d] = x.shape as [number, number];
  const out = ctx.alloc([s, 3], 'rowStats');
  ctx.dispatch({ shader: STATS, bindings: [x, out], params: [s, d, { f32: eps }], workgroups: grid1d(s, 1), bytes: x.buffer.size + out.buffer.size });
  return out;
}

/**
 * The fused linear layer (gemm.wgsl; options in ../gemmOptions.ts): x: [R, K1] f32 or f16 (rows xRows
 * of it used, M of them), x2: [M, K − K1] of the same dtype, w: [rows, K] in f32/f16/bf16/q8/q4/q8m →
 * y: [M, N] f32 (or f16 with `f16`), or written/added into a row and column window of `into.t`. f32 accumulation; the
 * LayerNorm prologue, SwiGLU and gated-residual epilogues in f32, the LoRA term u·bᵀ (f32) added to
 * the product. Errors (assert): shapes that
 * disagree, ranges outside their tensors, `norm` with x2, `residual` without an f32 `into`, an f16
 * output with odd N, M ≤ 0.
 */
export function gemm(ctx: GpuContext, x: GpuTensor, w: GpuTensor, opts: GemmOptions<GpuTensor> = {}): GpuTensor {
  assert(x.shape.length === 2 && (x.dtype === 'f32' || x.dtype === 'f16'), () => `gemm: x must be [R, K] f32/f16, got ${x.dtype}${fmtShape(x.shape)}`);
  assert(w.shape.length === 2, () => `gemm: w must be [N, K], got ${fmtShape(w.shape)}`);
  const [xRowsTotal, K1] = x.shape as [number, number];
  const [xRow0, M] = opts.xRows ?? [0, xRowsTotal];
  assert(M >= 1 && xRow0 >= 0 && xRow0 + M <= xRowsTotal, () => `gemm: x rows [${xRow0}, +${M}) outside ${fmtShape(x.shape)}`);
  const x2 = opts.x2 ?? null;
  let K = K1;
  if (x2) {
    assert(x2.dtype === x.dtype && x2.shape.length === 2 && x2.shape[0] === M, () => `gemm: x2 ${x2.dtype}${fmtShape(x2.shape)} must be [${M}, K2] ${x.dtype}`);
    K += x2.shape[1] as number;
  }
  const [wRows, Kw] = w.shape as [number, number];
  assert(K === Kw, () => `gemm: inputs have K = ${K}, w ${fmtShape(w.shape)}`);
  const [row0, N] = opts.rows ?? [0, wRows];
  assert(N >= 1 && row0 >= 0 && row0 + N <= wRows, () => `gemm: rows [${row0}, +${N}) outside w ${fmtShape(w.shape)}`);
  const row1 = opts.swiglu?.valueRow0 ?? 0;
  assert(!opts.swiglu || row1 + N <= wRows, () => `gemm: SwiGLU value rows [${row1}, +${N}) outside w ${fmtShape(w.shape)}`);
  const bias = opts.bias ?? null;
  if (bias) assert(numel(bias.shape) === wRows, () => `gemm: bias ${fmtShape(bias.shape)} for ${wRows} weight rows`);
  const norm = opts.norm ?? null;
  if (norm) {
    assert(!x2, 'gemm: the LayerNorm prologue needs a single input');
    assert(norm.stats.shape[0] === xRowsTotal && norm.stats.shape[1] === 3, () => `gemm: stats ${fmtShape(norm.stats.shape)} for x ${fmtShape(x.shape)}`);
    assert(x.dtype === 'f32', 'gemm: the LayerNorm prologue reads an f32 x (a residual stream)');
    const chunks = numel(norm.mod.shape) / K;
    for (const c of [norm.shiftChunk, norm.scaleChunk]) assert(Number.isInteger(c) && c >= 0 && c < chunks, () => `gemm: mod chunk ${c} outside ${chunks} chunks of ${K}`);
  }
  const lora = opts.lora ?? null;
  const R = lora ? (lora.u.shape[1] as number) : 0;
  if (lora) {
    assert(lora.u.dtype === 'f32' && lora.b.dtype === 'f32' && lora.u.shape.length === 2 && lora.b.shape.length === 2, 'gemm: the LoRA u and b are 2-D f32');
    assert(lora.u.shape[0] === M && lora.b.shape[0] === wRows && lora.b.shape[1] === R && R >= 1,
      () => `gemm: LoRA u ${fmtShape(lora.u.shape)}, b ${fmtShape(lora.b.shape)} for M = ${M} and w ${fmtShape(w.shape)}`);
  }
  const residual = opts.residual ?? null;
  const gate = residual?.gate ?? null;
  if (gate) assert(numel(gate.mod.shape) >= (gate.chunk + 1) * N, () => `gemm: gate chunk ${gate.chunk} of ${N} outside mod ${fmtShape(gate.mod.shape)}`);
  let y: GpuTensor;
  let yRow0 = 0;
  let yCol0 = 0;
  let yStride = N;
  if (opts.into) {
    y = opts.into.t;
    yRow0 = opts.into.row0;
    yCol0 = opts.into.col0 ?? 0;
    yStride = y.shape[1] as number;
    assert(y.shape.length === 2 && yCol0 >= 0 && yCol0 + N <= yStride && yRow0 >= 0 && yRow0 + M <= (y.shape[0] as number),
      () => `gemm: into rows [${yRow0}, +${M}), columns [${yCol0}, +${N}) of ${fmtShape(y.shape)}`);
    assert(y.dtype === (opts.f16 ? 'f16' : 'f32'), () => `gemm: into ${y.label} is ${y.dtype}, the output is ${opts.f16 ? 'f16' : 'f32'}`);
  } else {
    assert(!residual, 'gemm: a residual epilogue adds into an existing tensor (into)');
    y = ctx.alloc([M, N], 'gemm', opts.f16 ? 'f16' : 'f32');
  }
  assert(!residual || y.dtype === 'f32', 'gemm: a residual stream stays f32');
  assert(!opts.f16 || (N % 2 === 0 && yStride % 2 === 0 && yCol0 % 2 === 0), () => `gemm: an f16 output needs even N, row width and column, got ${N}, ${yStride}, ${yCol0}`);

  const format = w.dtype;
  const constants: Record<string, number> = {
    W_FORMAT: W_FORMAT[format],
    BIAS_DTYPE: dtypeCode(bias, 'gemm bias'),
    HAS_BIAS: bias ? 1 : 0,
    X_F16: x.dtype === 'f16' ? 1 : 0,
    Y_F16: opts.f16 ? 1 : 0,
    PROLOGUE: norm ? 1 : 0,
    EPILOGUE: residual ? 2 : opts.swiglu ? 1 : 0,
    GATE: gate ? 1 : 0,
    KPW: KPW[format] === 2 && K % 2 === 1 ? 1 : KPW[format], // odd K: 16-bit rows are not word-aligned
    XPW: x.dtype === 'f16' && K % 2 === 0 && K1 % 2 === 0 ? 2 : 1, // f16 activations a word (two) at a time when rows start on words
    LORA: lora ? 1 : 0,
  };
  const q = { wordsPerRow: 0, groups: 0, scaleWord: 0, minWord: 0 };
  if (isQuantLayoutFormat(format)) {
    const L = quantLayout(format, wRows, K, w.group);
    assert(w.buffer.size >= L.byteLength, () => `gemm: ${format} weight ${w.label} has ${w.buffer.size} bytes, layout needs ${L.byteLength}`);
    constants.GROUP = L.groupSize;
    Object.assign(q, { wordsPerRow: L.codeWordsPerRow, groups: L.groups, scaleWord: L.scaleOffset / 4, minWord: Math.max(0, L.minOffset) / 4 });
  }
  const mod = norm?.mod ?? gate?.mod ?? null;
  const d = norm?.mod ?? null;
  const params = [
    M, N, K, K1,
    row0, row1, xRow0, yRow0,
    q.wordsPerRow, q.groups, q.scaleWord, q.minWord,
    norm ? norm.shiftChunk * K : 0, norm ? norm.scaleChunk * K : 0, gate ? gate.chunk * N : 0, yStride,
    yCol0, R,
  ];
  assert(!(norm && gate) || d === gate.mod, 'gemm: the prologue and the gate must read the same mod tensor');
  // unused bindings alias read-only inputs (never y); the stats share x2's slot (a prologue takes no x2)
  const bindings = [x, x2 ?? norm?.stats ?? x, w, bias ?? w, lora?.u ?? x, mod ?? x, y, lora?.b ?? x];
  // traffic: x rows and x2 once, the weight rows used (twice with SwiGLU), y written (read too when added)
  const used = (N * (opts.swiglu ? 2 : 1)) / wRows;
  const elem = x.dtype === 'f16' ? 2 : 4;
  const yBytes = M * N * (opts.f16 ? 2 : 4) * (residual ? 2 : 1);
  const loraBytes = lora ? 4 * R * (M + N * (opts.swiglu ? 2 : 1)) : 0; // u read, the b rows used
  const bytes = M * K * elem + Math.ceil(used * (w.buffer.size + (bias?.buffer.size ?? 0))) + yBytes + loraBytes;
  ctx.dispatch({
    shader: GEMM,
    constants,
    bindings,
    params,
    workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)],
    flops: 2 * M * N * (K + R) * (opts.swiglu ? 2 : 1),
    bytes,
  });
  return y;
}
