/**
 * Reference images for editing: add by file picker, drag and drop onto the panel or paste
 * (anywhere on the page); thumbnails with the original and the processed size; reorder; remove.
 */
import { useEffect, useId } from 'react';
import { MAX_REFERENCES } from '../pipeline/references';
import { filesOf } from './references';
import { useFileDrop } from './useFileDrop';
import type { References } from './useReferences';

export interface ReferencePanelProps {
  refs: References;
}

export function ReferencePanel({ refs }: ReferencePanelProps) {
  const { items, messages, adding, addFiles, remove, move } = refs;
  const drop = useFileDrop((dt) => void addFiles(filesOf(dt.files)));
  const id = useId();

  useEffect(() => {
    function onPaste(e: ClipboardEvent) {
      const files = filesOf(e.clipboardData?.items).filter((f) => f.type.startsWith('image/'));
      if (files.length === 0) return; // plain text pastes go where they were meant to
      e.preventDefault();
      void addFiles(files);
    }
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [addFiles]);

  return (
    <section
      className={drop.dragging ? 'panel references dragging' : 'panel references'}
      aria-labelledby={`${id}-h`}
      data-testid="reference-panel"
      {...drop.props}
    >
      <h2 id={`${id}-h`}>
        Reference images <span className="muted">{items.length} / {MAX_REFERENCES}</span>
      </h2>
      <p className="hint">
        Optional, for editing: choose, drop or paste up to {MAX_REFERENCES} images. Each side ≥ 64 px; the model uses them
        downscaled to at most 1024² and cropped to multiples of 16.
      </p>
      <label>
        <span>Add images</span>
        <input type="file" accept="image/*" multiple data-testid="reference-file"
          onChange={(e) => {
            const files = filesOf(e.target.files);
            e.target.value = ''; // the same file can be chosen again
            void addFiles(files);
          }} />
      </label>
      {adding ? (
        <p className="hint" role="status" data-testid="reference-adding">
          Reading and downscaling…
        </p>
      ) : null}
      {messages.length ? (
        <div role="alert" className="field-error" data-testid="reference-error">
          {messages.map((m, k) => (
            <p key={k}>{m}</p>
          ))}
        </div>
      ) : null}
      {items.length ? (
        <ol className="reference-list" data-testid="reference-list">
          {items.map((r, k) => (
            <li key={r.id} data-testid="reference-item" aria-label={`Reference ${k + 1}: ${r.name}`}>
              <img src={r.thumbnail} alt={r.name} />
              <span className="reference-size" data-testid="reference-size"
                title="original size → size the model uses (downscaled to ≤ 1024², cropped to multiples of 16)">
                {r.original.width}×{r.original.height} → {r.processed.width}×{r.processed.height}
              </span>
              <span className="row tight">
                <button type="button" onClick={() => move(r.id, -1)} disabled={k === 0} aria-label={`Move ${r.name} left`}
                  data-testid="reference-left">
                  ←
                </button>
                <button type="button" onClick={() => move(r.id, 1)} disabled={k === items.length - 1}
                  aria-label={`Move ${r.name} right`} data-testid="reference-right">
                  →
                </button>
                <button type="button" onClick={() => remove(r.id)} aria-label={`Remove ${r.name}`} data-testid="reference-remove">
                  ×
                </button>
              </span>
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  );
}
