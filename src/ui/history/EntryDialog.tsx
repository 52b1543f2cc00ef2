/** A modal dialog for one history entry: the full PNG, its parameters, and reopen / download / delete. */
import { useEffect, useRef, useState } from 'react';
import { formatMs } from '../format';
import { historyFileName } from './files';
import { downloadBlob, errorText } from './save';
import { historyImage, type HistoryEntry } from './store';

export interface EntryDialogProps {
  entry: HistoryEntry;
  /** The thumbnail's object URL, shown until the PNG is read. */
  thumbnailUrl: string | null;
  onClose(): void;
  onReopen(entry: HistoryEntry): void;
  onDelete(entry: HistoryEntry): void;
}

export function EntryDialog({ entry, thumbnailUrl, onClose, onReopen, onDelete }: EntryDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [png, setPng] = useState<{ blob: Blob; url: string } | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    // Escape closes the dialog natively; the check skips the close event of a cleanup that reopened it.
    const closed = () => {
      if (!d.open) onClose();
    };
    d.addEventListener('close', closed);
    d.showModal();
    return () => {
      d.removeEventListener('close', closed);
      d.close();
    };
  }, [onClose]);

  useEffect(() => {
    let alive = true;
    let url: string | null = null;
    historyImage(entry.id, 'png').then(
      (blob) => {
        if (!alive) return;
        if (!blob) return setStatus('This image is no longer in the history.');
        url = URL.createObjectURL(blob);
        setPng({ blob, url });
      },
      (e: unknown) => alive && setStatus(`Could not read the image: ${errorText(e)}.`),
    );
    return () => {
      alive = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [entry.id]);

  const src = png?.url ?? thumbnailUrl;
  return (
    <dialog ref={dialog} className="history-dialog" aria-labelledby="history-dialog-title" data-testid="history-dialog">
      <h2 id="history-dialog-title">
        {entry.width}×{entry.height} · seed {entry.seed}
      </h2>
      {src ? <img src={src} alt={entry.prompt} width={entry.width} height={entry.height} data-testid="history-full" /> : null}
      <dl className="history-params">
        <dt>Prompt</dt>
        <dd data-testid="history-prompt">{entry.prompt}</dd>
        <dt>Size</dt>
        <dd>
          {entry.width}×{entry.height}
        </dd>
        <dt>Steps</dt>
        <dd>{entry.steps}</dd>
        {entry.guidance !== undefined ? (
          <>
            <dt>Guidance</dt>
            <dd data-testid="history-guidance">{entry.guidance}</dd>
          </>
        ) : null}
        {entry.negativePrompt ? (
          <>
            <dt>Negative prompt</dt>
            <dd data-testid="history-negative-prompt">{entry.negativePrompt}</dd>
          </>
        ) : null}
        <dt>Seed</dt>
        <dd>{entry.seed}</dd>
        <dt>Model</dt>
        <dd>{entry.model}</dd>
        {entry.referenceCount > 0 ? (
          <>
            <dt>References</dt>
            <dd>{entry.referenceCount} (not stored; add them again before regenerating)</dd>
          </>
        ) : null}
        {entry.loras?.length ? (
          <>
            <dt>LoRAs</dt>
            <dd data-testid="history-loras">{entry.loras.map((l) => `${l.name} × ${l.strength}`).join(', ')}</dd>
          </>
        ) : null}
        <dt>Created</dt>
        <dd>{new Date(entry.createdAt).toLocaleString()}</dd>
        <dt>Time</dt>
        <dd>{formatMs(entry.timings.totalMs)}</dd>
      </dl>
      <div className="row">
        <button type="button" className="primary" onClick={() => onReopen(entry)} data-testid="history-reopen"
          title="Put this prompt, size, steps, seed, LoRA selection (and guidance and negative prompt) into the prompt form">
          Reopen parameters
        </button>
        <button type="button" onClick={() => png && downloadBlob(png.blob, historyFileName(entry))} disabled={!png}
          data-testid="history-download">
          Download PNG
        </button>
        <button type="button" onClick={() => onDelete(entry)} data-testid="history-delete">
          Delete
        </button>
        <button type="button" onClick={onClose} data-testid="history-close">
          Close
        </button>
      </div>
      <p className="hint" role="status">
        {status ?? ''}
      </p>
    </dialog>
  );
}
