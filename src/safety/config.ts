/**
 * What the safety checker runs and how it decides: an image-classification model (transformers.js
 * layout: config.json with `id2label`, preprocessor_config.json, onnx/model*.onnx), the labels that
 * count as unsafe, the score at which they do, and what the caller does with a flagged image.
 * No I/O here: `validateSafetyConfig` only checks the fields, so callers run it before any slow work.
 */
import { InvalidInput } from '../errors';

/**
 * What a flagged image becomes: `blur` (shown blurred with a notice, never stored), `block` (a notice
 * only; the CLI does not write it, the server answers 400 `moderation_blocked`), `off` (no check).
 */
export type SafetyAction = 'blur' | 'block' | 'off';

export const SAFETY_ACTIONS: readonly SafetyAction[] = ['blur', 'block', 'off'];

/**
 * The ONNX weights transformers.js loads (`dtype`: fp32 → onnx/model.onnx, q8 → onnx/model_quantized.onnx,
 * fp16 → onnx/model_fp16.onnx, …); undefined: the model's own choice (config.json
 * `transformers.js_config.dtype`), else transformers.js' default (fp32 on the CPU).
 */
export type SafetyDtype = 'auto' | 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'bnb4' | 'q4f16';

export const SAFETY_DTYPES: readonly SafetyDtype[] = ['auto', 'fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'];

/**
 * Where the browser runs the classifier (transformers.js device names): `auto` (the default) runs it
 * on WebGPU when the browser offers an adapter and the model loads and runs there, else on WASM;
 * `webgpu` fails when it cannot; `wasm` never uses the GPU (the engine keeps it to itself). The CLI
 * and the server always run it on the CPU (onnxruntime-node) and refuse `webgpu`.
 */
export type SafetyDevice = 'auto' | 'webgpu' | 'wasm';

export const SAFETY_DEVICES: readonly SafetyDevice[] = ['auto', 'webgpu', 'wasm'];

export interface SafetyConfig {
  /** Hub repo id (`owner/name`), http(s) URL of a folder laid out like a hub repo, or a local folder. */
  model: string;
  /** Labels of the model's `id2label` that count as unsafe (e.g. `["nsfw"]`); at least one. */
  flaggedLabels: string[];
  /** An image is flagged when any flagged label's softmax score is ≥ this (0..1). */
  threshold: number;
  action: SafetyAction;
  /** Which ONNX file of the model (see SafetyDtype); default: the model's choice. */
  dtype?: SafetyDtype;
  /** Browser only (see SafetyDevice); default `auto`. */
  device?: SafetyDevice;
}

/**
 * The default classifier: AdamCodd/vit-base-nsfw-detector (Apache-2.0), a ViT-B/16 at 384² fine-tuned
 * on SFW/NSFW images, labels `sfw` / `nsfw`, with transformers.js ONNX exports; its int8
 * `onnx/model_quantized.onnx` (q8, 88.6 MB) instead of the 345 MB fp32 file.
 */
export const DEFAULT_SAFETY_MODEL = 'AdamCodd/vit-base-nsfw-detector';

export const DEFAULT_SAFETY: Readonly<Required<SafetyConfig>> = {
  model: DEFAULT_SAFETY_MODEL,
  flaggedLabels: ['nsfw'],
  threshold: 0.5,
  action: 'block',
  dtype: 'q8',
  device: 'auto',
};

/** `nsfw 0.9994, normal 0.0006`: a checker's scores for a message, highest first. */
export function formatScores(scores: Record<string, number>): string {
  return Object.entries(scores).sort((a, b) => b[1] - a[1]).map(([l, s]) => `${l} ${s.toFixed(4)}`).join(', ');
}

/**
 * Checks every field; returns the config with the defaults' dtype filled in for the default model.
 * Errors: InvalidInput naming the field, what it got and what is allowed.
 */
export function validateSafetyConfig(c: SafetyConfig): SafetyConfig {
  if (typeof c.model !== 'string' || c.model.trim() === '') throw new InvalidInput('safety model: give a hub repo id (owner/name), an http(s) URL or a local folder');
  if (!Array.isArray(c.flaggedLabels) || c.flaggedLabels.length === 0 || c.flaggedLabels.some((l) => typeof l !== 'string' || l.trim() === '')) {
    throw new InvalidInput(`safety flagged labels: give at least one non-empty label of the model (e.g. "nsfw"), got ${JSON.stringify(c.flaggedLabels)}`);
  }
  if (typeof c.threshold !== 'number' || !Number.isFinite(c.threshold) || c.threshold < 0 || c.threshold > 1) {
    throw new InvalidInput(`safety threshold must be a number from 0 to 1 (a softmax score), got ${String(c.threshold)}`);
  }
  if (!SAFETY_ACTIONS.includes(c.action)) throw new InvalidInput(`safety action ${String(c.action)}: use ${SAFETY_ACTIONS.join(', ')}`);
  if (c.dtype !== undefined && !SAFETY_DTYPES.includes(c.dtype)) throw new InvalidInput(`safety dtype ${String(c.dtype)}: use ${SAFETY_DTYPES.join(', ')}`);
  if (c.device !== undefined && !SAFETY_DEVICES.includes(c.device)) throw new InvalidInput(`safety device ${String(c.device)}: use ${SAFETY_DEVICES.join(', ')}`);
  const dtype = c.dtype ?? (c.model === DEFAULT_SAFETY_MODEL ? DEFAULT_SAFETY.dtype : undefined);
  return {
    model: c.model,
    flaggedLabels: [...c.flaggedLabels],
    threshold: c.threshold,
    action: c.action,
    ...(dtype !== undefined ? { dtype } : {}),
    ...(c.device !== undefined && c.device !== 'auto' ? { device: c.device } : {}),
  };
}
