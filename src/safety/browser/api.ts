/**
 * The Comlink contract of the safety worker (./safetyWorker.ts): an image classifier run by
 * transformers.js on onnxruntime-web's WASM backend, off the UI thread and apart from the engine.
 */
import type { SafetyConfig } from '../config';
import type { SafetyResult } from '../classify';

/** One image's verdict, measured in the worker (the Node checker's SafetyResult). */
export type BrowserSafetyResult = SafetyResult;

export interface SafetyWorkerApi {
  /**
   * Validates `config` and loads its classifier (first time: downloads it into the model store,
   * IndexedDB `kleinbild-models` store `classifierFiles`; later: from there, also offline). Returns the
   * model's labels and the load time (ms). Errors: InvalidInput (config, model location, a flagged
   * label the model lacks); Error naming the model when it cannot be fetched or parsed.
   */
  load(config: SafetyConfig): Promise<{ labels: string[]; ms: number }>;
  /**
   * Classifies an RGBA image (`rgba.length === width·height·4`, alpha ignored). Errors: InvalidInput
   * for a wrong-sized buffer; Error when load() has not succeeded.
   */
  check(rgba: Uint8ClampedArray, width: number, height: number): Promise<BrowserSafetyResult>;
}
