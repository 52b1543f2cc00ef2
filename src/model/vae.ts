/**
 * FLUX.2 VAE decoder (diffusers AutoencoderKLFlux2 → Decoder) plus the BatchNorm latent
 * de-normalisation the klein pipeline applies before decoding. Channel counts, groups and block
 * counts come from vae/config.json. docs/flux2-klein.md §5.1, §8. Large images decode in row bands
 * (vaeChain.ts), bit-equal to the whole-tensor decode.
 */
import type { Ops } from '../ops/ops';
import type { WeightGetter } from '../weights/weightGetter';
import type { Flux2VaeConfig } from './config';
import {
  type AttentionWeights,
  type ChainBlock,
  type Conv,
  type Norm,
  type ResnetWeights,
  attentionBlock,
  loadAttention,
  loadConv,
  loadNorm,
  loadResnet,
  resnet,
} from './vaeBlocks';
import { type VaeBandOptions, chainBanded, runVaeChain } from './vaeBands';

export type { AttentionWeights, ResnetWeights } from './vaeBlocks';
export type { VaeBandOptions } from './vaeBands';

export interface DecoderWeights<T> {
  bn: { running_mean: T; running_var: T };
  post_quant_conv: Conv<T> | null;
  conv_in: Conv<T>;
  mid_block: { resnets: [ResnetWeights<T>, ResnetWeights<T>]; attention: AttentionWeights<T> | null };
  up_blocks: { resnets: ResnetWeights<T>[]; upsampler: Conv<T> | null }[];
  conv_norm_out: Norm<T>;
  conv_out: Conv<T>;
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
    upBlocks.push({ resnets, upsampler: last ? null : await loadConv(w, `decoder.up_blocks.${i}.upsamplers.0.conv`, out, out, 3) });
    prev = out;
  }
  return {
    bn: { running_mean: await w.get('bn.running_mean', [patchCh]), running_var: await w.get('bn.running_var', [patchCh]) },
    post_quant_conv: cfg.use_post_quant_conv ? await loadConv(w, 'post_quant_conv', lat, lat, 1) : null,
    conv_in: await loadConv(w, 'decoder.conv_in', top, lat, 3),
    mid_block: {
      resnets: [await loadResnet(w, 'decoder.mid_block.resnets.0', top, top), await loadResnet(w, 'decoder.mid_block.resnets.1', top, top)],
      attention: cfg.mid_block_add_attention ? await loadAttention(w, 'decoder.mid_block.attentions.0', top) : null,
    },
    up_blocks: upBlocks,
    conv_norm_out: await loadNorm(w, 'decoder.conv_norm_out', prev),
    conv_out: await loadConv(w, 'decoder.conv_out', cfg.out_channels, prev, 3),
  };
}

/** The decoder after its mid block, as a chain: up blocks (resnets, upsampler), conv_norm_out + conv_out. */
function decoderChain<T>(w: DecoderWeights<T>): ChainBlock<T>[] {
  const blocks: ChainBlock<T>[] = [];
  for (const b of w.up_blocks) {
    for (const r of b.resnets) blocks.push({ kind: 'res', w: r });
    if (b.upsampler) blocks.push({ kind: 'conv', conv: b.upsampler, resample: 'up' });
  }
  blocks.push({ kind: 'normConv', norm: w.conv_norm_out, conv: w.conv_out });
  return blocks;
}

/**
 * Latent tokens → RGB. tokens: [h·w, 128] (BN-normalised, packed) → [3, 16h, 16w] nominally in
 * [−1, 1]: BN de-normalise + unpatchify, post_quant_conv, conv_in and the mid block on whole tensors
 * (latent resolution), then the up blocks and the output conv — in row bands when a full-size
 * activation would exceed VAE_BAND_THRESHOLD_BYTES (or as `bands` says; bit-equal either way; the
 * pool's free buffers are dropped first). Each activation is freed as soon as the next one exists.
 */
export function decode<T>(ops: Ops<T>, w: DecoderWeights<T>, cfg: Flux2VaeConfig, tokens: T, h: number, wd: number, bands: VaeBandOptions = {}): T {
  return ops.tidy(() => {
    const g = cfg.norm_num_groups;
    const chain = decoderChain(w);
    const top = ops.shape(w.conv_in.weight)[0] as number;
    const banded = chainBanded(ops, chain, [top, 2 * h, 2 * wd], bands);
    // the stage before may have left gigabytes of free pool buffers of other sizes: the bands need the memory
    if (banded) ops.trim();
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
    return runVaeChain(ops, chain, g, x, true, { ...bands, banded });
  });
}
