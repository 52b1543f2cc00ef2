/**
 * Architecture configs, read from each component's `config.json` (diffusers/transformers field
 * names, verbatim). Nothing model-size-specific is hard-coded: the real klein 4B and the tiny
 * golden checkpoint go through the same code.
 *
 * Upstream: diffusers Flux2Transformer2DModel / AutoencoderKLFlux2 ctor args and transformers
 * Qwen3Config (docs/flux2-klein.md §2.3, §2.4, §2.6).
 */
import { InvalidInput } from '../errors';
import type { FileSource } from '../weights/source';

/** transformers Qwen3Config (only the fields the encoder path uses). */
export interface Qwen3Config {
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly head_dim: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly vocab_size: number;
}

/** diffusers Flux2Transformer2DModel config. */
export interface Flux2TransformerConfig {
  readonly in_channels: number;
  readonly out_channels: number | null;
  readonly num_layers: number;
  readonly num_single_layers: number;
  readonly attention_head_dim: number;
  readonly num_attention_heads: number;
  readonly joint_attention_dim: number;
  readonly mlp_ratio: number;
  readonly axes_dims_rope: readonly number[];
  readonly rope_theta: number;
  readonly eps: number;
  readonly timestep_guidance_channels: number;
  readonly guidance_embeds: boolean;
  readonly patch_size: number;
}

/** diffusers AutoencoderKLFlux2 config. */
export interface Flux2VaeConfig {
  readonly in_channels: number;
  readonly out_channels: number;
  readonly latent_channels: number;
  readonly block_out_channels: readonly number[];
  readonly decoder_block_out_channels?: readonly number[] | null;
  readonly layers_per_block: number;
  readonly norm_num_groups: number;
  readonly batch_norm_eps: number;
  readonly patch_size: readonly number[];
  readonly mid_block_add_attention: boolean;
  readonly use_quant_conv: boolean;
  readonly use_post_quant_conv: boolean;
}

/**
 * Qwen3 hidden states concatenated into the DiT context: outputs of decoder layers 9, 18, 27
 * (1-based) = 0-based layers 8, 17, 26. Pipeline constant of diffusers Flux2KleinPipeline
 * (`text_encoder_out_layers=(9, 18, 27)`), not part of any config.json.
 */
export const TEXT_HIDDEN_STATE_LAYERS = [9, 18, 27] as const;

/** Text sequence length the pipeline pads/truncates to (diffusers `max_sequence_length=512`). */
export const TEXT_SEQ_LEN = 512;

function need(obj: Record<string, unknown>, file: string, fields: readonly string[]): void {
  for (const f of fields) {
    if (obj[f] === undefined) throw new InvalidInput(`${file}: missing field "${f}"`);
  }
}

/** Validates the fields we use; returns the config frozen. Errors: InvalidInput naming file and field. */
export function parseQwen3Config(json: Record<string, unknown>, file = 'text_encoder/config.json'): Qwen3Config {
  need(json, file, ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'rms_norm_eps', 'rope_theta', 'vocab_size']);
  const cfg = { ...json } as unknown as Qwen3Config & { head_dim?: number };
  // transformers default: head_dim = hidden_size / num_attention_heads when absent
  const headDim = cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads;
  const maxLayer = Math.max(...TEXT_HIDDEN_STATE_LAYERS);
  if (cfg.num_hidden_layers < maxLayer) {
    throw new InvalidInput(`${file}: num_hidden_layers ${cfg.num_hidden_layers} < ${maxLayer} (hidden state ${maxLayer} is needed)`);
  }
  return Object.freeze({ ...cfg, head_dim: headDim });
}

export function parseTransformerConfig(json: Record<string, unknown>, file = 'transformer/config.json'): Flux2TransformerConfig {
  need(json, file, ['in_channels', 'num_layers', 'num_single_layers', 'attention_head_dim', 'num_attention_heads', 'joint_attention_dim', 'mlp_ratio', 'axes_dims_rope', 'rope_theta', 'eps', 'timestep_guidance_channels']);
  const cfg = Object.freeze({ out_channels: null, guidance_embeds: false, patch_size: 1, ...json }) as unknown as Flux2TransformerConfig;
  const axesSum = cfg.axes_dims_rope.reduce((a, b) => a + b, 0);
  if (axesSum !== cfg.attention_head_dim) {
    throw new InvalidInput(`${file}: axes_dims_rope sum ${axesSum} ≠ attention_head_dim ${cfg.attention_head_dim}`);
  }
  if (cfg.guidance_embeds) throw new InvalidInput(`${file}: guidance_embeds=true (FLUX.2 dev) is not supported; klein has none`);
  if (cfg.patch_size !== 1) throw new InvalidInput(`${file}: patch_size ${cfg.patch_size} ≠ 1`);
  return cfg;
}

export function parseVaeConfig(json: Record<string, unknown>, file = 'vae/config.json'): Flux2VaeConfig {
  need(json, file, ['latent_channels', 'block_out_channels', 'layers_per_block', 'norm_num_groups', 'batch_norm_eps', 'patch_size']);
  const cfg = Object.freeze({ in_channels: 3, out_channels: 3, mid_block_add_attention: true, use_quant_conv: true, use_post_quant_conv: true, ...json }) as unknown as Flux2VaeConfig;
  const [ph, pw] = cfg.patch_size;
  if (ph !== 2 || pw !== 2) throw new InvalidInput(`${file}: patch_size [${cfg.patch_size.join(', ')}] ≠ [2, 2]`);
  return cfg;
}

/** Transformer hidden size D = heads · head dim. */
export function hiddenSize(cfg: Flux2TransformerConfig): number {
  return cfg.num_attention_heads * cfg.attention_head_dim;
}

/** MLP width M = mlp_ratio · D (diffusers `int(dim * mlp_ratio)`). */
export function mlpHidden(cfg: Flux2TransformerConfig): number {
  return Math.trunc(hiddenSize(cfg) * cfg.mlp_ratio);
}

/**
 * model_index.json's pipeline flag (diffusers Flux2KleinPipeline `register_to_config(is_distilled)`):
 * the step-distilled klein has `"is_distilled": true` and runs without CFG; the base model lacks the
 * field (→ false) and runs classifier-free guidance (docs/flux2-klein.md §2.2, §9).
 */
export interface ModelIndex {
  readonly distilled: boolean;
}

/**
 * Reads `model_index.json`: a model with one is distilled only when it says `"is_distilled": true`.
 * A model without the file (a Kleinbild pack: packFormat.ts PACK_SMALL_FILES does not copy it) is
 * taken as distilled, what every such model was before base models were supported. Errors:
 * InvalidInput when `is_distilled` is present but not a boolean; the source's read errors.
 */
export async function readModelIndex(src: FileSource): Promise<ModelIndex> {
  const file = 'model_index.json';
  if (!(await src.exists(file))) return Object.freeze({ distilled: true });
  const json = await src.json<unknown>(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidInput(`${file}: expected a JSON object`);
  const flag = (json as Record<string, unknown>).is_distilled ?? false;
  if (typeof flag !== 'boolean') throw new InvalidInput(`${file}: "is_distilled" is ${JSON.stringify(flag)}; expected true or false`);
  return Object.freeze({ distilled: flag });
}

/** The three components' configs of one model. */
export interface Configs {
  textEncoder: Qwen3Config;
  transformer: Flux2TransformerConfig;
  vae: Flux2VaeConfig;
}

/**
 * Reads and cross-checks `text_encoder/`, `transformer/` and `vae/config.json` of a model (diffusers
 * layout or a pack). Errors: InvalidInput naming the file and field; the source's read errors.
 */
export async function readConfigs(src: FileSource): Promise<Configs> {
  const textEncoder = parseQwen3Config(await src.json('text_encoder/config.json'));
  const transformer = parseTransformerConfig(await src.json('transformer/config.json'));
  const vae = parseVaeConfig(await src.json('vae/config.json'));
  if (transformer.joint_attention_dim !== 3 * textEncoder.hidden_size) {
    throw new InvalidInput(`transformer joint_attention_dim ${transformer.joint_attention_dim} ≠ 3 × text hidden_size ${textEncoder.hidden_size}`);
  }
  const patchCh = vae.latent_channels * 4;
  if (transformer.in_channels !== patchCh) throw new InvalidInput(`transformer in_channels ${transformer.in_channels} ≠ 4 × vae latent_channels ${vae.latent_channels}`);
  return { textEncoder, transformer, vae };
}
