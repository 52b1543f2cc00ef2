/**
 * The model downloads the app offers, with their sizes before anything is fetched: the stored pack
 * size is computed from the real FLUX.2 [klein] 4B configs (bench/configs/flux2-klein-4b) by asking
 * the model loaders which tensors they read (`tensorList`) and laying them out exactly as planPack
 * does (`packLayoutBytes`); the download size adds up what the sources hold for those tensors.
 */
import { type Configs, type Flux2TransformerConfig, type Flux2VaeConfig, type Qwen3Config, parseQwen3Config, parseTransformerConfig, parseVaeConfig } from '../model/config';
import { type TensorSpec, tensorList } from '../model/tensorList';
import kleinText from '../../bench/configs/flux2-klein-4b/text_encoder/config.json';
import kleinTransformer from '../../bench/configs/flux2-klein-4b/transformer/config.json';
import kleinVae from '../../bench/configs/flux2-klein-4b/vae/config.json';
import { storedBytes, targetDtype } from '../weights/convert';
import { type PackQuant, TENSOR_ALIGN } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import type { Component } from '../weights/sourceTensor';

/**
 * Stored bytes of a pack of `quant` holding `specs`, including alignment padding as planPack lays
 * it out: exact for bf16 sources. `repackGroup`: components read from GGUF K-quant blocks, whose q4
 * weights keep their codes at that group size (Q4_K: 32, weights/ggufRepack.ts) instead of 64 — an
 * estimate, since a file's mix of block types is not known before it is read.
 */
export function packLayoutBytes(specs: readonly TensorSpec[], quant: PackQuant, repackGroup: Partial<Record<Component, number>> = {}): number {
  let offset = 0;
  for (const s of specs) {
    const dtype = targetDtype(s.component, { name: s.name, shape: s.shape, plainDtype: 'bf16' }, quant);
    const group = dtype === 'q4' ? repackGroup[s.component] : undefined;
    offset = Math.ceil((offset + storedBytes(dtype, s.shape, group)) / TENSOR_ALIGN) * TENSOR_ALIGN;
  }
  return offset;
}

/**
 * Extra stored bytes when a share of a GGUF file's 4-bit weights are 6-bit blocks (Q6_K), which
 * keep their codes as q8 at G = 16 (convert.ts targetDtype) instead of q4: `q6Share` of every q4
 * tensor's bytes at that layout difference (an estimate, like the mix itself).
 */
function q6KeptBytes(specs: readonly TensorSpec[], quant: PackQuant, repackGroup: Partial<Record<Component, number>>, q6Share: number): number {
  let extra = 0;
  for (const s of specs) {
    const dtype = targetDtype(s.component, { name: s.name, shape: s.shape, plainDtype: 'bf16' }, quant);
    if (dtype !== 'q4' || repackGroup[s.component] === undefined) continue;
    extra += q6Share * (storedBytes('q8', s.shape, 16) - storedBytes('q4', s.shape, repackGroup[s.component]));
  }
  return Math.round(extra);
}

/** How a source stores weights, for the download size: bytes per weight of 2-D tensors, and of the rest. */
interface SourceDensity {
  /** Bytes per element of 2-D (linear, embedding) weights. */
  linear: number;
  /** Bytes per element of other tensors (norms, biases, convolutions). */
  other: number;
}

const BF16: SourceDensity = { linear: 2, other: 2 };
/** fp8 E4M3 linear weights (1 B) with per-tensor scales; the rest bf16. */
const FP8: SourceDensity = { linear: 1, other: 2 };
/**
 * GGUF "Q4_K_M" mixes: Q4_K (4.5 bits/weight) for most linear weights, Q6_K (6.5625) for some
 * (attn_v, ffn_down halves) — llama.cpp's own average for Q4_K_M 7B-class models is ≈ 4.85 bits.
 */
const GGUF_Q4_K_M: SourceDensity = { linear: 4.85 / 8, other: 4 };
/** Share of Q6_K weights that makes Q4_K_M's average: 4.5·(1 − f) + 6.5625·f = 4.85 → f ≈ 0.17. */
const Q4_K_M_Q6_SHARE = (4.85 - 4.5) / (6.5625 - 4.5);
/**
 * GGUF "Q3_K_M": Q3_K (3.4375 bits/weight) for most linear weights, Q4_K/Q5_K for attention values
 * and some feed-forward down projections — llama.cpp's average for Q3_K_M 7B-class models ≈ 3.9 bits.
 */
const GGUF_Q3_K_M: SourceDensity = { linear: 3.9 / 8, other: 4 };

/**
 * The measured quality cost of a Q3_K transformer (src/pipeline/kquant.test.ts, golden t2i-64 case,
 * every 2-D transformer weight rounded as the K-quant: weight rel RMS 0.155 vs 0.078 for Q4_K;
 * final-latent cosine against the f32 reference 0.984 vs 0.996).
 */
const Q3_K_QUALITY = 'on our golden check its weights carry twice the error of Q4_K, final-image cosine 0.984 against 0.996';

function sourceBytes(specs: readonly TensorSpec[], density: Partial<Record<Component, SourceDensity>>): number {
  let n = 0;
  for (const s of specs) {
    const d = density[s.component] ?? BF16;
    const numel = s.shape.reduce((a, b) => a * b, 1);
    n += numel * (s.shape.length === 2 ? d.linear : d.other);
  }
  return Math.round(n);
}

/** One offered download. */
export interface ModelChoice {
  id: string;
  label: string;
  description: string;
  recipe: PackRecipe;
  /** Bytes stored in IndexedDB once done (exact for the real configs from bf16 and fp8; GGUF: estimated). */
  storedBytes: number;
  /** Bytes fetched to build it (bf16 and fp8: exact; GGUF: estimated from the quant mix). */
  downloadBytes: number;
  /** Whether the download size is an estimate. */
  approximate: boolean;
  /** Group size of the q4 weights per component where it is not the default 64 (GGUF Q4_K codes: 32). */
  repackGroup: Partial<Record<Component, number>>;
  recommended: boolean;
}

/** The real klein 4B configs bundled with the app (same files the benchmark uses). */
export function kleinConfigs(): Configs {
  return {
    textEncoder: parseQwen3Config(kleinText) as Qwen3Config,
    transformer: parseTransformerConfig(kleinTransformer) as Flux2TransformerConfig,
    vae: parseVaeConfig(kleinVae) as Flux2VaeConfig,
  };
}

/** The model the app and the CLI load by default: the official klein 4B repo (bf16, diffusers layout). */
export const DEFAULT_MODEL = 'black-forest-labs/FLUX.2-klein-4B';

/**
 * The base (non-distilled) klein 4B: the same architecture and configs as DEFAULT_MODEL (docs/flux2-klein.md
 * §2.1), its model_index.json without `"is_distilled": true`, so it runs classifier-free guidance.
 */
export const KLEIN_BASE_MODEL = 'black-forest-labs/FLUX.2-klein-base-4B';

/**
 * What the base model costs and gives, for its choices: 50 steps (ModelInfo.defaultSteps) of two
 * transformer passes each (CFG at the default guidance 4) against the distilled model's 4 of one.
 */
const BASE_MODEL_NOTE =
  'The base (non-distilled) klein 4B: 50 steps by default with two model passes each (classifier-free guidance), about 25 times ' +
  'the denoising time of the distilled model, in return for a guidance scale and a negative prompt (and LoRAs trained on the base model).';

/** Hub locations of the alternative sources (file names as published). */
export const FP8_REPO = 'black-forest-labs/FLUX.2-klein-4b-fp8';
export const FP8_FILE = 'flux-2-klein-4b-fp8.safetensors';
export const GGUF_TRANSFORMER_REPO = 'unsloth/FLUX.2-klein-4B-GGUF';
export const GGUF_TRANSFORMER_FILE = 'flux-2-klein-4b-Q4_K_M.gguf';
/** The 3-bit transformer, named as the repo names its other quantizations. */
export const GGUF_TRANSFORMER_Q3_FILE = 'flux-2-klein-4b-Q3_K_M.gguf';
export const GGUF_TEXT_REPO = 'unsloth/Qwen3-4B-GGUF';
export const GGUF_TEXT_FILE = 'Qwen3-4B-Q4_K_M.gguf';

/**
 * The offered downloads of `base` (default: the official klein 4B repo) and of `baseModel` (the
 * non-distilled klein, default KLEIN_BASE_MODEL, listed last), sizes from `configs` (both share them).
 */
export async function modelChoices(base: string = DEFAULT_MODEL, configs: Configs = kleinConfigs(), baseModel: string = KLEIN_BASE_MODEL): Promise<ModelChoice[]> {
  const specs = await tensorList(configs);
  const choice = (
    id: string,
    label: string,
    description: string,
    recipe: PackRecipe,
    density: Partial<Record<Component, SourceDensity>>,
    extra: { approximate?: boolean; recommended?: boolean; repackGroup?: Partial<Record<Component, number>>; q6Share?: Partial<Record<Component, number>> } = {},
  ): ModelChoice => ({
    id,
    label,
    description,
    recipe,
    storedBytes:
      packLayoutBytes(specs, recipe.quant, extra.repackGroup) +
      Object.entries(extra.q6Share ?? {}).reduce(
        (sum, [c, share]) => sum + q6KeptBytes(specs.filter((s) => s.component === c), recipe.quant, extra.repackGroup ?? {}, share),
        0,
      ),
    downloadBytes: sourceBytes(specs, density),
    approximate: extra.approximate ?? false,
    repackGroup: extra.repackGroup ?? {},
    recommended: extra.recommended ?? false,
  });
  const gguf = (transformerFile: string) => ({
    transformer: { source: GGUF_TRANSFORMER_REPO, path: transformerFile, format: 'gguf' as const },
    text_encoder: { source: GGUF_TEXT_REPO, path: GGUF_TEXT_FILE, format: 'gguf' as const },
  });
  return [
    choice(
      'klein-gguf-q4',
      '4-bit from GGUF Q4_K_M (recommended)',
      'The smallest faithful download: Q4_K_M files of the transformer and of Qwen3-4B (layers 0–26 and the token embeddings only), ' +
        'their 4- and 6-bit codes kept as they are (≤ 0.05 % added error); the VAE from the official repo.',
      { name: 'FLUX.2 [klein] 4B · GGUF Q4_K_M → 4-bit', quant: 'q4', base, overrides: gguf(GGUF_TRANSFORMER_FILE) },
      { transformer: GGUF_Q4_K_M, text_encoder: GGUF_Q4_K_M },
      // Q4_K codes kept at G = 32, Q6_K as q8 at G = 16
      { approximate: true, recommended: true, repackGroup: { transformer: 32, text_encoder: 32 }, q6Share: { transformer: Q4_K_M_Q6_SHARE, text_encoder: Q4_K_M_Q6_SHARE } },
    ),
    choice(
      'klein-gguf-q3',
      '3-bit transformer from GGUF Q3_K_M (smallest download)',
      `A Q3_K_M transformer: about ${Math.round(100 * (1 - GGUF_Q3_K_M.linear / GGUF_Q4_K_M.linear))} % less transformer download than Q4_K_M, ` +
        `and visibly less faithful (${Q3_K_QUALITY}). Its 3-bit codes are kept in 4-bit groups of 16, so it stores more than the recommended choice.`,
      { name: 'FLUX.2 [klein] 4B · GGUF Q3_K_M → 4-bit', quant: 'q4', base, overrides: gguf(GGUF_TRANSFORMER_Q3_FILE) },
      { transformer: GGUF_Q3_K_M, text_encoder: GGUF_Q4_K_M },
      // Q3_K codes kept at G = 16 (its Q4_K/Q5_K share counted at that size too), the text encoder as above
      { approximate: true, repackGroup: { transformer: 16, text_encoder: 32 }, q6Share: { text_encoder: Q4_K_M_Q6_SHARE } },
    ),
    choice('klein-q4', '4-bit from the official bf16 weights', 'Official bf16 weights, quantized to 4-bit groups of 64 while they download: the same stored size as the recommended choice from a download about five times larger.', { name: 'FLUX.2 [klein] 4B · 4-bit', quant: 'q4', base }, {}),
    choice('klein-q8', '8-bit', 'Official bf16 weights, quantized to 8-bit: closest to the reference, twice the memory.', { name: 'FLUX.2 [klein] 4B · 8-bit', quant: 'q8', base }, {}),
    choice(
      'klein-fp8-q8',
      '8-bit from the fp8 release',
      'The official fp8 transformer (half the download of bf16) requantized to 8-bit; text encoder and VAE from the bf16 repo.',
      { name: 'FLUX.2 [klein] 4B · fp8 → 8-bit', quant: 'q8', base, overrides: { transformer: { source: FP8_REPO, path: FP8_FILE, format: 'safetensors' } } },
      { transformer: FP8 },
    ),
    choice(
      'klein-base-q4',
      'Base model, 4-bit (50 steps, slower; guidance and negative prompt)',
      `${BASE_MODEL_NOTE} Official bf16 weights quantized to 4-bit groups of 64 while they download.`,
      { name: 'FLUX.2 [klein] base 4B · 4-bit', quant: 'q4', base: baseModel },
      {},
    ),
    choice(
      'klein-base-q8',
      'Base model, 8-bit (50 steps, slower; guidance and negative prompt)',
      `${BASE_MODEL_NOTE} Official bf16 weights quantized to 8-bit: closest to the reference, twice the memory.`,
      { name: 'FLUX.2 [klein] base 4B · 8-bit', quant: 'q8', base: baseModel },
      {},
    ),
  ];
}
