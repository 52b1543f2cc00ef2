/**
 * The History panel: every stored image as a thumbnail (newest first), each opening a dialog with
 * the full PNG, reopen parameters, download and delete (with Undo); "Export all" (a zip of the
 * PNGs plus history.json) and "Delete all" (after a confirmation); the reasons of failed saves,
 * with Retry.
 */
import { useCallback, useState } from 'react';
import { EntryDialog } from './EntryDialog';
import { buildHistoryZip, exportFileName, thumbnailSize } from './files';
import './history.css';
import { downloadBlob, errorText } from './save';
import { clearHistory, deleteHistory, historyImage, listHistory, putHistory, type HistoryEntry } from './store';
import { type HistorySaver, useHistoryEntries, useThumbnailUrls } from './useHistory';

export interface GalleryProps {
  saver: HistorySaver;
  /** Puts the entry's prompt, size, steps, seed and (base-model entries) guidance and negative prompt into the prompt form. */
  onReopen(entry: HistoryEntry): void;
}

/** A deleted entry held in memory until the next delete, so that Undo can store it again. */
interface Deleted {
  entry: HistoryEntry;
  png: Blob;
  thumbnail: Blob;
}

/** The stored image read into memory: it must outlive the record being deleted. */
async function readImage(id: string, kind: 'png' | 'thumbnail'): Promise<Blob> {
  const blob = await historyImage(id, kind);
  if (!blob) throw new Error(`the ${kind} of this entry is missing`);
  return new Blob([await blob.arrayBuffer()], { type: blob.type });
}

export function Gallery({ saver, onReopen }: GalleryProps) {
  const { entries, error } = useHistoryEntries();
  const thumbs = useThumbnailUrls(entries);
  const [openId, setOpenId] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<Deleted | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);
  const [exporting, setExporting] = useState(false);
  const open = entries?.find((e) => e.id === openId) ?? null;
  const count = entries?.length ?? 0;
  const close = useCallback(() => setOpenId(null), []);

  async function remove(entry: HistoryEntry) {
    try {
      const [png, thumbnail] = await Promise.all([readImage(entry.id, 'png'), readImage(entry.id, 'thumbnail')]);
      await deleteHistory(entry.id);
      setOpenId(null);
      setDeleted({ entry, png, thumbnail });
      setStatus(`Deleted the image with seed ${entry.seed}.`);
    } catch (e) {
      setStatus(`Could not delete: ${errorText(e)}.`);
    }
  }

  async function undo(d: Deleted) {
    try {
      await putHistory(d.entry, d.png, d.thumbnail);
      setDeleted(null);
      setStatus(`Restored the image with seed ${d.entry.seed}.`);
    } catch (e) {
      setStatus(`Could not restore: ${errorText(e)}.`);
    }
  }

  async function exportAll() {
    setExporting(true);
    setStatus('Exporting…');
    try {
      const list = await listHistory();
      const items = await Promise.all(
        list.map(async (entry) => ({ entry, png: new Uint8Array(await (await readImage(entry.id, 'png')).arrayBuffer()) })),
      );
      const now = new Date();
      downloadBlob(new Blob([buildHistoryZip(items, now) as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), exportFileName(now));
      setStatus(`Exported ${items.length} image${items.length === 1 ? '' : 's'} and history.json.`);
    } catch (e) {
      setStatus(`Export failed: ${errorText(e)}.`);
    } finally {
      setExporting(false);
    }
  }

  async function removeAll() {
    setConfirmAll(false);
    try {
      await clearHistory();
      setDeleted(null);
      setStatus('Deleted every image in the history.');
    } catch (e) {
      setStatus(`Could not delete the history: ${errorText(e)}.`);
    }
  }

  return (
    <section className="panel history" aria-labelledby="history-heading" data-testid="history">
      <h2 id="history-heading">
        History <span className="muted" data-testid="history-count">({count})</span>
      </h2>
      {saver.failures.length > 0 ? (
        <div className="history-save-error" role="status" data-testid="history-save-error">
          {saver.failures.map((f) => (
            <p key={f.output.id}>{f.message}</p>
          ))}
          <p>The image stays shown above: download it to keep a copy, or free space (delete older entries) and retry.</p>
          <div className="row">
            <button type="button" onClick={saver.retry} data-testid="history-retry">Retry saving</button>
            <button type="button" onClick={saver.dismiss}>Dismiss</button>
          </div>
        </div>
      ) : null}
      <div className="row history-tools">
        <button type="button" onClick={() => void exportAll()} disabled={count === 0 || exporting} data-testid="history-export">
          Export all (.zip)
        </button>
        <button type="button" onClick={() => setConfirmAll(true)} disabled={count === 0 || confirmAll} data-testid="history-delete-all">
          Delete all…
        </button>
      </div>
      {confirmAll ? (
        <div className="history-confirm" role="group" aria-label="Confirm deleting the history" data-testid="history-confirm">
          <p>
            Delete all {count} image{count === 1 ? '' : 's'} from the history? This cannot be undone; Export all keeps a copy.
          </p>
          <div className="row">
            <button type="button" className="danger" onClick={() => void removeAll()} data-testid="history-confirm-delete">
              Delete all
            </button>
            <button type="button" onClick={() => setConfirmAll(false)} data-testid="history-confirm-keep">
              Keep
            </button>
          </div>
        </div>
      ) : null}
      <p className="hint" role="status" data-testid="history-status">
        {error ?? thumbs.error ?? status ?? ''}
        {deleted ? (
          <button type="button" className="small history-undo" onClick={() => void undo(deleted)} data-testid="history-undo">
            Undo
          </button>
        ) : null}
      </p>
      {entries && entries.length === 0 ? (
        <p className="muted" data-testid="history-empty">
          No images yet. Every image you generate is kept here, in this browser, until you delete it.
        </p>
      ) : null}
      {entries && entries.length > 0 ? (
        <ul className="history-grid" aria-label="Stored images, newest first" data-testid="history-grid">
          {entries.map((e) => {
            const url = thumbs.urls.get(e.id);
            const size = thumbnailSize(e.width, e.height);
            return (
              <li key={e.id}>
                <button type="button" onClick={() => setOpenId(e.id)} title={`${e.prompt}\n${new Date(e.createdAt).toLocaleString()}`}
                  data-testid="history-item" data-id={e.id}>
                  {url ? <img src={url} alt={e.prompt || '(empty prompt)'} width={size.width} height={size.height} /> : null}
                  <span className="history-caption">
                    {e.width}×{e.height} · {e.seed}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      {open ? (
        <EntryDialog entry={open} thumbnailUrl={thumbs.urls.get(open.id) ?? null} onClose={close}
          onReopen={(e) => {
            onReopen(e);
            setOpenId(null);
            setStatus(`Put the prompt, size, steps${e.guidance !== undefined ? ', guidance' : ''}${e.negativePrompt ? ', negative prompt' : ''} and seed ${e.seed} into the prompt form.`);
          }}
          onDelete={(e) => void remove(e)} />
      ) : null}
    </section>
  );
}
