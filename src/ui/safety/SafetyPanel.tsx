/**
 * The app's safety checker setting: off (default), blur or block, the classifier (hub repo id or
 * URL of a model folder), the labels that count as unsafe, the threshold and where it runs. Saved on
 * Apply; the form says what is wrong with a bad value instead of saving it. Shows how much the
 * stored classifier files take (IndexedDB, beside the models) and deletes them on request.
 */
import { useCallback, useEffect, useState } from 'react';
import { classifierUsage, deleteClassifierFiles } from '../../store/classifierFiles';
import { formatBytes } from '../format';
import { SAFETY_ACTIONS, SAFETY_DEVICES, type SafetyAction, type SafetyConfig, type SafetyDevice } from '../../safety/config';
import type { SafetyState } from './screen';

export interface SafetyPanelProps {
  config: SafetyConfig;
  state: SafetyState;
  /** Validates and saves; throws InvalidInput with the message to show. */
  onApply(c: SafetyConfig): void;
}

const ACTION_TEXT: Readonly<Record<SafetyAction, string>> = {
  off: 'Off',
  blur: 'Blur flagged images (not saved to the history)',
  block: 'Block flagged images (a notice only)',
};

const DEVICE_TEXT: Readonly<Record<SafetyDevice, string>> = {
  auto: 'WebGPU when available, else WASM (CPU)',
  webgpu: 'WebGPU only',
  wasm: 'WASM (CPU) only: the GPU stays with the image model',
};

const BACKEND_TEXT = { webgpu: 'WebGPU', wasm: 'WASM' } as const;

function stateText(s: SafetyState): string {
  switch (s.kind) {
    case 'off': return 'Off: images are not checked.';
    case 'idle': return 'On: the classifier loads with the first image.';
    case 'loading': return 'Loading the classifier…';
    case 'ready':
      return `Ready on ${BACKEND_TEXT[s.device]} (labels ${s.labels.join(', ')}; loaded in ${(s.loadMs / 1000).toFixed(1)} s)${s.fallback ? `; not on WebGPU: ${s.fallback}` : ''}.`;
    case 'failed': return `The classifier could not be loaded: ${s.message}`;
  }
}

export function SafetyPanel({ config, state, onApply }: SafetyPanelProps) {
  const [action, setAction] = useState<SafetyAction>(config.action);
  const [model, setModel] = useState(config.model);
  const [labels, setLabels] = useState(config.flaggedLabels.join(', '));
  const [threshold, setThreshold] = useState(String(config.threshold));
  const [device, setDevice] = useState<SafetyDevice>(config.device ?? 'auto');
  const [error, setError] = useState<string | null>(null);
  /** Bytes of stored classifier files; null while unknown or when the store cannot be read. */
  const [stored, setStored] = useState<number | null>(null);

  const readStored = useCallback(() => {
    classifierUsage().then(setStored, (e: unknown) => {
      console.warn('The stored safety classifier files could not be measured:', e);
      setStored(null);
    });
  }, []);
  useEffect(readStored, [readStored, state.kind]); // a load may have stored files
  const deleteStored = () => {
    deleteClassifierFiles().then(readStored, (e: unknown) => setError(`The stored classifier files could not be deleted: ${e instanceof Error ? e.message : String(e)}`));
  };

  const apply = () => {
    try {
      const dtype = model.trim() === config.model && config.dtype !== undefined ? { dtype: config.dtype } : {};
      onApply({ action, model: model.trim(), flaggedLabels: labels.split(',').map((l) => l.trim()).filter(Boolean), threshold: threshold.trim() === '' ? Number.NaN : Number(threshold), ...dtype, ...(device !== 'auto' ? { device } : {}) });
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <details className="panel safety-panel" data-testid="safety-panel">
      <summary>Safety checker · {config.action === 'off' ? 'off' : config.action}</summary>
      <p className="hint">
        Checks every finished image with an image classifier in this browser (transformers.js on ONNX Runtime Web) before it is
        shown or saved. The classifier is downloaded once and kept for offline use.
      </p>
      <label>
        <span>Action</span>
        <select value={action} onChange={(e) => setAction(e.target.value as SafetyAction)} data-testid="safety-action">
          {SAFETY_ACTIONS.map((a) => <option key={a} value={a}>{ACTION_TEXT[a]}</option>)}
        </select>
      </label>
      <label>
        <span>Classifier (hub repo id or URL)</span>
        <input value={model} onChange={(e) => setModel(e.target.value)} spellCheck={false} data-testid="safety-model" />
      </label>
      <label>
        <span>Unsafe labels (comma-separated)</span>
        <input value={labels} onChange={(e) => setLabels(e.target.value)} spellCheck={false} data-testid="safety-labels" />
      </label>
      <label>
        <span>Threshold (0 to 1)</span>
        <input value={threshold} onChange={(e) => setThreshold(e.target.value)} inputMode="decimal" data-testid="safety-threshold" />
      </label>
      <label>
        <span>Run the classifier on</span>
        <select value={device} onChange={(e) => setDevice(e.target.value as SafetyDevice)} data-testid="safety-device">
          {SAFETY_DEVICES.map((d) => <option key={d} value={d}>{DEVICE_TEXT[d]}</option>)}
        </select>
      </label>
      <button type="button" onClick={apply} data-testid="safety-apply">Apply</button>
      {error ? <p className="field-error" role="alert" data-testid="safety-error">{error}</p> : null}
      <p className="hint" data-testid="safety-state" data-state={state.kind} data-device={state.kind === 'ready' ? state.device : undefined}>{stateText(state)}</p>
      {stored !== null && stored > 0 ? (
        <p className="hint" data-testid="safety-stored" data-bytes={stored}>
          Stored classifier files: {formatBytes(stored)} (kept for offline use; a loaded classifier keeps working until it loads again).{' '}
          <button type="button" onClick={deleteStored} data-testid="safety-delete-stored">Delete</button>
        </p>
      ) : null}
    </details>
  );
}
