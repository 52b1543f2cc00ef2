/**
 * FLUX.2 VAE decoder (diffusers AutoencoderKLFlux2 → Decoder) plus the BatchNorm latent
 * de-normalisation the klein pipeline applies before decoding. Channel counts, groups and block
 * counts come from vae/config.json. docs/flux2-klein.md §5.1, §8.
 */
import type { Ops } from '../ops/ops';
import type { WeightGetter } from '../weights/weightGetter';
import type { Flux2VaeConfig } from './config';

interface Conv<T> {
  weight: T;
  bias: T;
}
interface Norm<T> {
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

export interface DecoderWeights<T> {
  bn: { running_mean: T; running_var: T };
  post_quant_conv: Conv<T> | null;
  conv_in: Conv<T>;
  mid_block: { resnets: [ResnetWeights<T>, ResnetWeights<T>]; attention: AttentionWeights<T> | null };
  up_blocks: { resnets: ResnetWeights<T>[]; upsampler: Conv<T> | null }[];
  conv_norm_out: Norm<T>;
  conv_out: Conv<T>;
}

async function conv<T>(w: WeightGetter<T>, p: string, out: number, inp: number, k: number): Promise<Conv<T>> {
  return { weight: await w.get(`${p}.weight`, [out, inp, k, k]), bias: await w.get(`${p}.bias`, [out]) };
}

async function norm<T>(w: WeightGetter<T>, p: string, c: number): Promise<Norm<T>> {
  return { weight: await w.get(`${p}.weight`, [c]), bias: await w.get(`${p}.bias`, [c]) };
}

async function linearAsConv<T>(w: WeightGetter<T>, p: string, c: number): Promise<Conv<T>> {
  return { weight: await w.get(`${p}.weight`, [c, c]), bias: await w.get(`${p}.bias`, [c]) };
}

/** diffusers ResnetBlock2D weights (`conv_shortcut` present iff inp ≠ out). */
export async function loadResnet<T>(w: WeightGetter<T>, p: string, inp: number, out: number): Promise<ResnetWeights<T>> {
  return {
    norm1: await norm(w, `${p}.norm1`, inp),
    conv1: await conv(w, `${p}.conv1`, out, inp, 3),
    norm2: await norm(w, `${p}.norm2`, out),
    conv2: await conv(w, `${p}.conv2`, out, out, 3),
    conv_shortcut: inp !== out ? await conv(w, `${p}.conv_shortcut`, out, inp, 1) : null,
  };
}

/** diffusers Attention (VAE mid block: one head, linear q/k/v/out with bias, GroupNorm in front). */
export async function loadAttention<T>(w: WeightGetter<T>, p: string, c: number): Promise<AttentionWeights<T>> {
  return {
    group_norm: await norm(w, `${p}.group_norm`, c),
    to_q: await linearAsConv(w, `${p}.to_q`, c),
    to_k: await linearAsConv(w, `${p}.to_k`, c),
    to_v: await linearAsConv(w, `${p}.to_v`, c),
    to_out: await linearAsConv(w, `${p}.to_out.0`, c),
  };
}

/** Decoder channel list per up block (diffusers: reversed block_out_channels). */
function decoderChannels(cfg: Flux2VaeConfig): number[] {
  return [...(cfg.decoder_block_out_channels ?? cfg.block_out_channels)].reverse();
}

/** Loads BN stats, post_quant_conv and the decoder (the encoder is not needed for text-to-image). */
export async function loadDecoder<T>(w: WeightGetter<T>, cfg: Flux2VaeConfig): Promise<DecoderWeights<T>> {
  const ch = decoderChannels(cfg);
  const lat = cfg.latent_channels;
  const top = ch[0] as number;
  const patchCh = lat * (cfg.patch_size[0] as number) * (cfg.patch_size[1] as number);
  const upBlocks: DecoderWeights<T>['up_blocks'] = [];
  let prev = top;
  for (let i = 0; i < ch.length; i++) {
    const out = ch[i] as number;
    const resnets: ResnetWeights<T>[] = [];
    for (let r = 0; r <= cfg.layers_per_block; r++) {
      resnets.push(await loadResnet(w, `decoder.up_blocks.${i}.resnets.${r}`, r === 0 ? prev : out, out));
    }
    const last = i === ch.length - 1;
    upBlocks.push({ resnets, upsampler: last ? null : await conv(w, `decoder.up_blocks.${i}.upsamplers.0.conv`, out, out, 3) });
    prev = out;
  }
  return {
    bn: { running_mean: await w.get('bn.running_mean', [patchCh]), running_var: await w.get('bn.running_var', [patchCh]) },
    post_quant_conv: cfg.use_post_quant_conv ? await conv(w, 'post_quant_conv', lat, lat, 1) : null,
    conv_in: await conv(w, 'decoder.conv_in', top, lat, 3),
    mid_block: {
      resnets: [await loadResnet(w, 'decoder.mid_block.resnets.0', top, top), await loadResnet(w, 'decoder.mid_block.resnets.1', top, top)],
      attention: cfg.mid_block_add_attention ? await loadAttention(w, 'decoder.mid_block.attentions.0', top) : null,
    },
    up_blocks: upBlocks,
    conv_norm_out: await norm(w, 'decoder.conv_norm_out', prev),
    conv_out: await conv(w, 'decoder.conv_out', cfg.out_channels, prev, 3),
  };
}

const GN_EPS = 1e-6; // diffusers VAE GroupNorm eps (vae.py Decoder/ResnetBlock2D, attention norm)

/**
 * ResnetBlock2D: x + conv2(silu(GN(conv1(silu(GN(x)))))), shortcut 1×1 when channels change. x: [Ci, H, W] → [Co, H, W].
 * Each intermediate is freed as soon as it is consumed (at 1024² one is 0.5–1 GiB), not at the scope's end.
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

/** Mid-block self-attention over all H·W positions (one head, Dh = C). x: [C, H, W] → [C, H, W]. */
export function attentionBlock<T>(ops: Ops<T>, w: AttentionWeights<T>, x: T, groups: number): T {
  return ops.tidy(() => {
    const [c, h, wd] = ops.shape(x) as [number, number, number];
    const n = ops.groupNorm(x, w.group_norm.weight, w.group_norm.bias, groups, GN_EPS, false);
    const tokens = ops.transpose(ops.reshape(n, [c, h * wd])); // [HW, C]
    const q = ops.linear(tokens, w.to_q.weight, { bias: w.to_q.bias });
    const k = ops.linear(tokens, w.to_k.weight, { bias: w.to_k.bias });
    const v = ops.linear(tokens, w.to_v.weight, { bias: w.to_v.bias });
    const a = ops.attention(q, k, v, { heads: 1, kvHeads: 1 });
    const o = ops.linear(a, w.to_out.weight, { bias: w.to_out.bias });
    return ops.residual(ops.reshape(ops.transpose(o), [c, h, wd]), x);
  });
}

/**
 * Latent tokens → RGB. tokens: [h·w, 128] (BN-normalised, packed) → [3, 16h, 16w] nominally in
 * [−1, 1]: BN de-normalise + unpatchify, post_quant_conv, decoder. Each activation is freed as soon as
 * the next one exists (at 1024² the last blocks' are 0.5–1 GiB each), so the peak is about three of them.
 */
export function decode<T>(ops: Ops<T>, w: DecoderWeights<T>, cfg: Flux2VaeConfig, tokens: T, h: number, wd: number): T {
  return ops.tidy(() => {
    const g = cfg.norm_num_groups;
    let x = ops.latentUnpack(tokens, w.bn.running_mean, w.bn.running_var, h, wd, cfg.batch_norm_eps);
    const next = (y: T): void => {
      ops.release(x);
      x = y;
    };
    if (w.post_quant_conv) next(ops.conv2d(x, w.post_quant_conv.weight, w.post_quant_conv.bias, { pad: [0, 0, 0, 0] }));
    next(ops.conv2d(x, w.conv_in.weight, w.conv_in.bias));
    next(resnet(ops, w.mid_block.resnets[0], x, g));
    if (w.mid_block.attention) next(attentionBlock(ops, w.mid_block.attention, x, g));
    next(resnet(ops, w.mid_block.resnets[1], x, g));
    for (const block of w.up_blocks) {
      for (const r of block.resnets) next(resnet(ops, r, x, g));
      if (block.upsampler) {
        next(ops.upsampleNearest2x(x));
        next(ops.conv2d(x, block.upsampler.weight, block.upsampler.bias));
      }
    }
    next(ops.groupNorm(x, w.conv_norm_out.weight, w.conv_norm_out.bias, g, GN_EPS, true));
    return ops.conv2d(x, w.conv_out.weight, w.conv_out.bias);
  });
}
