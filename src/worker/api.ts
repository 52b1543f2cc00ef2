/**
 * THE contract between the UI thread and the engine worker (Comlink). Also the engine's public
 * types: the Node CLI calls the same `Pipeline` with the same request/result shapes.
 */

/** Where a model comes from: a hub repo id (`owner/name`), an http(s) base URL, or (Node) a folder. */
export type ModelSource = string;

export const DEFAULT_MODEL: ModelSource = 'black-forest-labs/FLUX.2-klein-4B';

export interface LoadProgress {
  /** What is being loaded: a file path inside the model, or a phase. */
  file: string;
  loadedBytes: number;
  totalBytes: number;
}

export interface ModelInfo {
  source: ModelSource;
  /** Sum of all weight bytes read. */
  weightBytes: number;
  /** Human-readable summary of the configs (layers, hidden sizes). */
  summary: string;
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
  /** Denoising steps (4 for the distilled klein). */
  steps: number;
  seed: number;
  /** Injected initial noise [1, 128, H/16, W/16] flattened (parity tests); drawn from `seed` when absent. */
  latents?: Float32Array;
  /**
   * Reference images for editing / multi-reference generation (at most 4; each side ≥ 64 px,
   * aspect ≤ 8). Preprocessed as diffusers does (downscale above 1024², center-crop to multiples of 16).
   */
  references?: ReferenceImage[];
}

export type Stage = 'encode' | 'denoise' | 'decode';

export interface GenerateProgress {
  stage: Stage;
  /** 1-based step index while denoising. */
  step?: number;
  steps?: number;
  /** Overall progress in [0, 1]. */
  fraction: number;
}

export interface StageTimings {
  encodeMs: number;
  /** One entry per denoising step. */
  stepMs: number[];
  decodeMs: number;
  totalMs: number;
}

export interface GenerateResult {
  width: number;
  height: number;
  /** RGBA8, row-major, width·height·4 bytes. */
  rgba: Uint8ClampedArray;
  seed: number;
  timings: StageTimings;
}

export interface Capabilities {
  /** null when WebGPU works; otherwise the message to show. */
  error: string | null;
  adapter: { vendor: string; architecture: string; description: string; features: string[]; limits: Record<string, number> } | null;
}

/** What the worker exposes through Comlink. Callbacks must be wrapped in `Comlink.proxy`. */
export interface GeneratorApi {
  capabilities(): Promise<Capabilities>;
  load(source: ModelSource, onProgress: (p: LoadProgress) => void): Promise<ModelInfo>;
  generate(req: GenerateRequest, onProgress: (p: GenerateProgress) => void): Promise<GenerateResult>;
  /** Cancels the running generate(); it rejects with an error named 'Cancelled'. */
  cancel(): void;
}
