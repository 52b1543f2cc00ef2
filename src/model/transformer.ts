/**
 * FLUX.2 rectified-flow transformer (diffusers Flux2Transformer2DModel): timestep embedding,
 * shared modulations, double blocks, single blocks, final AdaLN → velocity for the target tokens.
 * docs/flux2-klein.md §4. Block bodies live in blocks.ts.
 */
import type { Ops } from '../ops/ops';
import type { WeightGetter } from '../weights/weightGetter';
import { type Flux2TransformerConfig, hiddenSize, mlpHidden } from './config';
import { type DoubleBlockWeights, type SingleBlockWeights, doubleBlock, loadDoubleBlock, loadSingleBlock, singleBlock } from './blocks';

export interface TransformerWeights<T> {
  x_embedder: T;
  context_embedder: T;
  time_guidance_embed: { timestep_embedder: { linear_1: T; linear_2: T } };
  double_stream_modulation_img: T;
  double_stream_modulation_txt: T;
  single_stream_modulation: T;
  transformer_blocks: DoubleBlockWeights<T>[];
  single_transformer_blocks: SingleBlockWeights<T>[];
  /** AdaLayerNormContinuous linear: [2D, D], rows = (scale, shift) in diffusers order. */
  norm_out: T;
  proj_out: T;
}

export async function loadTransformer<T>(w: WeightGetter<T>, cfg: Flux2TransformerConfig): Promise<TransformerWeights<T>> {
  const d = hiddenSize(cfg);
  const outCh = cfg.out_channels ?? cfg.in_channels;
  const doubles: DoubleBlockWeights<T>[] = [];
  for (let i = 0; i < cfg.num_layers; i++) doubles.push(await loadDoubleBlock(w, cfg, `transformer_blocks.${i}`));
  const singles: SingleBlockWeights<T>[] = [];
  for (let i = 0; i < cfg.num_single_layers; i++) singles.push(await loadSingleBlock(w, cfg, `single_transformer_blocks.${i}`));
  return {
    x_embedder: await w.get('x_embedder.weight', [d, cfg.in_channels]),
    context_embedder: await w.get('context_embedder.weight', [d, cfg.joint_attention_dim]),
    time_guidance_embed: {
      timestep_embedder: {
        linear_1: await w.get('time_guidance_embed.timestep_embedder.linear_1.weight', [d, cfg.timestep_guidance_channels]),
        linear_2: await w.get('time_guidance_embed.timestep_embedder.linear_2.weight', [d, d]),
      },
    },
    double_stream_modulation_img: await w.get('double_stream_modulation_img.linear.weight', [6 * d, d]),
    double_stream_modulation_txt: await w.get('double_stream_modulation_txt.linear.weight', [6 * d, d]),
    single_stream_modulation: await w.get('single_stream_modulation.linear.weight', [3 * d, d]),
    transformer_blocks: doubles,
    single_transformer_blocks: singles,
    norm_out: await w.get('norm_out.linear.weight', [2 * d, d]),
    proj_out: await w.get('proj_out.weight', [outCh, d]),
  };
}

/** Per-call inputs that stay fixed across denoising steps. */
export interface TransformerContext<T> {
  /**
   * context_embedder(prompt_embeds): [L, D] (cacheable per prompt); B of them (same L): one pass over
   * a batch of B sequences with the same image tokens (classifier-free guidance: prompt, negative prompt).
   */
  txt: T | readonly T[];
  /** RoPE table for [txt_ids; img_ids (target, refs)]: [L + N + R, Dh/2, 2]. */
  rope: T;
  /** Number of target image tokens N (the rest of the image stream are reference tokens). */
  targetTokens: number;
  /** Store GEMM and attention outputs in f16 (BlockGeometry.f16); default f32. */
  f16?: boolean;
  /** BlockGeometry.qkvBindingBytes: the largest q|k|v buffer before it is split (default: the device's, Ops.maxBindingBytes). */
  qkvBindingBytes?: number;
}

/**
 * The single stream of a batch: txt [B·L, D], img [B·M, D] → [B·(L+M), D] with rows
 * [txt_0; img_0; txt_1; img_1; …] (each sequence text first); consumes txt and img.
 */
function interleave<T>(ops: Ops<T>, txt: T, img: T, batch: number): T {
  const [tRows, d] = ops.shape(txt) as [number, number];
  const iRows = ops.shape(img)[0] as number;
  const [l, m] = [tRows / batch, iRows / batch];
  // copyRows moves rows of [C, H, W] images: one-channel views
  const s = ops.empty([1, tRows + iRows, d], 'single stream');
  const t3 = ops.reshape(txt, [1, tRows, d]);
  const i3 = ops.reshape(img, [1, iRows, d]);
  for (let b = 0; b < batch; b++) {
    ops.copyRows(s, t3, b * (l + m), b * l, l);
    ops.copyRows(s, i3, b * (l + m) + l, b * m, m);
  }
  ops.release(t3);
  ops.release(i3);
  return ops.reshape(s, [tRows + iRows, d]);
}

/** Optional per-block taps for debugging against reference dumps (names as in golden debug files). */
export type Tap<T> = (name: string, t: T) => void;

/**
 * Projects the prompt embeddings once per prompt: [L, 3·hidden_qwen] → [L, D].
 */
export function embedContext<T>(ops: Ops<T>, w: TransformerWeights<T>, promptEmbeds: T): T {
  return ops.linear(promptEmbeds, w.context_embedder);
}

/**
 * One model call. x: [N + R, in_channels] image tokens (target then reference), timestepInput:
 * [timestep_guidance_channels] sinusoid of 1000·σ (schedule.ts) → velocity [N, out_channels].
 * Matches diffusers Flux2Transformer2DModel.forward (no guidance, no mask; text first in the
 * joint sequence). With B contexts (c.txt an array) → [B·N, out_channels], rows [b·N, (b+1)·N) for
 * context b: diffusers' forward over a batch of B with x repeated; each row is computed exactly as in
 * a pass of its own (the batch shares weight reads and dispatches, not arithmetic).
 */
export function transformerForward<T>(
  ops: Ops<T>,
  w: TransformerWeights<T>,
  cfg: Flux2TransformerConfig,
  c: TransformerContext<T>,
  x: T,
  timestepInput: T,
  tap?: Tap<T>,
): T {
  const d = hiddenSize(cfg);
  return ops.tidy(() => {
    const te = w.time_guidance_embed.timestep_embedder;
    const temb = ops.linear(ops.silu(ops.linear(timestepInput, te.linear_1)), te.linear_2); // [1, D]
    const act = ops.silu(temb);
    // modulations are recomputed every call: they depend on σ (flux2.c stale-buffer pitfall)
    const mod = {
      img: ops.linear(act, w.double_stream_modulation_img), // [1, 6D]
      txt: ops.linear(act, w.double_stream_modulation_txt), // [1, 6D]
      single: ops.linear(act, w.single_stream_modulation), // [1, 3D]
    };
    tap?.('temb', temb);
    tap?.('mod_img', mod.img);
    tap?.('mod_txt', mod.txt);
    tap?.('mod_single', mod.single);
    const contexts: readonly T[] = Array.isArray(c.txt) ? c.txt : [c.txt as T];
    const batch = contexts.length;
    const img1 = ops.linear(x, w.x_embedder); // [N+R, D]
    // copies (blocks update in place); a batch repeats the image tokens: [img; img; …], [txt_0; txt_1; …]
    let img = img1;
    let txt = ops.sliceRows(contexts[0]!, 0, ops.shape(contexts[0]!)[0] as number);
    for (let b = 1; b < batch; b++) {
      img = ops.concatRows(img, img1);
      txt = ops.concatRows(txt, contexts[b]!);
    }
    tap?.('x_embedder', img);
    tap?.('context_embedder', txt);
    const geom = { heads: cfg.num_attention_heads, headDim: cfg.attention_head_dim, eps: cfg.eps, mlp: mlpHidden(cfg), d, f16: c.f16 === true, qkvBindingBytes: c.qkvBindingBytes ?? ops.maxBindingBytes, ...(batch > 1 ? { batch } : {}) };
    w.transformer_blocks.forEach((bw, i) => {
      [txt, img] = doubleBlock(ops, bw, geom, txt, img, mod.img, mod.txt, c.rope);
      tap?.(`double${i}.0`, txt);
      tap?.(`double${i}.1`, img);
    });
    const textLen = (ops.shape(txt)[0] as number) / batch;
    const imgLen = (ops.shape(img)[0] as number) / batch;
    const seq = textLen + imgLen;
    let s = batch === 1 ? ops.concatRows(txt, img) : interleave(ops, txt, img, batch); // [L + N + R, D] per sequence, text first
    w.single_transformer_blocks.forEach((bw, i) => {
      s = singleBlock(ops, bw, geom, s, mod.single, c.rope);
      tap?.(`single${i}`, s);
    });
    const emb = ops.linear(act, w.norm_out); // [1, 2D] = (scale, shift)
    if (tap) tap('norm_out', ops.layerNormModulate(ops.sliceRows(s, textLen, c.targetTokens), emb, 1, 0, cfg.eps));
    // the target rows only (text and reference rows dropped), AdaLN as the GEMM's prologue
    const norm = { stats: ops.rowStats(s, cfg.eps), mod: emb, shiftChunk: 1, scaleChunk: 0 };
    if (batch === 1) {
      const v = ops.gemm(s, w.proj_out, { xRows: [textLen, c.targetTokens], norm });
      tap?.('proj_out', v);
      return v;
    }
    const n = c.targetTokens;
    const v = ops.empty([batch * n, ops.shape(w.proj_out)[0] as number], 'velocity');
    for (let b = 0; b < batch; b++) ops.gemm(s, w.proj_out, { xRows: [b * seq + textLen, n], norm, into: { t: v, row0: b * n } });
    tap?.('proj_out', v);
    return v;
  });
}
