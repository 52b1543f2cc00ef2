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

/** Hub locations of the alternative sources (file names as published). */
export const FP8_REPO = 'black-forest-labs/FLUX.2-klein-4b-fp8';
export const FP8_FILE = 'flux-2-klein-4b-fp8.safetensors';
export const GGUF_TRANSFORMER_REPO = 'unsloth/FLUX.2-klein-4B-GGUF';
export const GGUF_TRANSFORMER_FILE = 'flux-2-klein-4b-Q4_K_M.gguf';
export const GGUF_TEXT_REPO = 'unsloth/Qwen3-4B-GGUF';
export const GGUF_TEXT_FILE = 'Qwen3-4B-Q4_K_M.gguf';

/** The offered downloads of `base` (default: the official klein 4B repo), sizes from `configs`. */
export async function modelChoices(base: string = DEFAULT_MODEL, configs: Configs = kleinConfigs()): Promise<ModelChoice[]> {
  const specs = await tensorList(configs);
  const choice = (
    id: string,
    label: string,
    description: string,
    recipe: PackRecipe,
    density: Partial<Record<Component, SourceDensity>>,
    extra: { approximate?: boolean; recommended?: boolean; repackGroup?: Partial<Record<Component, number>> } = {},
  ): ModelChoice => ({
    id,
    label,
    description,
    recipe,
    storedBytes: packLayoutBytes(specs, recipe.quant, extra.repackGroup),
    downloadBytes: sourceBytes(specs, density),
    approximate: extra.approximate ?? false,
    recommended: extra.recommended ?? false,
  });
  return [
    choice('klein-q4', '4-bit (recommended)', 'Official bf16 weights, quantized to 4-bit groups of 64 while they download.', { name: 'FLUX.2 [klein] 4B · 4-bit', quant: 'q4', base }, {}, { recommended: true }),
    choice('klein-q8', '8-bit', 'Official bf16 weights, quantized to 8-bit: closest to the reference, twice the memory.', { name: 'FLUX.2 [klein] 4B · 8-bit', quant: 'q8', base }, {}),
    choice(
      'klein-fp8-q8',
      '8-bit from the fp8 release',
      'The official fp8 transformer (half the download of bf16) requantized to 8-bit; text encoder and VAE from the bf16 repo.',
      { name: 'FLUX.2 [klein] 4B · fp8 → 8-bit', quant: 'q8', base, overrides: { transformer: { source: FP8_REPO, path: FP8_FILE, format: 'safetensors' } } },
      { transformer: FP8 },
    ),
    choice(
      'klein-gguf-q4',
      '4-bit from GGUF (smallest download)',
      'Q4_K_M GGUF files of the transformer and of Qwen3-4B repacked to 4-bit; VAE from the bf16 repo.',
      {
        name: 'FLUX.2 [klein] 4B · GGUF Q4_K_M → 4-bit',
        quant: 'q4',
        base,
        overrides: {
          transformer: { source: GGUF_TRANSFORMER_REPO, path: GGUF_TRANSFORMER_FILE, format: 'gguf' },
          text_encoder: { source: GGUF_TEXT_REPO, path: GGUF_TEXT_FILE, format: 'gguf' },
        },
      },
      { transformer: GGUF_Q4_K_M, text_encoder: GGUF_Q4_K_M },
      { approximate: true, repackGroup: { transformer: 32, text_encoder: 32 } }, // Q4_K codes kept at G = 32
    ),
  ];
}
