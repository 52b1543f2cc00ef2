/**
 * FLUX.2 VAE encoder (diffusers AutoencoderKLFlux2 → Encoder + quant_conv) plus the latent packing
 * the klein pipeline applies to reference images: mean ("argmax" / mode) → patchify 2×2 →
 * BN-normalise → tokens. Config-driven like the decoder (vae.ts). docs/flux2-klein.md §7.2, §8.3.
 */
import type { Ops } from '../ops/ops';
import type { WeightGetter } from '../weights/weightGetter';
import type { Flux2VaeConfig } from './config';
import { type AttentionWeights, type ChainBlock, type Conv, GN_EPS, type ResnetWeights, attentionBlock, loadAttention, loadConv, loadResnet, resnet } from './vaeBlocks';
import { type VaeBandOptions, runVaeChain } from './vaeBands';

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
    downBlocks.push({ resnets, downsampler: last ? null : await loadConv(w, `encoder.down_blocks.${i}.downsamplers.0.conv`, out, out, 3) });
    prev = out;
  }
  return {
    bn: { running_mean: await w.get('bn.running_mean', [patchCh]), running_var: await w.get('bn.running_var', [patchCh]) },
    conv_in: await loadConv(w, 'encoder.conv_in', ch[0] as number, cfg.in_channels, 3),
    down_blocks: downBlocks,
    mid_block: {
      resnets: [await loadResnet(w, 'encoder.mid_block.resnets.0', prev, prev), await loadResnet(w, 'encoder.mid_block.resnets.1', prev, prev)],
      attention: cfg.mid_block_add_attention ? await loadAttention(w, 'encoder.mid_block.attentions.0', prev) : null,
    },
    conv_norm_out: { weight: await w.get('encoder.conv_norm_out.weight', [prev]), bias: await w.get('encoder.conv_norm_out.bias', [prev]) },
    conv_out: await loadConv(w, 'encoder.conv_out', 2 * lat, prev, 3),
    quant_conv: cfg.use_quant_conv ? await loadConv(w, 'quant_conv', 2 * lat, 2 * lat, 1) : null,
  };
}

/** conv_in and the down blocks (resnets, downsamplers) as a chain from the pixels to latent resolution. */
function encoderChain<T>(w: EncoderWeights<T>): ChainBlock<T>[] {
  const blocks: ChainBlock<T>[] = [{ kind: 'conv', conv: w.conv_in, resample: 'none' }];
  for (const b of w.down_blocks) {
    for (const r of b.resnets) blocks.push({ kind: 'res', w: r });
    if (b.downsampler) blocks.push({ kind: 'conv', conv: b.downsampler, resample: 'down' });
  }
  return blocks;
}

/**
 * Encoder + quant_conv → latent mean. pixels: [3, H, W] in [−1, 1] (H, W multiples of 16) →
 * [latent_channels, H/8, W/8] (golden `ref{k}_latent`). Downsample = zero-pad right/bottom by 1,
 * then 3×3 stride 2 (diffusers Downsample2D padding=0). conv_in and the down blocks run in row
 * bands when a full-size activation would exceed VAE_BAND_THRESHOLD_BYTES (or as `bands` says;
 * bit-equal either way; the pool's free buffers are dropped first; at 1024² conv_in's output alone
 * is 0.5 GiB), the mid block and the output convs on whole tensors at latent resolution. Each
 * activation is freed as soon as the next one exists. `pixels` stays the caller's.
 */
export function encodeLatent<T>(ops: Ops<T>, w: EncoderWeights<T>, cfg: Flux2VaeConfig, pixels: T, bands: VaeBandOptions = {}): T {
  return ops.tidy(() => {
    const g = cfg.norm_num_groups;
    let x = runVaeChain(ops, encoderChain(w), g, pixels, false, bands);
    const next = (y: T): void => {
      ops.release(x);
      x = y;
    };
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
