/**
 * The VAE's building blocks (diffusers ResnetBlock2D and the mid-block Attention), shared by the
 * decoder (vae.ts) and the encoder (vaeEncoder.ts): weight types, loaders, and the whole-tensor
 * forward functions. docs/flux2-klein.md §8.1.
 */
import type { Conv2dOptions, Ops } from '../ops/ops';
import type { WeightGetter } from '../weights/weightGetter';

export interface Conv<T> {
  /** [Co, Ci, kh, kw]. */
  weight: T;
  /** [Co]. */
  bias: T;
}
export interface Norm<T> {
  weight: T;
  bias: T;
}

export interface ResnetWeights<T> {
  norm1: Norm<T>;
  conv1: Conv<T>;
  norm2: Norm<T>;
  conv2: Conv<T>;
  /** 1×1 conv when in ≠ out channels. */
  conv_shortcut: Conv<T> | null;
}

export interface AttentionWeights<T> {
  group_norm: Norm<T>;
  to_q: Conv<T>;
  to_k: Conv<T>;
  to_v: Conv<T>;
  to_out: Conv<T>;
}

/** diffusers VAE GroupNorm eps (vae.py Encoder/Decoder/ResnetBlock2D, attention norm). */
export const GN_EPS = 1e-6;

/** A conv's weight [out, inp, k, k] and bias [out] under `p`. */
export async function loadConv<T>(w: WeightGetter<T>, p: string, out: number, inp: number, k: number): Promise<Conv<T>> {
  return { weight: await w.get(`${p}.weight`, [out, inp, k, k]), bias: await w.get(`${p}.bias`, [out]) };
}

/** A norm's weight and bias [c] under `p`. */
export async function loadNorm<T>(w: WeightGetter<T>, p: string, c: number): Promise<Norm<T>> {
  return { weight: await w.get(`${p}.weight`, [c]), bias: await w.get(`${p}.bias`, [c]) };
}

async function linearAsConv<T>(w: WeightGetter<T>, p: string, c: number): Promise<Conv<T>> {
  return { weight: await w.get(`${p}.weight`, [c, c]), bias: await w.get(`${p}.bias`, [c]) };
}

/** diffusers ResnetBlock2D weights (`conv_shortcut` present iff inp ≠ out). */
export async function loadResnet<T>(w: WeightGetter<T>, p: string, inp: number, out: number): Promise<ResnetWeights<T>> {
  return {
    norm1: await loadNorm(w, `${p}.norm1`, inp),
    conv1: await loadConv(w, `${p}.conv1`, out, inp, 3),
    norm2: await loadNorm(w, `${p}.norm2`, out),
    conv2: await loadConv(w, `${p}.conv2`, out, out, 3),
    conv_shortcut: inp !== out ? await loadConv(w, `${p}.conv_shortcut`, out, inp, 1) : null,
  };
}

/** diffusers Attention (VAE mid block: one head, linear q/k/v/out with bias, GroupNorm in front). */
export async function loadAttention<T>(w: WeightGetter<T>, p: string, c: number): Promise<AttentionWeights<T>> {
  return {
    group_norm: await loadNorm(w, `${p}.group_norm`, c),
    to_q: await linearAsConv(w, `${p}.to_q`, c),
    to_k: await linearAsConv(w, `${p}.to_k`, c),
    to_v: await linearAsConv(w, `${p}.to_v`, c),
    to_out: await linearAsConv(w, `${p}.to_out.0`, c),
  };
}

/**
 * ResnetBlock2D: x + conv2(silu(GN(conv1(silu(GN(x)))))), shortcut 1×1 when channels change. x: [Ci, H, W] → [Co, H, W].
 * Each intermediate is freed as soon as it is consumed, not at the scope's end. The banded chain
 * (vaeBands.ts) runs the same ops in the same order on row bands.
 */
export function resnet<T>(ops: Ops<T>, w: ResnetWeights<T>, x: T, groups: number): T {
  return ops.tidy(() => {
    const consume = (t: T, y: T): T => (ops.release(t), y);
    const n1 = ops.groupNorm(x, w.norm1.weight, w.norm1.bias, groups, GN_EPS, true);
    const c1 = consume(n1, ops.conv2d(n1, w.conv1.weight, w.conv1.bias));
    const n2 = consume(c1, ops.groupNorm(c1, w.norm2.weight, w.norm2.bias, groups, GN_EPS, true));
    const h = consume(n2, ops.conv2d(n2, w.conv2.weight, w.conv2.bias));
    const shortcut = w.conv_shortcut ? ops.conv2d(x, w.conv_shortcut.weight, w.conv_shortcut.bias, { pad: [0, 0, 0, 0] }) : x;
    return ops.residual(h, shortcut);
  });
}

/**
 * Mid-block self-attention over all H·W positions (one head, Dh = C). x: [C, H, W] → [C, H, W].
 * Runs at latent resolution (H/8), whole. Intermediates are freed as soon as consumed.
 */
export function attentionBlock<T>(ops: Ops<T>, w: AttentionWeights<T>, x: T, groups: number): T {
  return ops.tidy(() => {
    const consume = <R>(ts: T[], y: R): R => (ts.forEach((t) => ops.release(t)), y);
    const [c, h, wd] = ops.shape(x) as [number, number, number];
    const n = ops.groupNorm(x, w.group_norm.weight, w.group_norm.bias, groups, GN_EPS, false);
    const flat = ops.reshape(n, [c, h * wd]);
    const tokens = consume([flat], ops.transpose(flat)); // [HW, C]
    const q = ops.linear(tokens, w.to_q.weight, { bias: w.to_q.bias });
    const k = ops.linear(tokens, w.to_k.weight, { bias: w.to_k.bias });
    const v = consume([tokens], ops.linear(tokens, w.to_v.weight, { bias: w.to_v.bias }));
    const a = consume([q, k, v], ops.attention(q, k, v, { heads: 1, kvHeads: 1 }));
    const o = consume([a], ops.linear(a, w.to_out.weight, { bias: w.to_out.bias }));
    const back = consume([o], ops.transpose(o));
    return ops.residual(ops.reshape(back, [c, h, wd]), x);
  });
}

/**
 * A step of the VAE's full-resolution chain, stream s_{k−1} → s_k (vaeChain.ts): a conv (conv_in;
 * 'up': nearest ×2 then the conv, the decoder's upsampler; 'down': zero-pad right/bottom by 1 then
 * 3×3 stride 2, the encoder's downsampler), a resnet, or GroupNorm + SiLU + conv (conv_norm_out + conv_out).
 */
export type ChainBlock<T> =
  | { kind: 'conv'; conv: Conv<T>; resample: 'none' | 'up' | 'down' }
  | { kind: 'res'; w: ResnetWeights<T> }
  | { kind: 'normConv'; norm: Norm<T>; conv: Conv<T> };

/**
 * The chain on whole tensors (no bands): input: [C, H, W] → the last block's output. Each activation
 * is freed as soon as the next one exists (`input` too when `giveInput`); the banded run
 * (vaeBands.ts) gives the same bits.
 */
export function chainWhole<T>(ops: Ops<T>, blocks: readonly ChainBlock<T>[], groups: number, input: T, giveInput = false): T {
  let x = input;
  const next = (y: T): void => {
    if (x !== input || giveInput) ops.release(x);
    x = y;
  };
  for (const b of blocks) {
    if (b.kind === 'res') next(resnet(ops, b.w, x, groups));
    else if (b.kind === 'normConv') {
      next(ops.groupNorm(x, b.norm.weight, b.norm.bias, groups, GN_EPS, true));
      next(ops.conv2d(x, b.conv.weight, b.conv.bias));
    } else next(ops.conv2d(x, b.conv.weight, b.conv.bias, resampleOptions(b.resample)));
  }
  return x;
}

/** conv2d options of a chain conv: 'up' = Upsample2D (nearest ×2, fused), 'down' = Downsample2D (pad right/bottom 1, stride 2). */
export function resampleOptions(r: 'none' | 'up' | 'down'): Conv2dOptions | undefined {
  return r === 'up' ? { upsample: 2 } : r === 'down' ? { stride: 2, pad: [0, 0, 1, 1] } : undefined;
}
