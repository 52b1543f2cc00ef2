/**
 * The UI's handle on the safety worker (./safetyWorker.ts). Import it with `await import(...)`: the
 * worker bundle (transformers.js, onnxruntime-web) is fetched only when a checker is created, so
 * the app costs nothing extra while the checker is off.
 */
import * as Comlink from 'comlink';
import type { SafetyConfig } from '../config';
import type { BrowserSafetyResult, SafetyBackend, SafetyWorkerApi } from './api';

export type { BrowserSafetyResult, SafetyBackend };

export interface BrowserSafetyChecker {
  readonly config: SafetyConfig;
  /** The model's labels in id order. */
  readonly labels: string[];
  /** Load time of the classifier (ms), download included on first use. */
  readonly loadMs: number;
  /** Where the classifier runs (WebGPU or WASM). */
  readonly device: SafetyBackend;
  /** Device auto on WASM: why not WebGPU. */
  readonly fallback?: string;
  /** Classifies an RGBA image (width·height·4 bytes; copied, the caller keeps its buffer). */
  check(rgba: Uint8ClampedArray, width: number, height: number): Promise<BrowserSafetyResult>;
  /** Ends the worker. */
  dispose(): void;
}

/** Starts a safety worker and loads `config`'s classifier; rejects (and ends the worker) with load()'s errors. */
export async function createBrowserSafetyChecker(config: SafetyConfig): Promise<BrowserSafetyChecker> {
  const worker = new Worker(new URL('./safetyWorker.ts', import.meta.url), { type: 'module', name: 'kleinbild-safety' });
  const api = Comlink.wrap<SafetyWorkerApi>(worker);
  const failed = new Promise<never>((_, reject) =>
    worker.addEventListener('error', (ev) => reject(new Error(`the safety worker failed to start: ${ev.message || 'see the browser console'}`))),
  );
  const dispose = () => {
    api[Comlink.releaseProxy]();
    worker.terminate();
  };
  try {
    const { labels, ms, device, fallback } = await Promise.race([api.load(config), failed]);
    return {
      config,
      labels,
      loadMs: ms,
      device,
      ...(fallback !== undefined ? { fallback } : {}),
      check: (rgba, width, height) => {
        const copy = rgba.slice();
        return Promise.race([api.check(Comlink.transfer(copy, [copy.buffer]), width, height), failed]);
      },
      dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  }
}
