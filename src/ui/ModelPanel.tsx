/**
 * Model source field (hub repo id or http(s) folder URL; the last one used is filled in again), Load
 * (streams without storing), low-memory mode, load progress and the loaded model in plain words.
 */
import { useState } from 'react';
import type { ModelSource } from '../worker/api';
import { DEFAULT_MODEL } from '../worker/api';
import { Progress } from './Progress';
import type { ModelState } from './useGenerator';
import { formatBytes } from './format';
import { savedLastModel } from './lastModel';

export interface ModelPanelProps {
  model: ModelState;
  /** The loaded model's name for people (a stored model's name, else its source). */
  modelName: string;
  /** What streaming the default model needs on this GPU (normal-mode memory), when known. */
  streamNeedBytes?: number | null;
  /** Why Load is disabled, or null when it is enabled. */
  disabledReason: string | null;
  onLoad(source: ModelSource): void;
  /** Low-memory mode for the next load (LoadOptions.lowMemory), and its setter. */
  lowMemory: boolean;
  onLowMemory(on: boolean): void;
}

const LOW_MEMORY_KEY = 'kleinbild-low-memory';

/** The saved low-memory choice (false when storage is unavailable). */
export function savedLowMemory(): boolean {
  try {
    return localStorage.getItem(LOW_MEMORY_KEY) === '1';
  } catch {
    return false;
  }
}

/** Saves the low-memory choice for the next visit (ignored when storage is unavailable). */
export function saveLowMemory(on: boolean): void {
  try {
    localStorage.setItem(LOW_MEMORY_KEY, on ? '1' : '0');
  } catch {
    // private modes may refuse; the choice then lasts for this visit
  }
}

/** A hub repo id `owner/name`, an http(s) URL or `store:<id>` (Stored models panel); null when acceptable. */
function sourceError(source: string): string | null {
  const s = source.trim();
  if (/^store:\S+$/.test(s)) return null;
  if (/^https?:\/\/\S+$/.test(s)) return null;
  if (/^[\w.-]+\/[\w.-]+$/.test(s)) return null;
  return 'Enter a hub repo id like owner/name or an http(s) URL of a model folder.';
}

export function ModelPanel({ model, modelName, streamNeedBytes = null, disabledReason, onLoad, lowMemory, onLowMemory }: ModelPanelProps) {
  const [source, setSource] = useState<string>(() => {
    const last = savedLastModel();
    return last && !last.startsWith('store:') ? last : DEFAULT_MODEL; // the typed source survives a visit
  });
  const invalid = sourceError(source);
  const reason = disabledReason ?? invalid;
  const loading = model.kind === 'loading';
  const p = loading ? model.progress : null;

  return (
    <section className="panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!reason) onLoad(source.trim());
        }}
      >
        <label className="grow">
          <span>Source</span>
          <input
            type="text"
            value={source}
            onChange={(e) => setSource(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            data-testid="model-source"
            aria-describedby="load-reason"
            aria-invalid={invalid !== null}
          />
        </label>
        <button type="submit" disabled={reason !== null} data-testid="load-button" aria-describedby="load-reason">
          {loading ? 'Loading…' : 'Load'}
        </button>
      </form>
      <p className={reason ? 'reason' : 'hint'} id="load-reason" data-testid="load-reason">
        {reason ??
          'A hub repo id (owner/name) or an http(s) URL of a folder in the diffusers layout. Load streams the weights without storing them: ' +
            `they are downloaded again on every visit${streamNeedBytes ? `, and the official bf16 weights need about ${formatBytes(streamNeedBytes)} of GPU memory at 1024×1024` : ''}. ` +
            'To keep a model, download it under Stored models.'}
      </p>
      <label className="check">
        <input type="checkbox" checked={lowMemory} onChange={(e) => onLowMemory(e.target.checked)} disabled={loading}
          aria-describedby="low-memory-hint" data-testid="low-memory" />
        <span>Low GPU memory</span>
      </label>
      <p className="hint" id="low-memory-hint">
        For GPUs with little memory: only one stage's weights (text encoder, transformer, VAE) are on the GPU at a time,
        read again from storage for every image, which makes each image slower. Applies at the next Load.
      </p>
      {loading ? (
        <Progress
          testId="load-progress"
          label={p ? `Loading ${p.file}` : 'Connecting…'}
          fraction={p && p.totalBytes > 0 ? p.loadedBytes / p.totalBytes : null}
          {...(p ? { detail: `${formatBytes(p.loadedBytes)} / ${formatBytes(p.totalBytes)}` } : {})}
        />
      ) : null}
      {model.kind === 'ready' ? (
        <div className="model-info" data-testid="model-info">
          <p>
            <strong>{modelName}</strong> is ready: {formatBytes(model.info.weightBytes)} of weights.
            {model.info.distilled ? null : (
              <span data-testid="model-kind">
                {' '}A base (non-distilled) model: {model.info.defaultSteps} steps and guidance {model.info.defaultGuidance} by default, with a negative prompt.
              </span>
            )}
          </p>
          <details>
            <summary>Technical details</summary>
            <p className="hint" data-testid="model-info-summary">Source {model.info.source} · {model.info.summary}</p>
          </details>
        </div>
      ) : null}
    </section>
  );
}
