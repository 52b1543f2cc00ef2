/** Model source field (hub repo id or http(s) folder URL), Load button, load progress and summary. */
import { useState } from 'react';
import type { ModelSource } from '../worker/api';
import { DEFAULT_MODEL } from '../worker/api';
import { Progress } from './Progress';
import type { ModelState } from './useGenerator';
import { formatBytes } from './format';

export interface ModelPanelProps {
  model: ModelState;
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

export function ModelPanel({ model, disabledReason, onLoad, lowMemory, onLowMemory }: ModelPanelProps) {
  const [source, setSource] = useState<string>(DEFAULT_MODEL);
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
        {reason ?? 'A hub repo id (owner/name) or an http(s) URL of a folder in the diffusers layout.'}
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
        <p className="model-info" data-testid="model-info">
          <strong>{model.info.source}</strong> loaded · {formatBytes(model.info.weightBytes)} of weights · {model.info.summary}
        </p>
      ) : null}
    </section>
  );
}
