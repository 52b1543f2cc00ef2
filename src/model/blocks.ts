/**
 * FLUX.2 double- and single-stream blocks (diffusers Flux2TransformerBlock,
 * Flux2SingleTransformerBlock). Modulation chunks: double = (shift1, scale1, gate1, shift2,
 * scale2, gate2), single = (shift, scale, gate); mod(x) = (1 + scale)·LN(x) + shift.
 * docs/flux2-klein.md §4.6–4.7.
 */
import type { Ops } from '../ops/ops';
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

/** silu(x·W_gate)⊙(x·W_value) · W_outᵀ with W_in rows [0, M) gate and [M, 2M) value. x: [S, D] → [S, D]. */
function feedForward<T>(ops: Ops<T>, w: FeedForward<T>, x: T, m: number): T {
  const gate = ops.linear(x, w.linear_in, { rows: [0, m] });
  const value = ops.linear(x, w.linear_in, { rows: [m, m] });
  return ops.linear(ops.siluMul(gate, value), w.linear_out);
}

/** q/k: RMSNorm per head then interleaved RoPE over the joint table. x: [S, H·Dh] → [S, H·Dh]. */
function normRope<T>(ops: Ops<T>, x: T, norm: T, g: BlockGeometry, rope: T): T {
  return ops.rope(ops.rmsNorm(x, norm, g.eps, g.headDim), rope, g.heads, 'interleaved');
}

/**
 * Double-stream block. txt: [L, D], img: [N+R, D], modImg/modTxt: [1, 6D], rope: [L+N+R, Dh/2, 2]
 * → updated (txt, img). Joint attention over [txt; img] (text first), no mask.
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
    const textLen = ops.shape(txt)[0] as number;
    const imgLen = ops.shape(img)[0] as number;
    const xi = ops.layerNormModulate(img, modImg, 0, 1, g.eps);
    const xt = ops.layerNormModulate(txt, modTxt, 0, 1, g.eps);
    const q = ops.concatRows(ops.rmsNorm(ops.linear(xt, a.add_q_proj), a.norm_added_q, g.eps, g.headDim), ops.rmsNorm(ops.linear(xi, a.to_q), a.norm_q, g.eps, g.headDim));
    const k = ops.concatRows(ops.rmsNorm(ops.linear(xt, a.add_k_proj), a.norm_added_k, g.eps, g.headDim), ops.rmsNorm(ops.linear(xi, a.to_k), a.norm_k, g.eps, g.headDim));
    const v = ops.concatRows(ops.linear(xt, a.add_v_proj), ops.linear(xi, a.to_v));
    const qr = ops.rope(q, rope, g.heads, 'interleaved');
    const kr = ops.rope(k, rope, g.heads, 'interleaved');
    const attn = ops.attention(qr, kr, v, { heads: g.heads, kvHeads: g.heads });
    ops.residual(img, ops.linear(ops.sliceRows(attn, textLen, imgLen), a.to_out), { mod: modImg, chunk: 2 });
    ops.residual(img, feedForward(ops, w.ff, ops.layerNormModulate(img, modImg, 3, 4, g.eps), g.mlp), { mod: modImg, chunk: 5 });
    ops.residual(txt, ops.linear(ops.sliceRows(attn, 0, textLen), a.to_add_out), { mod: modTxt, chunk: 2 });
    ops.residual(txt, feedForward(ops, w.ff_context, ops.layerNormModulate(txt, modTxt, 3, 4, g.eps), g.mlp), { mod: modTxt, chunk: 5 });
    return [txt, img];
  });
}

/**
 * Single-stream block, in place on s: [L+N+R, D] with mod: [1, 3D]: one projection to q|k|v|gate|value,
 * attention and SwiGLU in parallel, one output projection of [attn | mlp].
 */
export function singleBlock<T>(ops: Ops<T>, w: SingleBlockWeights<T>, g: BlockGeometry, s: T, mod: T, rope: T): T {
  return ops.tidy(() => {
    const u = ops.layerNormModulate(s, mod, 0, 1, g.eps);
    const proj = (start: number, count: number) => ops.linear(u, w.to_qkv_mlp_proj, { rows: [start, count] });
    const q = normRope(ops, proj(0, g.d), w.norm_q, g, rope);
    const k = normRope(ops, proj(g.d, g.d), w.norm_k, g, rope);
    const v = proj(2 * g.d, g.d);
    const attn = ops.attention(q, k, v, { heads: g.heads, kvHeads: g.heads });
    const mlp = ops.siluMul(proj(3 * g.d, g.mlp), proj(3 * g.d + g.mlp, g.mlp));
    ops.residual(s, ops.linear(ops.concatCols(attn, mlp), w.to_out), { mod, chunk: 2 });
    return s;
  });
}
