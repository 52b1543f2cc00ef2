/**
 * Prompt panel: prompt, size, steps, seed, optional initial-noise file, Generate and Cancel.
 * Owns the raw field text; builds a GenerateRequest only when every field is valid. Until the user
 * edits the size, it follows the first reference image's processed size (diffusers' default).
 */
import { useId, useRef, useState } from 'react';
import { defaultSizeFor } from '../pipeline/references';
import type { GenerateRequest, ReferenceImage } from '../worker/api';
import { type NoiseFile, NOISE_TENSOR, readNoiseFile } from './noise';
import { noiseError, randomSeed, seedError, sizeError, SIZE_MAX, SIZE_MIN, SIZE_MULTIPLE, stepsError, STEPS_MAX } from './validate';

export interface PromptFormProps {
  /** Why nothing can run at all (no WebGPU, still probing), or null. Shown first. */
  engineBlock: string | null;
  /** Why the model can't run yet (not loaded, loading), or null. */
  modelBlock: string | null;
  running: boolean;
  cancelling: boolean;
  /** Reference images in panel order, sent with the request. */
  references: readonly ReferenceImage[];
  onGenerate(req: GenerateRequest): void;
  onCancel(): void;
}

type NoiseState = { kind: 'none' } | { kind: 'reading'; name: string } | { kind: 'ok'; noise: NoiseFile } | { kind: 'error'; message: string };

const DEFAULT_PROMPT = 'A red balloon on a wooden table.';
const DEFAULT_SIZE = 512;

export function PromptForm({ engineBlock, modelBlock, running, cancelling, references, onGenerate, onCancel }: PromptFormProps) {
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  // null until the user edits width or height; then both fields keep their text.
  const [size, setSize] = useState<{ width: string; height: string } | null>(null);
  const fallback = defaultSizeFor(references) ?? { width: DEFAULT_SIZE, height: DEFAULT_SIZE };
  const width = size?.width ?? String(fallback.width);
  const height = size?.height ?? String(fallback.height);
  const [steps, setSteps] = useState('4');
  const [seed, setSeed] = useState(() => String(randomSeed()));
  const [noise, setNoise] = useState<NoiseState>({ kind: 'none' });
  const noiseInput = useRef<HTMLInputElement>(null);
  const id = useId();

  const widthErr = sizeError('Width', width);
  const heightErr = sizeError('Height', height);
  const stepsErr = stepsError(steps);
  const seedErr = noise.kind === 'ok' ? null : seedError(seed);
  const noiseErr =
    noise.kind === 'error'
      ? noise.message
      : noise.kind === 'ok' && !widthErr && !heightErr
        ? noiseError(noise.noise.data.length, noise.noise.shape, Number(width), Number(height))
        : null;
  // The messages themselves sit next to their fields; the reason beside Generate points there.
  const fieldErr =
    widthErr || heightErr
      ? 'Fix the image size above.'
      : stepsErr || seedErr
        ? `Fix the ${stepsErr ? 'steps' : 'seed'} above.`
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
    const req: GenerateRequest = { prompt, width: Number(width), height: Number(height), steps: Number(steps), seed: Number(seed) };
    if (references.length) req.references = references.map(({ width: w, height: h, rgba }) => ({ width: w, height: h, rgba }));
    onGenerate(noise.kind === 'ok' ? { ...req, latents: noise.noise.data } : req);
  }

  const sizeHint = `${SIZE_MIN}–${SIZE_MAX}, multiple of ${SIZE_MULTIPLE}`;
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
        <div className="grid">
          <label>
            <span>Width</span>
            <input type="number" inputMode="numeric" min={SIZE_MIN} max={SIZE_MAX} step={SIZE_MULTIPLE} value={width}
              onChange={(e) => setSize({ width: e.target.value, height })} aria-invalid={widthErr !== null} aria-describedby={`${id}-size`}
              title={sizeHint} data-testid="width" />
          </label>
          <label>
            <span>Height</span>
            <input type="number" inputMode="numeric" min={SIZE_MIN} max={SIZE_MAX} step={SIZE_MULTIPLE} value={height}
              onChange={(e) => setSize({ width, height: e.target.value })} aria-invalid={heightErr !== null} aria-describedby={`${id}-size`}
              title={sizeHint} data-testid="height" />
          </label>
          <label>
            <span>Steps</span>
            <input type="number" inputMode="numeric" min={1} max={STEPS_MAX} value={steps}
              onChange={(e) => setSteps(e.target.value)} aria-invalid={stepsErr !== null} data-testid="steps" />
          </label>
          <label className="seed">
            <span>Seed</span>
            <span className="row tight">
              <input type="number" inputMode="numeric" min={0} value={seed} onChange={(e) => setSeed(e.target.value)}
                aria-invalid={seedErr !== null} disabled={noise.kind === 'ok'} data-testid="seed" />
              <button type="button" onClick={() => setSeed(String(randomSeed()))} disabled={noise.kind === 'ok'}
                aria-label="Random seed" data-testid="seed-random">
                random
              </button>
            </span>
          </label>
        </div>
        <p className="field-error" id={`${id}-size`} data-testid="size-error" hidden={!widthErr && !heightErr}>
          {[widthErr, heightErr].filter(Boolean).join(' ')}
        </p>
        {stepsErr || seedErr ? <p className="field-error" data-testid="field-error">{stepsErr ?? seedErr}</p> : null}

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
            <button type="button" onClick={onCancel} disabled={cancelling} data-testid="cancel-button">
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
