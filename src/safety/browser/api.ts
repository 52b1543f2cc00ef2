/**
 * The Comlink contract of the safety worker (./safetyWorker.ts): an image classifier run by
 * transformers.js on onnxruntime-web (WebGPU when offered, else WASM), off the UI thread and in a
 * worker of its own, apart from the engine worker (its own GPUDevice when on WebGPU).
 */
import type { SafetyConfig } from '../config';
import type { SafetyResult } from '../classify';

/** One image's verdict, measured in the worker (the Node checker's SafetyResult). */
export type BrowserSafetyResult = SafetyResult;

/** Where the classifier runs: ONNX Runtime Web's WebGPU or WASM execution provider. */
export type SafetyBackend = 'webgpu' | 'wasm';

/** A loaded classifier. */
export interface SafetyLoadResult {
  /** The model's labels in id order. */
  labels: string[];
  /** Load time (ms), download, WebGPU warm-up and a WASM fallback included. */
  ms: number;
  /** Where it runs (config `device`: auto picks WebGPU when offered and working). */
  device: SafetyBackend;
  /** Auto only: why it runs on WASM although WebGPU was tried or wanted (no adapter; WebGPU failed: …). */
  fallback?: string;
}

export interface SafetyWorkerApi {
  /**
   * Validates `config` and loads its classifier (first time: downloads it into the model store,
   * IndexedDB `kleinbild-models` store `classifierFiles`; later: from there, also offline). Returns the
   * model's labels and the load time (ms). Errors: InvalidInput (config, model location, a flagged
   * label the model lacks); Error naming the model when it cannot be fetched or parsed, or (device
   * `webgpu`) when WebGPU is not offered or the model fails there. Device `auto` tries WebGPU first
   * (loaded, then run once on a small grey image) and falls back to WASM, saying why in `fallback`.
   */
  load(config: SafetyConfig): Promise<SafetyLoadResult>;
  /**
   * Classifies an RGBA image (`rgba.length === width·height·4`, alpha ignored). Errors: InvalidInput
   * for a wrong-sized buffer; Error when load() has not succeeded.
   */
  check(rgba: Uint8ClampedArray, width: number, height: number): Promise<BrowserSafetyResult>;
}
