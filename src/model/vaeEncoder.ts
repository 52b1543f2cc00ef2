/**
 * FLUX.2 VAE encoder (diffusers AutoencoderKLFlux2 → Encoder + quant_conv) plus the latent packing
 * the klein pipeline applies to reference images: mean ("argmax" / mode) → patchify 2×2 →
 * BN-normalise → tokens. Config-driven like the decoder (vae.ts). docs/flux2-klein.md §7.2, §8.3.
 */
import type { Ops } from '../ops/ops';
import type { WeightGetter } from '../weights/weightGetter';
import type { Flux2VaeConfig } from './config';
import { type AttentionWeights, type ResnetWeights, attentionBlock, loadAttention, loadResnet, resnet } from './vae';

interface Conv<T> {
  weight: T;
  bias: T;
}

export interface EncoderWeights<T> {
  bn: { running_mean: T; running_var: T };
  conv_in: Conv<T>;
  down_blocks: { resnets: ResnetWeights<T>[]; downsampler: Conv<T> | null }[];
  mid_block: { resnets: [ResnetWeights<T>, ResnetWeights<T>]; attention: AttentionWeights<T> | null };
  conv_norm_out: { weight: T; bias: T };
  /** 3×3, top channels → 2·latent_channels (mean, logvar). */
  conv_out: Conv<T>;
  quant_conv: Conv<T> | null;
}

async function conv<T>(w: WeightGetter<T>, p: string, out: number, inp: number, k: number): Promise<Conv<T>> {
  return { weight: await w.get(`${p}.weight`, [out, inp, k, k]), bias: await w.get(`${p}.bias`, [out]) };
}

/** Loads BN stats, the encoder and quant_conv (only needed for reference images). */
export async function loadEncoder<T>(w: WeightGetter<T>, cfg: Flux2VaeConfig): Promise<EncoderWeights<T>> {
  const ch = cfg.block_out_channels;
  const lat = cfg.latent_channels;
  const patchCh = lat * (cfg.patch_size[0] as number) * (cfg.patch_size[1] as number);
  const downBlocks: EncoderWeights<T>['down_blocks'] = [];
  let prev = ch[0] as number;
  for (let i = 0; i < ch.length; i++) {
    const out = ch[i] as number;
    const resnets: ResnetWeights<T>[] = [];
    for (let r = 0; r < cfg.layers_per_block; r++) {
      resnets.push(await loadResnet(w, `encoder.down_blocks.${i}.resnets.${r}`, r === 0 ? prev : out, out));
    }
    const last = i === ch.length - 1;
    downBlocks.push({ resnets, downsampler: last ? null : await conv(w, `encoder.down_blocks.${i}.downsamplers.0.conv`, out, out, 3) });
    prev = out;
  }
  return {
    bn: { running_mean: await w.get('bn.running_mean', [patchCh]), running_var: await w.get('bn.running_var', [patchCh]) },
    conv_in: await conv(w, 'encoder.conv_in', ch[0] as number, cfg.in_channels, 3),
    down_blocks: downBlocks,
    mid_block: {
      resnets: [await loadResnet(w, 'encoder.mid_block.resnets.0', prev, prev), await loadResnet(w, 'encoder.mid_block.resnets.1', prev, prev)],
      attention: cfg.mid_block_add_attention ? await loadAttention(w, 'encoder.mid_block.attentions.0', prev) : null,
    },
    conv_norm_out: { weight: await w.get('encoder.conv_norm_out.weight', [prev]), bias: await w.get('encoder.conv_norm_out.bias', [prev]) },
    conv_out: await conv(w, 'encoder.conv_out', 2 * lat, prev, 3),
    quant_conv: cfg.use_quant_conv ? await conv(w, 'quant_conv', 2 * lat, 2 * lat, 1) : null,
  };
}

const GN_EPS = 1e-6; // diffusers VAE GroupNorm eps (vae.py Encoder/ResnetBlock2D)

/**
 * Encoder + quant_conv → latent mean. pixels: [3, H, W] in [−1, 1] (H, W multiples of 16) →
 * [latent_channels, H/8, W/8] (golden `ref{k}_latent`). Downsample = zero-pad right/bottom by 1,
 * then 3×3 stride 2 (diffusers Downsample2D padding=0). Each activation is freed as soon as the
 * next one exists (at 1024² the first blocks' are 0.5 GiB each), as in the decoder.
 */
export function encodeLatent<T>(ops: Ops<T>, w: EncoderWeights<T>, cfg: Flux2VaeConfig, pixels: T): T {
  return ops.tidy(() => {
    const g = cfg.norm_num_groups;
    let x = ops.conv2d(pixels, w.conv_in.weight, w.conv_in.bias);
    const next = (y: T): void => {
      ops.release(x);
      x = y;
    };
    w.down_blocks.forEach((block) => {
      for (const r of block.resnets) next(resnet(ops, r, x, g));
      if (block.downsampler) next(ops.conv2d(x, block.downsampler.weight, block.downsampler.bias, { stride: 2, pad: [0, 0, 1, 1] }));
    });
    next(resnet(ops, w.mid_block.resnets[0], x, g));
    if (w.mid_block.attention) next(attentionBlock(ops, w.mid_block.attention, x, g));
    next(resnet(ops, w.mid_block.resnets[1], x, g));
    next(ops.groupNorm(x, w.conv_norm_out.weight, w.conv_norm_out.bias, g, GN_EPS, true));
    next(ops.conv2d(x, w.conv_out.weight, w.conv_out.bias));
    if (w.quant_conv) next(ops.conv2d(x, w.quant_conv.weight, w.quant_conv.bias, { pad: [0, 0, 0, 0] }));
    return ops.sliceRows(x, 0, cfg.latent_channels); // mean; logvar (the rest) is unused
  });
}

/**
 * Reference image → packed latent tokens. pixels: [3, H, W] in [−1, 1] → [(H/16)·(W/16), 4·latent_channels]
 * (golden `ref_tokens` rows of this reference): encodeLatent, patchify, BN-normalise, pack.
 */
export function encodeReference<T>(ops: Ops<T>, w: EncoderWeights<T>, cfg: Flux2VaeConfig, pixels: T): T {
  return ops.tidy(() => {
    const z = encodeLatent(ops, w, cfg, pixels);
    return ops.latentPack(z, w.bn.running_mean, w.bn.running_var, cfg.batch_norm_eps);
  });
}
