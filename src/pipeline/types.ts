/**
 * The engine's public request/result types: what `Pipeline` (generate.ts) takes and returns, in the
 * Node CLI and behind the worker's Comlink surface alike (src/worker/api.ts re-exports them).
 * Plain data only, so every value crosses a worker boundary by structured clone.
 */
import type { QuantFormat } from '../util/dtype';

/**
 * Where a model comes from: a hub repo id (`owner/name`), an http(s) base URL, `store:<id>` (a model
 * downloaded into this browser's storage: StoredModel.id; works offline), or (Node) a folder.
 */
export type ModelSource = string;

export interface LoadProgress {
  /** What is being loaded: a file path inside the model, or a phase. */
  file: string;
  loadedBytes: number;
  totalBytes: number;
}

/** How a model is loaded (Pipeline.load, the worker's load, the CLI). */
export interface LoadOptions {
  /**
   * Quantize the text encoder's and the transformer's linear weights while loading (src/util/quant.ts;
   * per-tensor format by src/weights/quantRule.ts: q4 keeps the transformer's embedders, modulations
   * and final layer at q8); default: keep the checkpoint's dtype.
   */
  quant?: QuantFormat;
  /**
   * Keep only one stage's weights on the GPU at a time: every generate() reads the text encoder,
   * frees it, then the transformer, then the VAE decoder (the peak is the largest stage, not the
   * sum), at the price of reading all weights again for every image.
   */
  lowMemory?: boolean;
  /**
   * Storage of the transformer's GEMM and attention outputs: 'f16' halves their memory and traffic
   * (residual streams, norm statistics, softmax and accumulators stay f32); 'f32' is the exact path.
   * 'auto' (default): f16 on adapters with `shader-f16`, else f32. f16 storage uses WGSL's core
   * pack2x16float/unpack2x16float, so 'f16' works on any adapter.
   */
  precision?: Precision;
  /**
   * How a base model runs classifier-free guidance: 'batch' — one transformer pass over a batch of 2
   * (prompt and negative prompt: each weight read once per step, twice the activations); 'two passes'
   * — one pass per branch (diffusers' order). 'auto' (default): the batch, except in low-memory mode
   * and where its single-stream buffer would exceed the device's binding limits (cfgBatchFits).
   * The images are the same either way, bit for bit.
   */
  cfg?: CfgMode;
}

/** Activation storage precision of the transformer (LoadOptions.precision). */
export type Precision = 'auto' | 'f32' | 'f16';

/** How classifier-free guidance runs (LoadOptions.cfg). */
export type CfgMode = 'auto' | 'batch' | 'two passes';

export interface ModelInfo {
  source: ModelSource;
  /**
   * Weight bytes read at load (normal mode), or read by every generate() stage by stage (low-memory
   * mode). The token embedding table is not included: only a prompt's rows are read, when needed.
   */
  weightBytes: number;
  /** Human-readable summary of the configs (layers, hidden sizes). */
  summary: string;
  /**
   * Step-distilled (model_index.json `"is_distilled": true`, e.g. FLUX.2-klein-4B): runs without
   * classifier-free guidance. false: a base model (FLUX.2-klein-base-4B), which runs CFG.
   */
  distilled: boolean;
  /** The model's default denoising steps: 4 distilled, 50 base (BFL's FLUX2_MODEL_INFO defaults). */
  defaultSteps: number;
  /** The model's default guidance scale: 1 distilled (no CFG), 4 base. */
  defaultGuidance: number;
}

/** A decoded reference image for editing: RGBA8, row-major, width·height·4 bytes (alpha is ignored). */
export interface ReferenceImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

export interface GenerateRequest {
  prompt: string;
  /** Output size in pixels; multiples of 16, 64…2048. */
  width: number;
  height: number;
  /** Denoising steps (ModelInfo.defaultSteps: 4 for the distilled klein, 50 for the base model). */
  steps: number;
  seed: number;
  /**
   * Classifier-free guidance scale g, a finite number 0…100; default ModelInfo.defaultGuidance (1
   * distilled, 4 base). A base model with g > 1 runs the transformer on both contexts every step (one
   * pass over a batch of 2, or two passes: LoadOptions.cfg) and uses
   * v = v_uncond + g·(v_cond − v_uncond); g ≤ 1 runs one pass without CFG (as diffusers does). A
   * distilled model accepts only 1.
   */
  guidance?: number;
  /**
   * The unconditional branch's prompt under CFG; default '' (diffusers' fixed negative prompt). Only a
   * base model with guidance > 1 uses it; anything else refuses a non-empty one.
   */
  negativePrompt?: string;
  /** Injected initial noise [1, 128, H/16, W/16] flattened (parity tests); drawn from `seed` when absent. */
  latents?: Float32Array;
  /**
   * Reference images for editing / multi-reference generation (at most 4; each side ≥ 64 px,
   * aspect ≤ 8). Preprocessed as diffusers does (downscale above 1024², center-crop to multiples of 16).
   */
  references?: ReferenceImage[];
  /**
   * LoRAs applied to the transformer for this request, by the names given to Pipeline.addLora, in
   * order; strength a finite number (|strength| ≤ LORA_STRENGTH_MAX; 0 is the same as leaving it
   * out). W·x + Σ strength·scale·B·(A·x) at run time: the stored weights are never changed.
   */
  loras?: LoraUse[];
}

/** One LoRA in a request: a name given to addLora and its strength (1: as trained; negative: the opposite). */
export interface LoraUse {
  name: string;
  strength: number;
}

/** A LoRA file the pipeline holds (Pipeline.addLora). */
export interface LoraInfo {
  name: string;
  /** Naming the file uses: ai-toolkit (`diffusion_model.…`), kohya (`lora_unet_…`) or diffusers/PEFT (`transformer.…`). */
  format: 'ai-toolkit' | 'kohya' | 'peft';
  /** Largest rank of its layers. */
  rank: number;
  /** Weights it changes (a fused qkv counts as three). */
  layers: number;
  /** f32 bytes its A and B matrices hold in memory. */
  bytes: number;
}

/**
 * 'prepare': fitting the live-preview map, seconds on the first request of a model with `onPreview`
 * (or a larger grid) and instant after; then the three stages of every request.
 */
export type Stage = 'prepare' | 'encode' | 'denoise' | 'decode';

export interface GenerateProgress {
  stage: Stage;
  /** 1-based step index while denoising. */
  step?: number;
  steps?: number;
  /** Overall progress in [0, 1]. */
  fraction: number;
  /** Low-memory mode: the stage's weights are being read (totalBytes 0 when not known ahead). */
  load?: { loadedBytes: number; totalBytes: number };
}

/**
 * A live preview after a denoising step (opt-in: pass `onPreview`): the step's latent through a
 * linear latent-pixel → RGB map fitted once per model on its VAE decoder (src/pipeline/preview.ts),
 * not a VAE decode. One pixel per VAE latent pixel: (W/16)·2 × (H/16)·2 = W/8 × H/8.
 */
export interface GeneratePreview {
  /** 1-based step whose result this is. */
  step: number;
  steps: number;
  width: number;
  height: number;
  /** RGBA8, row-major, width·height·4 bytes; the worker transfers its buffer. */
  rgba: Uint8ClampedArray;
}

export interface StageTimings {
  encodeMs: number;
  /** One entry per denoising step (the first also projects the prompt embeddings: context_embedder). */
  stepMs: number[];
  decodeMs: number;
  totalMs: number;
  /** Low-memory mode: time spent reading stage weights, in totalMs but not in the stage times. */
  loadMs?: number;
}

export interface GenerateResult {
  width: number;
  height: number;
  /** RGBA8, row-major, width·height·4 bytes. */
  rgba: Uint8ClampedArray;
  seed: number;
  timings: StageTimings;
}
