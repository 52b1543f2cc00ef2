/**
 * Where the browser safety checker runs, decided apart from transformers.js so it can be tested in
 * Node: config `device` (auto / webgpu / wasm) against what the browser offers, and when a failed
 * WebGPU load falls back to WASM.
 */
import type { SafetyDevice } from '../config';
import type { SafetyBackend } from './api';

/** The device to load on first; `fallback` says why auto did not pick WebGPU. */
export interface BackendChoice {
  device: SafetyBackend;
  fallback?: string;
}

/**
 * `webgpuMissing`: null when the browser offers a WebGPU adapter, else why not. auto → WebGPU when
 * offered, else WASM with the reason; webgpu → WebGPU, or an Error when it is not offered; wasm → WASM.
 */
export function chooseBackend(wanted: SafetyDevice, webgpuMissing: string | null): BackendChoice {
  if (wanted === 'wasm') return { device: 'wasm' };
  if (webgpuMissing === null) return { device: 'webgpu' };
  if (wanted === 'webgpu') throw new Error(`safety checker on WebGPU: ${webgpuMissing} (choose auto or WASM)`);
  return { device: 'wasm', fallback: webgpuMissing };
}

/**
 * After a load on `tried` failed with `error`: the WASM retry for device auto, or null to fail.
 * `weightsFetched`: the model's ONNX file had been read when it failed, so the failure came from
 * ONNX Runtime (session, warm-up run). Never when WebGPU was asked for explicitly, when WASM itself
 * failed, or when a file was missing or out of reach (a retry would fail the same way).
 */
export function fallbackAfter(wanted: SafetyDevice, tried: SafetyBackend, error: unknown, weightsFetched: boolean): BackendChoice | null {
  if (wanted !== 'auto' || tried !== 'webgpu' || !weightsFetched) return null;
  return { device: 'wasm', fallback: `WebGPU failed: ${error instanceof Error ? error.message : String(error)}` };
}
