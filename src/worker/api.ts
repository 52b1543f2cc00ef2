/**
 * THE contract between the UI thread and the engine worker (Comlink). Also the engine's public
 * types: the Node CLI calls the same `Pipeline` with the same request/result shapes.
 */

/**
 * Where a model comes from: a hub repo id (`owner/name`), an http(s) base URL, `store:<id>` (a model
 * downloaded into this browser's storage: StoredModel.id; works offline), or (Node) a folder.
 */
export type ModelSource = string;

export const DEFAULT_MODEL: ModelSource = 'black-forest-labs/FLUX.2-klein-4B';

export interface LoadProgress {
  /** What is being loaded: a file path inside the model, or a phase. */
  file: string;
  loadedBytes: number;
  totalBytes: number;
}

/** How a model is loaded (Pipeline.load, the worker's load, the CLI). */
export interface LoadOptions {
  /** Quantize linear weights while loading (src/weights/quant.ts); default: keep the checkpoint's dtype. */
  quant?: 'q8' | 'q4';
  /**
   * Keep only one stage's weights on the GPU at a time: every generate() reads the text encoder,
   * frees it, then the transformer, then the VAE decoder (the peak is the largest stage, not the
   * sum), at the price of reading all weights again for every image.
   */
  lowMemory?: boolean;
}

export interface ModelInfo {
  source: ModelSource;
  /**
   * Weight bytes read at load (normal mode), or read by every generate() stage by stage (low-memory
   * mode). The token embedding table is not included: only a prompt's rows are read, when needed.
   */
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

/**
 * The GPU adapter and the device the engine got from it (the UI's capability report): vendor,
 * fallback/CPU flags, enabled and offered features, subgroup sizes, the maximized limits (src/gpu/device.ts).
 */
export type AdapterCapabilities = AdapterReport;

export interface Capabilities {
  /** null when WebGPU works; otherwise the message to show. */
  error: string | null;
  adapter: AdapterCapabilities | null;
}

import type { AdapterReport } from '../gpu/device';
import type { DownloadPlan, DownloadProgress, StorageReport, StoredModel } from '../store/types';
import type { PackRecipe } from '../weights/packJob';
import type { PackQuant } from '../weights/packFormat';
import type { LocalFile } from '../weights/fileListSource';
import type { ImportPlan } from '../store/importFolder';
export type { DownloadPlan, DownloadProgress, ImportPlan, LocalFile, PackQuant, PackRecipe, StorageReport, StoredModel };

/** What the worker exposes through Comlink. Callbacks must be wrapped in `Comlink.proxy`. */
export interface GeneratorApi {
  capabilities(): Promise<Capabilities>;
  load(source: ModelSource, onProgress: (p: LoadProgress) => void, options?: LoadOptions): Promise<ModelInfo>;
  /**
   * `onPreview`, when given, receives a GeneratePreview after every step (the first call with it
   * fits the model's preview map: two small VAE decodes, once per loaded model).
   */
  generate(req: GenerateRequest, onProgress: (p: GenerateProgress) => void, onPreview?: (p: GeneratePreview) => void): Promise<GenerateResult>;
  /** Cancels the running generate(); it rejects with an error named 'Cancelled'. */
  cancel(): void;
  /** The models in this browser's storage (complete and partial), usage, quota and persistence. */
  storage(): Promise<StorageReport>;
  /** What downloading `recipe` would fetch (reads headers only); storedBytes > 0 means it resumes. */
  planDownload(recipe: PackRecipe): Promise<DownloadPlan>;
  /**
   * Downloads (or resumes) `recipe` into the store (src/store/download.ts); one at a time. Errors:
   * StorageFull (quota; what is stored is kept), Cancelled, InvalidInput (busy in another tab),
   * IntegrityFailure, network errors after retries. Progress at most every 250 ms.
   */
  download(recipe: PackRecipe, onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  /**
   * What importing a local folder (files from a directory picker or a drop, paths inside the folder)
   * would store: a Kleinbild pack is copied as it is, a diffusers model converted to `quant`.
   * InvalidInput when the files hold neither.
   */
  planImport(files: LocalFile[], quant: PackQuant): Promise<ImportPlan>;
  /**
   * Imports (or resumes importing) a local folder into the store, without the network; one download
   * or import at a time. Errors as download(), and cancelDownload() cancels it.
   */
  importFolder(files: LocalFile[], quant: PackQuant, onProgress: (p: DownloadProgress) => void): Promise<StoredModel>;
  /** Cancels the running download() or importFolder(); it rejects with an error named 'Cancelled'. */
  cancelDownload(): void;
  /** Deletes a stored model (complete or partial). InvalidInput while a tab downloads or loads it. */
  deleteModel(id: string): Promise<void>;
}
