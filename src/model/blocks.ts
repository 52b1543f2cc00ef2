/**
 * FLUX.2 double- and single-stream blocks (diffusers Flux2TransformerBlock,
 * Flux2SingleTransformerBlock). Modulation chunks: double = (shift1, scale1, gate1, shift2,
 * scale2, gate2), single = (shift, scale, gate); mod(x) = (1 + scale)·LN(x) + shift.
 * docs/flux2-klein.md §4.6–4.7. Written with the fused ops (Ops.gemm, rowStats, qkNormRope,
 * attention over windows), so no activation makes an extra round trip through memory.
 */
import type { Ops } from '../ops/ops';
import type { QkNormRopeOptions } from '../ops/qkNormRopeOptions';
import type { WeightGetter } from '../weights/weightGetter';
import { type Flux2TransformerConfig, hiddenSize, mlpHidden } from './config';

export interface AttnProj<T> {
  to_q: T;
  to_k: T;
  to_v: T;
  norm_q: T;
  norm_k: T;
}

/** SwiGLU feed-forward: linear_in [2M, D] (rows: gate then value), linear_out [D, M]. */
export interface FeedForward<T> {
  linear_in: T;
  linear_out: T;
}

export interface DoubleBlockWeights<T> {
  attn: AttnProj<T> & {
    to_out: T;
    add_q_proj: T;
    add_k_proj: T;
    add_v_proj: T;
    norm_added_q: T;
    norm_added_k: T;
    to_add_out: T;
  };
  ff: FeedForward<T>;
  ff_context: FeedForward<T>;
}

export interface SingleBlockWeights<T> {
  /** to_qkv_mlp_proj [3D + 2M, D]: rows q | k | v | gate | value. */
  to_qkv_mlp_proj: T;
  /** to_out [D, D + M]: columns attention | mlp. */
  to_out: T;
  norm_q: T;
  norm_k: T;
}

export interface BlockGeometry {
  d: number;
  heads: number;
  headDim: number;
  mlp: number;
  eps: number;
  /** Store GEMM and attention outputs (q|k|v, attention, SwiGLU hidden) as f16; residual streams stay f32. */
  f16: boolean;
  /** The largest q|k|v buffer before qkvLayout splits it; default QKV_BINDING_BYTES. */
  qkvBindingBytes?: number;
  /**
   * Sequences B run as one batch (default 1; 2: the CFG branches): each stream holds B sequences of
   * the same length one after another, sharing the weights, modulations and RoPE table; attention
   * never crosses sequences.
   */
  batch?: number;
}

export async function loadDoubleBlock<T>(w: WeightGetter<T>, cfg: Flux2TransformerConfig, p: string): Promise<DoubleBlockWeights<T>> {
  const d = hiddenSize(cfg);
  const m = mlpHidden(cfg);
  const dh = cfg.attention_head_dim;
  const lin = (name: string, out: number, inp: number) => w.get(`${p}.${name}.weight`, [out, inp]);
  return {
    attn: {
      to_q: await lin('attn.to_q', d, d),
      to_k: await lin('attn.to_k', d, d),
      to_v: await lin('attn.to_v', d, d),
      norm_q: await w.get(`${p}.attn.norm_q.weight`, [dh]),
      norm_k: await w.get(`${p}.attn.norm_k.weight`, [dh]),
      to_out: await lin('attn.to_out.0', d, d),
      add_q_proj: await lin('attn.add_q_proj', d, d),
      add_k_proj: await lin('attn.add_k_proj', d, d),
      add_v_proj: await lin('attn.add_v_proj', d, d),
      norm_added_q: await w.get(`${p}.attn.norm_added_q.weight`, [dh]),
      norm_added_k: await w.get(`${p}.attn.norm_added_k.weight`, [dh]),
      to_add_out: await lin('attn.to_add_out', d, d),
    },
    ff: { linear_in: await lin('ff.linear_in', 2 * m, d), linear_out: await lin('ff.linear_out', d, m) },
    ff_context: { linear_in: await lin('ff_context.linear_in', 2 * m, d), linear_out: await lin('ff_context.linear_out', d, m) },
  };
}

export async function loadSingleBlock<T>(w: WeightGetter<T>, cfg: Flux2TransformerConfig, p: string): Promise<SingleBlockWeights<T>> {
  const d = hiddenSize(cfg);
  const m = mlpHidden(cfg);
  const dh = cfg.attention_head_dim;
  return {
    to_qkv_mlp_proj: await w.get(`${p}.attn.to_qkv_mlp_proj.weight`, [3 * d + 2 * m, d]),
    to_out: await w.get(`${p}.attn.to_out.weight`, [d, d + m]),
    norm_q: await w.get(`${p}.attn.norm_q.weight`, [dh]),
    norm_k: await w.get(`${p}.attn.norm_k.weight`, [dh]),
  };
}

/**
 * Rows of a SwiGLU hidden tensor [rows, M] kept under this many bytes at once: below WebGPU's default
 * 128 MiB storage binding, so large images run the MLP in token chunks (at 1024² in f16, one chunk).
 */
export const MLP_CHUNK_BYTES = 96 * 2 ** 20;

/** [start, count) token chunks of `rows` whose [count, m] hidden tensor stays under MLP_CHUNK_BYTES. */
export function mlpChunks(rows: number, m: number, f16: boolean): [number, number][] {
  const per = Math.max(64, Math.floor(MLP_CHUNK_BYTES / (m * (f16 ? 2 : 4)) / 64) * 64);
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += per) out.push([r, Math.min(per, rows - r)]);
  return out;
}

/**
 * SwiGLU feed-forward added to x in place: x += gate ⊙ (silu(x̂·W_gateᵀ) ⊙ (x̂·W_valueᵀ))·W_outᵀ,
 * x̂ = LN(x)·(1 + scale) + shift from mod chunks (3, 4), gate chunk 5; W_in rows [0, M) gate and
 * [M, 2M) value. Fused: the LayerNorm is the first GEMM's prologue, SwiGLU its epilogue, the gated
 * residual the second GEMM's epilogue; token chunks bound the hidden tensor. x: [S, D] f32.
 */
function feedForward<T>(ops: Ops<T>, w: FeedForward<T>, x: T, mod: T, g: BlockGeometry): void {
  const norm = { stats: ops.rowStats(x, g.eps), mod, shiftChunk: 3, scaleChunk: 4 };
  for (const [c0, count] of mlpChunks(ops.shape(x)[0] as number, g.mlp, g.f16)) {
    const h = ops.gemm(x, w.linear_in, { rows: [0, g.mlp], swiglu: { valueRow0: g.mlp }, norm, xRows: [c0, count], f16: g.f16 });
    ops.gemm(h, w.linear_out, { into: { t: x, row0: c0 }, residual: { gate: { mod, chunk: 5 } } });
    ops.release(h);
  }
}

/**
 * Bytes a q, k, v buffer may take when BlockGeometry.qkvBindingBytes is not given: WebGPU's default
 * maxStorageBufferBindingSize (128 MiB), which phones and Firefox keep. The transformer passes the
 * device's own limit (Ops.maxBindingBytes). Past it the joint [S, 3D] buffer is split (QkvLayout).
 */
export const QKV_BINDING_BYTES = 128 * 2 ** 20;

/** Where q, k and v of S tokens live: column windows of one to three buffers (see qkvLayout). */
export interface QkvLayout<T> {
  /** The buffers, each [S, parts·D], holding consecutive parts of q|k|v in that order. */
  buffers: { t: T; first: 0 | 1 | 2; parts: number }[];
  /** Buffer and first column of each of q, k, v. */
  at: [q: { t: T; col: number }, k: { t: T; col: number }, v: { t: T; col: number }];
}

/**
 * Allocates q|k|v for `rows` tokens: one joint [S, 3D] buffer (the attention reads windows of it),
 * else q|k [S, 2D] + v [S, D], else three [S, D] buffers — the first whose every buffer stays within
 * g.qkvBindingBytes (three buffers at the largest sizes, even if still over: the plan then reports it).
 */
export function qkvLayout<T>(ops: Ops<T>, rows: number, g: BlockGeometry): QkvLayout<T> {
  const rowBytes = g.d * (g.f16 ? 2 : 4);
  const max = g.qkvBindingBytes ?? QKV_BINDING_BYTES;
  const split: number[] = rows * 3 * rowBytes <= max ? [3] : rows * 2 * rowBytes <= max ? [2, 1] : [1, 1, 1];
  const buffers: QkvLayout<T>['buffers'] = [];
  const at: { t: T; col: number }[] = [];
  let first = 0;
  for (const parts of split) {
    const t = ops.empty([rows, parts * g.d], parts === 3 ? 'qkv' : 'qkv part', g.f16);
    buffers.push({ t, first: first as 0 | 1 | 2, parts });
    for (let i = 0; i < parts; i++) at.push({ t, col: i * g.d });
    first += parts;
  }
  return { buffers, at: at as QkvLayout<T>['at'] };
}

/**
 * Attention over q|k|v windows (RMSNorm + RoPE of q, k done in place first); releases the q|k|v buffers.
 * With a batch (g.batch = B), the rows are B sequences of rope's length, attended apart.
 */
function layoutAttention<T>(ops: Ops<T>, g: BlockGeometry, l: QkvLayout<T>, rope: T, norms: Pick<QkNormRopeOptions<T>, 'normQ' | 'normK' | 'after'>): T {
  const [q, k, v] = l.at;
  const b = g.batch ?? 1;
  const batched = b > 1 ? { period: ops.shape(rope)[0] as number } : {};
  const view = { headDim: g.headDim, layout: 'interleaved' as const, eps: g.eps, ...norms, ...batched };
  if (q.t === k.t) ops.qkNormRope(q.t, rope, { ...view, heads: g.heads, kvHeads: g.heads, qCol: q.col, kCol: k.col });
  else {
    ops.qkNormRope(q.t, rope, { ...view, heads: g.heads, kvHeads: 0, qCol: q.col, kCol: 0 });
    ops.qkNormRope(k.t, rope, { ...view, heads: 0, kvHeads: g.heads, qCol: 0, kCol: k.col });
  }
  const out = ops.attention(q.t, k.t, v.t, { heads: g.heads, kvHeads: g.heads, headDim: g.headDim, qCol: q.col, kCol: k.col, vCol: v.col, f16: g.f16, ...(b > 1 ? { batches: b } : {}) });
  for (const b of l.buffers) ops.release(b.t);
  return out;
}

/**
 * Double-stream block, in place. txt: [L, D], img: [N+R, D] (f32 residual streams), modImg/modTxt:
 * [1, 6D], rope: [L+N+R, Dh/2, 2] → (txt, img). Joint attention over [txt; img] (text first), no mask:
 * both streams' q, k, v are written (LayerNorm-modulated in the GEMM prologue) into the rows of one
 * [L+N+R, 3D] buffer (or its split: qkvLayout), normed and rotated in place, and attended as windows of it.
 * A batch of B (g.batch): txt [B·L, D], img [B·(N+R), D], sequence b's rows at b·L and b·(N+R); q|k|v
 * rows [txt_0; img_0; txt_1; img_1; …], so the projections into it and out of the attention run per
 * sequence, the MLPs over the whole streams.
 */
export function doubleBlock<T>(
  ops: Ops<T>,
  w: DoubleBlockWeights<T>,
  g: BlockGeometry,
  txt: T,
  img: T,
  modImg: T,
  modTxt: T,
  rope: T,
): [T, T] {
  return ops.tidy(() => {
    const a = w.attn;
    const batch = g.batch ?? 1;
    const textLen = (ops.shape(txt)[0] as number) / batch;
    const imgLen = (ops.shape(img)[0] as number) / batch;
    const seq = textLen + imgLen;
    const qkv = qkvLayout(ops, batch * seq, g);
    /** xRows of one sequence's `len` rows at `start` (none without a batch: the whole tensor). */
    const rowsOf = (start: number, len: number) => (batch === 1 ? {} : { xRows: [start, len] as const });
    const project = (x: T, mod: T, col0: number, len: number, ws: [T, T, T]) => {
      const norm = { stats: ops.rowStats(x, g.eps), mod, shiftChunk: 0, scaleChunk: 1 };
      for (let b = 0; b < batch; b++) {
        ws.forEach((wt, i) => ops.gemm(x, wt, { norm, ...rowsOf(b * len, len), into: { t: qkv.at[i]!.t, row0: b * seq + col0, col0: qkv.at[i]!.col }, f16: g.f16 }));
      }
    };
    project(txt, modTxt, 0, textLen, [a.add_q_proj, a.add_k_proj, a.add_v_proj]);
    project(img, modImg, textLen, imgLen, [a.to_q, a.to_k, a.to_v]);
    const attn = layoutAttention(ops, g, qkv, rope, { normQ: a.norm_added_q, normK: a.norm_added_k, after: { split: textLen, normQ: a.norm_q, normK: a.norm_k } });
    for (let b = 0; b < batch; b++) {
      ops.gemm(attn, a.to_out, { xRows: [b * seq + textLen, imgLen], into: { t: img, row0: b * imgLen }, residual: { gate: { mod: modImg, chunk: 2 } } });
      ops.gemm(attn, a.to_add_out, { xRows: [b * seq, textLen], into: { t: txt, row0: b * textLen }, residual: { gate: { mod: modTxt, chunk: 2 } } });
    }
    ops.release(attn);
    feedForward(ops, w.ff, img, modImg, g);
    feedForward(ops, w.ff_context, txt, modTxt, g);
    return [txt, img];
  });
}

/**
 * Single-stream block, in place on s: [L+N+R, D] f32 (a batch: [B·(L+N+R), D], sequences one after
 * another) with mod: [1, 3D]: one projection to
 * q|k|v|gate|value of LN(s) (q|k|v into one buffer, qkvLayout; gate|value fused into SwiGLU per token chunk),
 * attention and MLP in parallel, one gated output projection of [attn | mlp] added to s.
 */
export function singleBlock<T>(ops: Ops<T>, w: SingleBlockWeights<T>, g: BlockGeometry, s: T, mod: T, rope: T): T {
  return ops.tidy(() => {
    const norm = { stats: ops.rowStats(s, g.eps), mod, shiftChunk: 0, scaleChunk: 1 };
    const qkv = qkvLayout(ops, ops.shape(s)[0] as number, g);
    for (const b of qkv.buffers) ops.gemm(s, w.to_qkv_mlp_proj, { rows: [b.first * g.d, b.parts * g.d], norm, into: { t: b.t, row0: 0 }, f16: g.f16 });
    const attn = layoutAttention(ops, g, qkv, rope, { normQ: w.norm_q, normK: w.norm_k });
    for (const [c0, count] of mlpChunks(ops.shape(s)[0] as number, g.mlp, g.f16)) {
      const mlp = ops.gemm(s, w.to_qkv_mlp_proj, { rows: [3 * g.d, g.mlp], swiglu: { valueRow0: 3 * g.d + g.mlp }, norm, xRows: [c0, count], f16: g.f16 });
      ops.gemm(attn, w.to_out, { xRows: [c0, count], x2: mlp, into: { t: s, row0: c0 }, residual: { gate: { mod, chunk: 2 } } });
      ops.release(mlp);
    }
    return s;
  });
}
