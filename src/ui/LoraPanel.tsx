/**
 * LoRAs for the transformer: add a `.safetensors` file (file picker or drop onto the panel), an
 * http(s) URL, or a file of a hub repo (owner/name + file name); each row has its format and rank,
 * a strength from −2 to 2 (slider and number, step 0.05), an on/off switch and Remove. The files are
 * stored in this browser (src/store/loras.ts) and applied to the next images (useLoras.ts).
 */
import { useEffect, useId, useState } from 'react';
import { LORA_STRENGTH_LIMIT, LORA_STRENGTH_MIN, LORA_STRENGTH_STEP, type LoraRecord } from '../store/loras';
import { ErrorMessage } from './ErrorMessage';
import { formatBytes } from './format';
import { filesOf } from './references';
import { useFileDrop } from './useFileDrop';
import type { Loras, LoraStatus } from './useLoras';
import './LoraPanel.css';

export interface LoraPanelProps {
  loras: Loras;
}

/** The strength fields of one row: the number keeps what is typed until it is a valid strength. */
function Strength({ record, onStrength }: { record: LoraRecord; onStrength(s: number): void }) {
  const [text, setText] = useState(String(record.strength));
  useEffect(() => {
    setText((t) => (Number(t) === record.strength && t.trim() !== '' ? t : String(record.strength)));
  }, [record.strength]);
  const value = Number(text);
  const invalid = text.trim() === '' || !Number.isFinite(value) || value < LORA_STRENGTH_MIN || value > LORA_STRENGTH_LIMIT;
  return (
    <span className="row tight lora-strength">
      <input type="range" min={LORA_STRENGTH_MIN} max={LORA_STRENGTH_LIMIT} step={LORA_STRENGTH_STEP} value={record.strength}
        onChange={(e) => onStrength(Number(e.target.value))} aria-label={`Strength of ${record.name}`} data-testid="lora-strength-range" />
      <input type="number" min={LORA_STRENGTH_MIN} max={LORA_STRENGTH_LIMIT} step={LORA_STRENGTH_STEP} value={text} inputMode="decimal"
        aria-invalid={invalid} aria-label={`Strength of ${record.name}, from ${LORA_STRENGTH_MIN} to ${LORA_STRENGTH_LIMIT}`}
        onChange={(e) => {
          setText(e.target.value);
          const v = Number(e.target.value);
          if (e.target.value.trim() !== '' && Number.isFinite(v) && v >= LORA_STRENGTH_MIN && v <= LORA_STRENGTH_LIMIT) onStrength(v);
        }}
        data-testid="lora-strength" />
    </span>
  );
}

function statusText(r: LoraRecord, s: LoraStatus | undefined, modelLoaded: boolean): string {
  if (!r.enabled) return 'off';
  if (!modelLoaded) return 'applied once a model is loaded';
  if (s?.kind === 'error') return `the loaded model refused it: ${s.message}`;
  if (s?.kind === 'ok') return r.strength === 0 ? 'strength 0: no effect' : 'applied to the next images';
  return 'adding to the model…';
}

export function LoraPanel({ loras }: LoraPanelProps) {
  const { records, status, modelLoaded, addBlock, busy, error, notice } = loras;
  const drop = useFileDrop((dt) => {
    for (const f of filesOf(dt.files)) loras.addFile(f);
  }, addBlock === null);
  const [url, setUrl] = useState('');
  const [repo, setRepo] = useState('');
  const [file, setFile] = useState('');
  const id = useId();
  const total = (records ?? []).reduce((n, r) => n + r.size, 0);

  return (
    <section className={drop.dragging ? 'panel loras dragging' : 'panel loras'} aria-labelledby={`${id}-h`} data-testid="lora-panel" {...drop.props}>
      <h2 id={`${id}-h`}>
        LoRAs <span className="muted">{records?.length ?? 0}{total ? ` · ${formatBytes(total)} stored` : ''}</span>
      </h2>
      <p className="hint">
        Optional: LoRA files (.safetensors) for this model&apos;s transformer. Choose or drop a file, or give a link; it is
        stored in this browser (also offline) and applied to the next images at its strength.
      </p>
      {addBlock ? (
        <p className="hint" data-testid="lora-block">
          {addBlock}
        </p>
      ) : null}
      <label>
        <span>Add a LoRA file</span>
        <input type="file" accept=".safetensors" disabled={addBlock !== null} data-testid="lora-file"
          onChange={(e) => {
            const files = filesOf(e.target.files);
            e.target.value = ''; // the same file can be chosen again
            for (const f of files) loras.addFile(f);
          }} />
      </label>
      <form className="row lora-add" onSubmit={(e) => {
        e.preventDefault();
        if (url.trim()) loras.addUrl(url);
      }}>
        <label>
          <span>LoRA link (http or https)</span>
          <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…/my_lora.safetensors" data-testid="lora-url" />
        </label>
        <button type="submit" disabled={addBlock !== null || !url.trim()} data-testid="lora-url-add">
          Add link
        </button>
      </form>
      <form className="row lora-add" onSubmit={(e) => {
        e.preventDefault();
        if (repo.trim() && file.trim()) loras.addHub(repo, file);
      }}>
        <label>
          <span>Hugging Face repo (owner/name)</span>
          <input type="text" value={repo} onChange={(e) => setRepo(e.target.value)} placeholder="owner/name" autoComplete="off" data-testid="lora-hub-repo" />
        </label>
        <label>
          <span>File in the repo</span>
          <input type="text" value={file} onChange={(e) => setFile(e.target.value)} placeholder="my_lora.safetensors" autoComplete="off" data-testid="lora-hub-file" />
        </label>
        <button type="submit" disabled={addBlock !== null || !repo.trim() || !file.trim()} data-testid="lora-hub-add">
          Add from hub
        </button>
      </form>
      {busy ? (
        <p className="hint" role="status" data-testid="lora-busy">
          {busy}
        </p>
      ) : null}
      {error ? (
        <div role="alert" className="field-error" data-testid="lora-error">
          <ErrorMessage error={error} heading={`Could not add the LoRA ${error.what}`} testIds={{ name: 'lora-error-name', message: 'lora-error-message' }} />{' '}
          <button type="button" className="link" onClick={loras.dismiss} aria-label="Dismiss the LoRA error">
            ×
          </button>
        </div>
      ) : null}
      {notice ? (
        <p className="notice" role="status" data-testid="lora-notice">
          {notice}
        </p>
      ) : null}
      {records?.length ? (
        <ul className="lora-list" data-testid="lora-list">
          {records.map((r) => {
            const s = status.get(r.name);
            return (
              <li key={r.name} data-testid="lora-item" data-name={r.name} aria-label={`LoRA ${r.name}`}>
                <span className="row tight">
                  <strong className="lora-name">{r.name}</strong>
                  <span className="muted" data-testid="lora-meta">
                    {r.format} · rank {r.rank} · {formatBytes(r.size)}
                  </span>
                </span>
                <span className="row tight">
                  <label className="check">
                    <input type="checkbox" role="switch" checked={r.enabled} onChange={(e) => loras.setEnabled(r.name, e.target.checked)}
                      aria-label={`Apply ${r.name}`} data-testid="lora-enabled" />
                    on
                  </label>
                  <Strength record={r} onStrength={(v) => loras.setStrength(r.name, v)} />
                  <button type="button" onClick={() => loras.remove(r.name)} disabled={loras.running} aria-label={`Remove ${r.name}`} data-testid="lora-remove">
                    Remove
                  </button>
                </span>
                <span className={s?.kind === 'error' && r.enabled ? 'field-error' : 'hint'} data-testid="lora-status">
                  {statusText(r, s, modelLoaded)}
                </span>
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
