/**
 * Qwen3 decoder used as the FLUX.2 klein text encoder: token embedding + the first
 * max(TEXT_HIDDEN_STATE_LAYERS) decoder layers; returns per-token concat(h9, h18, h27).
 * Matches transformers Qwen3Model with output_hidden_states=True (hidden_states[k] = output of
 * decoder layer k, 1-based, before the final norm — which is never applied) and diffusers
 * Flux2KleinPipeline._get_qwen3_prompt_embeds. docs/flux2-klein.md §3.
 */
import type { Ops } from '../ops/ops';
import { qwenRopeTable } from './ropeTables';
import { type Qwen3Config, TEXT_HIDDEN_STATE_LAYERS } from './config';
import type { WeightGetter, TokenEmbedding } from '../weights/weightGetter';

export interface Qwen3LayerWeights<T> {
  input_layernorm: T;
  post_attention_layernorm: T;
  self_attn: { q_proj: T; k_proj: T; v_proj: T; o_proj: T; q_norm: T; k_norm: T };
  mlp: { gate_proj: T; up_proj: T; down_proj: T };
}

export interface Qwen3Weights<T> {
  /** [V, D], looked up on the host: only the prompt's rows are read (embeddingRows.ts). */
  embed_tokens: TokenEmbedding;
  /** Only the layers needed for the last used hidden state. */
  layers: Qwen3LayerWeights<T>[];
}

/** Number of decoder layers the encoder path runs (27 for klein). */
export const LAYERS_NEEDED = Math.max(...TEXT_HIDDEN_STATE_LAYERS);

/**
 * Loads `model.layers.{0..LAYERS_NEEDED-1}` and binds `model.embed_tokens` for row lookups (nothing
 * of the table is read here); no final norm, no lm_head.
 */
export async function loadQwen3<T>(w: WeightGetter<T>, cfg: Qwen3Config): Promise<Qwen3Weights<T>> {
  const { hidden_size: d, intermediate_size: m, num_attention_heads: h, num_key_value_heads: hkv, head_dim: dh } = cfg;
  const layers: Qwen3LayerWeights<T>[] = [];
  for (let i = 0; i < LAYERS_NEEDED; i++) {
    const p = `model.layers.${i}`;
    layers.push({
      input_layernorm: await w.get(`${p}.input_layernorm.weight`, [d]),
      post_attention_layernorm: await w.get(`${p}.post_attention_layernorm.weight`, [d]),
      self_attn: {
        q_proj: await w.get(`${p}.self_attn.q_proj.weight`, [h * dh, d]),
        k_proj: await w.get(`${p}.self_attn.k_proj.weight`, [hkv * dh, d]),
        v_proj: await w.get(`${p}.self_attn.v_proj.weight`, [hkv * dh, d]),
        o_proj: await w.get(`${p}.self_attn.o_proj.weight`, [d, h * dh]),
        q_norm: await w.get(`${p}.self_attn.q_norm.weight`, [dh]),
        k_norm: await w.get(`${p}.self_attn.k_norm.weight`, [dh]),
      },
      mlp: {
        gate_proj: await w.get(`${p}.mlp.gate_proj.weight`, [m, d]),
        up_proj: await w.get(`${p}.mlp.up_proj.weight`, [m, d]),
        down_proj: await w.get(`${p}.mlp.down_proj.weight`, [d, m]),
      },
    });
  }
  return { embed_tokens: w.tokenEmbedding('model.embed_tokens.weight', [cfg.vocab_size, d]), layers };
}

/** One Qwen3 decoder layer, in place on x: [S, D] (pre-norm attention + SwiGLU MLP, residuals). */
function decoderLayer<T>(ops: Ops<T>, lw: Qwen3LayerWeights<T>, cfg: Qwen3Config, x: T, rope: T, keyMask: T): T {
  const { num_attention_heads: h, num_key_value_heads: hkv, head_dim: dh, rms_norm_eps: eps } = cfg;
  return ops.tidy(() => {
    const a = lw.self_attn;
    const hs = ops.rmsNorm(x, lw.input_layernorm, eps);
    // q/k RMSNorm per head BEFORE RoPE (Qwen3 specific); RoPE pairs are half-split (i, i+Dh/2)
    const q = ops.rope(ops.rmsNorm(ops.linear(hs, a.q_proj), a.q_norm, eps, dh), rope, h, 'halfSplit');
    const k = ops.rope(ops.rmsNorm(ops.linear(hs, a.k_proj), a.k_norm, eps, dh), rope, hkv, 'halfSplit');
    const v = ops.linear(hs, a.v_proj);
    const attn = ops.attention(q, k, v, { heads: h, kvHeads: hkv, causal: true, keyMask });
    ops.residual(x, ops.linear(attn, a.o_proj));
    const hm = ops.rmsNorm(x, lw.post_attention_layernorm, eps);
    const mlp = ops.linear(ops.siluMul(ops.linear(hm, lw.mlp.gate_proj), ops.linear(hm, lw.mlp.up_proj)), lw.mlp.down_proj);
    ops.residual(x, mlp);
    return x;
  });
}

/**
 * Prompt embeddings: ids/mask [S] (S = 512, right-padded) → [S, 3·D] = per token
 * concat(hidden_states[9], [18], [27]). Pad positions are computed like any other (their keys are
 * masked); they are part of the conditioning (flux2 issue #59). The token embedding rows are
 * gathered on the host (awaits their range reads) and uploaded as the [S, D] input.
 */
export async function qwen3PromptEmbeds<T>(ops: Ops<T>, w: Qwen3Weights<T>, cfg: Qwen3Config, ids: Int32Array, mask: Int32Array): Promise<T> {
  const embeds = await w.embed_tokens.rows(ids); // [S, D]
  return ops.tidy(() => {
    const s = ids.length;
    const rope = ops.fromHost(qwenRopeTable(s, cfg.head_dim, cfg.rope_theta).data, [s, cfg.head_dim / 2, 2], 'qwen3.rope');
    const keyMask = ops.fromHost(Float32Array.from(mask), [s], 'qwen3.key_mask');
    const x = ops.fromHost(embeds, [s, cfg.hidden_size], 'qwen3.inputs_embeds');
    const states: T[] = [];
    for (let i = 0; i < w.layers.length; i++) {
      decoderLayer(ops, w.layers[i] as Qwen3LayerWeights<T>, cfg, x, rope, keyMask);
      // hidden_states[i + 1] is the output of layer i; keep a copy for the ones we need
      if ((TEXT_HIDDEN_STATE_LAYERS as readonly number[]).includes(i + 1)) states.push(ops.sliceRows(x, 0, s));
    }
    const [h9, h18, h27] = states as [T, T, T];
    return ops.concatCols(ops.concatCols(h9, h18), h27);
  });
}
