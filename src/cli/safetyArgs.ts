/**
 * The safety checker's command-line options, shared by `npm run generate` and `npm run serve`:
 * `--safety [--safety-model ID_URL_OR_FOLDER] [--safety-threshold T] [--safety-labels L,…] [--safety-dtype D]`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_SAFETY, SAFETY_DTYPES, type SafetyConfig, type SafetyDtype, validateSafetyConfig } from '../safety/config';

export interface SafetyArgs {
  safety?: boolean;
  safetyModel?: string;
  safetyThreshold?: string;
  safetyLabels?: string;
  safetyDtype?: string;
}

/** Adds the options to `cmd`. */
export function addSafetyOptions(cmd: Command, refusal: string): Command {
  return cmd
    .option('--safety', `classify every image with the safety checker; ${refusal}`)
    .option('--safety-model <source>', `image classifier: hub repo id, http(s) URL or local folder (transformers.js layout; default ${DEFAULT_SAFETY.model})`)
    .option('--safety-threshold <t>', `flag when a flagged label's score is ≥ t, 0..1 (default ${DEFAULT_SAFETY.threshold})`)
    .option('--safety-labels <labels>', `comma-separated labels of the classifier that are flagged (default ${DEFAULT_SAFETY.flaggedLabels.join(',')})`)
    .option('--safety-dtype <dtype>', `which ONNX weights: ${SAFETY_DTYPES.join(', ')} (default: q8 for the default model, else the model's own)`);
}

/**
 * The SafetyConfig of the parsed options (action block), or undefined without --safety. Checked
 * here, before any model is read. Errors: InvalidArgumentError naming the option.
 */
export function parseSafetyArgs(o: SafetyArgs): SafetyConfig | undefined {
  const given = (['safetyModel', 'safetyThreshold', 'safetyLabels', 'safetyDtype'] as const).filter((k) => o[k] !== undefined);
  if (!o.safety) {
    if (given.length) throw new InvalidArgumentError(`--${given[0]?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --safety`);
    return undefined;
  }
  const threshold = o.safetyThreshold === undefined ? DEFAULT_SAFETY.threshold : Number(o.safetyThreshold);
  if (o.safetyThreshold !== undefined && (o.safetyThreshold.trim() === '' || !Number.isFinite(threshold) || threshold < 0 || threshold > 1)) {
    throw new InvalidArgumentError(`--safety-threshold must be a number from 0 to 1, got "${o.safetyThreshold}"`);
  }
  const labels = o.safetyLabels === undefined ? [...DEFAULT_SAFETY.flaggedLabels] : o.safetyLabels.split(',').map((s) => s.trim()).filter(Boolean);
  if (labels.length === 0) throw new InvalidArgumentError(`--safety-labels: give at least one label, got "${o.safetyLabels}"`);
  if (o.safetyDtype !== undefined && !SAFETY_DTYPES.includes(o.safetyDtype as SafetyDtype)) {
    throw new InvalidArgumentError(`--safety-dtype ${o.safetyDtype}: use ${SAFETY_DTYPES.join(', ')}`);
  }
  try {
    return validateSafetyConfig({
      model: o.safetyModel ?? DEFAULT_SAFETY.model, flaggedLabels: labels, threshold, action: 'block',
      ...(o.safetyDtype !== undefined ? { dtype: o.safetyDtype as SafetyDtype } : {}),
    });
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}
