/**
 * What the Node checker (./checker.ts) and the browser worker (./browser/safetyWorker.ts) do alike
 * with a loaded transformers.js image-classification pipeline: read and check its labels, and
 * classify one RGBA image into a verdict. No loading here: where the model comes from differs.
 */
import { RawImage, type ImageClassificationPipeline } from '@huggingface/transformers';
import { InvalidInput } from '../errors';
import type { SafetyConfig } from './config';

/** One image's verdict. */
export interface SafetyResult {
  /** True when a flagged label's score is ≥ the threshold. */
  flagged: boolean;
  /** Softmax score (0..1) of every label of the model, by label. */
  scores: Record<string, number>;
  /** Wall time of the classification, preprocessing included (ms). */
  ms: number;
}

/**
 * The model's labels (config.json `id2label`, in id order). Errors: InvalidInput when it has none or
 * lacks one of `c.flaggedLabels` (the pipeline is disposed first).
 */
export async function classifierLabels(p: ImageClassificationPipeline, c: SafetyConfig): Promise<string[]> {
  const id2label = (p.model.config as { id2label?: Record<string, string> }).id2label ?? {};
  const labels = Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k] as string);
  const unknown = c.flaggedLabels.filter((l) => !labels.includes(l));
  if (labels.length === 0 || unknown.length) {
    await p.dispose();
    throw new InvalidInput(`safety model ${c.model}: label(s) ${unknown.join(', ') || '(none)'} not among its labels (${labels.join(', ') || 'config.json has no id2label'})`);
  }
  return labels;
}

/**
 * Classifies an RGBA image (`rgba.length === width·height·4`, alpha ignored): flagged when a label of
 * `c.flaggedLabels` scores ≥ `c.threshold`. Errors: InvalidInput for a buffer of the wrong length or
 * an empty image.
 */
export async function classifyRgba(p: ImageClassificationPipeline, c: SafetyConfig, rgba: Uint8ClampedArray, width: number, height: number): Promise<SafetyResult> {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || rgba.length !== width * height * 4) {
    throw new InvalidInput(`safety check: an RGBA image of ${width}×${height} needs ${width * height * 4} bytes, got ${rgba.length}`);
  }
  const t0 = performance.now();
  const image = new RawImage(rgba, width, height, 4).rgb();
  const out = (await p(image, { top_k: null })) as { label: string; score: number }[];
  const scores: Record<string, number> = {};
  for (const { label, score } of out) scores[label] = score;
  const flagged = c.flaggedLabels.some((l) => (scores[l] ?? 0) >= c.threshold);
  return { flagged, scores, ms: performance.now() - t0 };
}
