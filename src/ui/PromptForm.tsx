/**
 * Prompt panel: prompt, size (presets or custom), steps, seed (fixed or random), number of images,
 * optional initial-noise file, Generate and Cancel; for a base (non-distilled) model also the
 * guidance scale and a negative prompt (GuidanceFields.tsx). Owns the raw field text (the seed lives
 * in App so that an output can hand its seed back); builds one GenerateRequest per image only when
 * every field is valid. Until the user picks or edits a size, it follows the first reference
 * image's processed size (diffusers' default). Until the user edits steps (or guidance) for the
 * loaded kind of model, they follow its defaults (ModelInfo.defaultSteps 4 / 50, defaultGuidance 4):
 * loading a base model turns an untouched 4 into 50, and switching between a distilled and a base
 * model goes back to the new model's default.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { defaultSizeFor } from '../pipeline/references';
import type { GenerateRequest, ModelInfo, ReferenceImage } from '../worker/api';
import { GuidanceFields } from './GuidanceFields';
import { type NoiseFile, NOISE_TENSOR, readNoiseFile } from './noise';
import { SizeFields } from './SizeFields';
import { customSizeErrors } from './sizes';
import { batchSeeds, countError, guidanceError, IMAGES_MAX, negativePromptError, noiseError, randomSeed, seedError, stepsError, stepsMax } from './validate';

/** The seed field's text and whether each run draws fresh random seeds instead. */
export interface SeedField {
  text: string;
  random: boolean;
}

/** Values put into the form from outside (History → Reopen parameters); a new object each time. */
export interface ReopenParams {
  prompt: string;
  width: number;
  height: number;
  steps: number;
  /** Guidance scale of a base-model image; absent: the loaded model's default. */
  guidance?: number;
  /** Negative prompt of a base-model image; absent: empty. */
  negativePrompt?: string;
}

/** What the form needs of the loaded model: whether it is step-distilled, and its defaults. */
export type FormModel = Pick<ModelInfo, 'distilled' | 'defaultSteps' | 'defaultGuidance'>;

export interface PromptFormProps {
  /** Why nothing can run at all (no WebGPU, still probing), or null. Shown first. */
  engineBlock: string | null;
  /** Why the model can't run yet (not loaded, loading), or null. */
  modelBlock: string | null;
  running: boolean;
  cancelling: boolean;
  /** Reference images in panel order, sent with the request. */
  references: readonly ReferenceImage[];
  seed: SeedField;
  onSeed(seed: SeedField): void;
  /** One request per image, in queue order. */
  onGenerate(reqs: GenerateRequest[]): void;
  onCancel(): void;
  /** When this changes to a new object, its values replace the prompt, size, steps, guidance and negative prompt fields. */
  reopen?: ReopenParams | null;
  /** The loaded model (null while none is ready): a base model (distilled false) gets guidance and a negative prompt, and up to 50 steps. */
  model?: FormModel | null;
}

type NoiseState = { kind: 'none' } | { kind: 'reading'; name: string } | { kind: 'ok'; noise: NoiseFile } | { kind: 'error'; message: string };

const DEFAULT_PROMPT = 'A red balloon on a wooden table.';
const DEFAULT_SIZE = 512;
/** Steps shown before a model is ready: the distilled klein's 4. */
const DEFAULT_STEPS = 4;

/** The steps field's text once edited, and the kind of model it was edited for (null: none was ready). */
interface StepsEdit {
  text: string;
  distilled: boolean | null;
}

export function PromptForm({ engineBlock, modelBlock, running, cancelling, references, seed: seedField, onSeed, onGenerate, onCancel, reopen = null, model = null }: PromptFormProps) {
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  // null until the user edits width or height; then both fields keep their text.
  const [size, setSize] = useState<{ width: string; height: string } | null>(null);
  const fallback = defaultSizeFor(references) ?? { width: DEFAULT_SIZE, height: DEFAULT_SIZE };
  const width = size?.width ?? String(fallback.width);
  const height = size?.height ?? String(fallback.height);
  const [preset, setPreset] = useState({ aspect: '1:1', megapixels: 0.25 });
  const distilled = model ? model.distilled : null;
  const base = distilled === false;
  // null until the user edits steps; an edit holds while the same kind of model (or none) is loaded.
  const [stepsEdit, setStepsEdit] = useState<StepsEdit | null>(null);
  const steps =
    stepsEdit && (stepsEdit.distilled === null || distilled === null || stepsEdit.distilled === distilled)
      ? stepsEdit.text
      : String(model?.defaultSteps ?? DEFAULT_STEPS);
  const setSteps = (text: string) => setStepsEdit({ text, distilled });
  const distilledNow = useRef(distilled);
  distilledNow.current = distilled;
  // An edit made while no model was ready belongs to the first model that becomes ready.
  useEffect(() => {
    if (distilled !== null) setStepsEdit((e) => (e && e.distilled === null ? { ...e, distilled } : e));
  }, [distilled]);
  // null until the user edits it: the model's default guidance scale.
  const [guidanceText, setGuidanceText] = useState<string | null>(null);
  const guidance = guidanceText ?? String(model?.defaultGuidance ?? 1);
  const [negativePrompt, setNegativePrompt] = useState('');
  const [count, setCount] = useState('1');
  const seed = seedField.text;
  const setSeed = (text: string) => onSeed({ ...seedField, text });
  const [noise, setNoise] = useState<NoiseState>({ kind: 'none' });
  const noiseInput = useRef<HTMLInputElement>(null);
  const id = useId();
  useEffect(() => {
    if (!reopen) return;
    setPrompt(reopen.prompt);
    setSize({ width: String(reopen.width), height: String(reopen.height) });
    setStepsEdit({ text: String(reopen.steps), distilled: distilledNow.current });
    setGuidanceText(reopen.guidance === undefined ? null : String(reopen.guidance));
    setNegativePrompt(reopen.negativePrompt ?? '');
  }, [reopen]);

  const sizeErrs = customSizeErrors(width, height);
  const maxSteps = stepsMax(model);
  const stepsErr = stepsError(steps, maxSteps);
  const guidanceErr = base ? guidanceError(guidance) : null;
  const negativeErr = base && !guidanceErr ? negativePromptError(negativePrompt, Number(guidance)) : null;
  const countErr = countError(count);
  const seedErr = noise.kind === 'ok' || seedField.random ? null : seedError(seed);
  const noiseErr =
    noise.kind === 'error'
      ? noise.message
      : noise.kind === 'ok' && sizeErrs.length === 0
        ? noiseError(noise.noise.data.length, noise.noise.shape, Number(width), Number(height))
        : null;
  // The messages themselves sit next to their fields; the reason beside Generate points there.
  const badFields = [stepsErr && 'steps', seedErr && 'seed', countErr && 'number of images', guidanceErr && 'guidance', negativeErr && 'negative prompt'].filter(Boolean);
  const fieldErr =
    sizeErrs.length > 0
      ? 'Fix the image size above.'
      : badFields.length > 0
        ? `Fix the ${badFields.join(' and ')} above.`
        : noiseErr
          ? 'Fix or clear the initial noise (Advanced).'
          : noise.kind === 'reading'
            ? 'Reading the noise file…'
            : null;
  const reason = engineBlock ?? (running ? 'Generating…' : null) ?? fieldErr ?? modelBlock;

  async function pickNoise(file: File | undefined) {
    if (!file) {
      setNoise({ kind: 'none' });
      return;
    }
    setNoise({ kind: 'reading', name: file.name });
    try {
      setNoise({ kind: 'ok', noise: await readNoiseFile(file) });
    } catch (e) {
      setNoise({ kind: 'error', message: `Could not use ${file.name}: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  function clearNoise() {
    if (noiseInput.current) noiseInput.current.value = '';
    setNoise({ kind: 'none' });
  }

  function submit() {
    if (reason) return;
    const seeds = batchSeeds(seedField.random ? null : Number(seed), Number(count));
    // In random mode the field shows the first seed drawn, so the seed in use is always visible.
    if (seedField.random) onSeed({ ...seedField, text: String(seeds[0]) });
    const refs = references.map(({ width: w, height: h, rgba }) => ({ width: w, height: h, rgba }));
    const reqs = seeds.map((s): GenerateRequest => {
      const req: GenerateRequest = { prompt, width: Number(width), height: Number(height), steps: Number(steps), seed: s };
      if (refs.length) req.references = refs;
      if (noise.kind === 'ok') req.latents = noise.noise.data;
      // Only a base model takes these (a distilled one refuses guidance ≠ 1 and a negative prompt).
      if (base) {
        req.guidance = Number(guidance);
        if (negativePrompt.trim() !== '') req.negativePrompt = negativePrompt;
      }
      return req;
    });
    onGenerate(reqs);
  }

  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Prompt</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label>
          <span>Prompt</span>
          <textarea value={prompt} onChange={(e) => setPrompt(e.target.value)} rows={4} data-testid="prompt" />
        </label>
        <SizeFields width={width} height={height} aspect={preset.aspect} megapixels={preset.megapixels}
          onSize={(w, h) => setSize({ width: w, height: h })} onPreset={(aspect, megapixels) => setPreset({ aspect, megapixels })}
          messageId={`${id}-size`} />
        <div className="grid">
          <label>
            <span>Steps</span>
            <input type="number" inputMode="numeric" min={1} max={maxSteps} value={steps}
              onChange={(e) => setSteps(e.target.value)} aria-invalid={stepsErr !== null} data-testid="steps" />
          </label>
          <label>
            <span>Images</span>
            <input type="number" inputMode="numeric" min={1} max={IMAGES_MAX} value={count}
              onChange={(e) => setCount(e.target.value)} aria-invalid={countErr !== null} data-testid="count" />
          </label>
          <div className="seed field">
            <label htmlFor={`${id}-seed`}>
              <span>Seed</span>
            </label>
            <span className="row tight">
              <input id={`${id}-seed`} type="number" inputMode="numeric" min={0} value={seed} onChange={(e) => setSeed(e.target.value)}
                aria-invalid={seedErr !== null} disabled={noise.kind === 'ok' || seedField.random} data-testid="seed" />
              <button type="button" onClick={() => setSeed(String(randomSeed()))} disabled={noise.kind === 'ok' || seedField.random}
                aria-label="New random seed" title="Draw a new seed now" data-testid="seed-random">
                random
              </button>
            </span>
            <label className="check">
              <input type="checkbox" checked={seedField.random} onChange={(e) => onSeed({ ...seedField, random: e.target.checked })}
                disabled={noise.kind === 'ok'} data-testid="seed-mode-random" />
              new random seed for every image
            </label>
          </div>
        </div>
        <p className="hint" data-testid="seed-plan">
          {noise.kind === 'ok'
            ? 'The initial noise file replaces the seed.'
            : seedField.random
              ? 'Each image gets a fresh random seed; the field shows the first one used.'
              : Number(count) > 1 && !seedErr && !countErr
                ? `Seeds ${seed}, ${(Number(seed) + 1) % 2 ** 32}, … one per image.`
                : 'Fixed seed: the same settings give the same image.'}
        </p>
        {stepsErr || seedErr || countErr ? (
          <p className="field-error" data-testid="field-error">
            {[stepsErr, seedErr, countErr].filter(Boolean).join(' ')}
          </p>
        ) : null}
        {base ? (
          <GuidanceFields guidance={guidance} onGuidance={setGuidanceText} fallback={model?.defaultGuidance ?? 1} negativePrompt={negativePrompt}
            onNegativePrompt={setNegativePrompt} guidanceInvalid={guidanceErr !== null} negativeInvalid={negativeErr !== null} idPrefix={id} />
        ) : null}
        {guidanceErr || negativeErr ? (
          <p className="field-error" data-testid="guidance-error">
            {guidanceErr ?? negativeErr}
          </p>
        ) : null}

        <details className="advanced">
          <summary>Advanced</summary>
          <label>
            <span>
              Initial noise (.safetensors with a <code>{NOISE_TENSOR}</code> tensor [1,128,H/16,W/16])
            </span>
            <input ref={noiseInput} type="file" accept=".safetensors" onChange={(e) => void pickNoise(e.target.files?.[0])}
              aria-describedby={`${id}-noise`} data-testid="noise-file" />
          </label>
          <p id={`${id}-noise`} className={noiseErr ? 'field-error' : 'hint'} data-testid="noise-status">
            {noise.kind === 'none' && 'None: noise is drawn from the seed.'}
            {noise.kind === 'reading' && `Reading ${noise.name}…`}
            {noise.kind === 'error' && noise.message}
            {noise.kind === 'ok' &&
              (noiseErr ??
                `${noise.noise.fileName}: ${noise.noise.dtype} [${noise.noise.shape.join(', ')}], used instead of the seed.`)}
          </p>
          {noise.kind === 'ok' || noise.kind === 'error' ? (
            <button type="button" onClick={clearNoise} data-testid="noise-clear">
              Clear noise
            </button>
          ) : null}
        </details>

        <div className="row actions">
          <button type="submit" className="primary" disabled={reason !== null} aria-describedby={`${id}-reason`} data-testid="generate-button">
            Generate
          </button>
          {running ? (
            <button type="button" onClick={onCancel} disabled={cancelling} title="Stop the running image and drop the pending ones"
              data-testid="cancel-button">
              {cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          ) : null}
          <span id={`${id}-reason`} className="reason" data-testid="generate-reason">
            {reason ?? ''}
          </span>
        </div>
      </form>
    </section>
  );
}
