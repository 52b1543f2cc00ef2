/**
 * The first-run card, shown while no model is stored, loading or loaded: what Kleinbild does, the
 * recommended download (the catalog's smallest faithful choice) with its sizes, whether this GPU
 * can run it (computed before anything is fetched; a software adapter is named here) and one
 * button. Once stored, the model loads by itself (App). Other choices, folder import and streaming
 * without storing sit under "More options" (the Model and Stored models panels, passed as children).
 */
import type { ReactNode } from 'react';
import type { ModelChoice } from '../catalog/choices';
import type { GpuFit, StoredModel } from '../worker/api';
import { ErrorMessage } from './ErrorMessage';
import { Progress } from './Progress';
import { downloadDetail } from './StoragePanel';
import { fitMessage } from './gpuFitMessage';
import { formatBytes } from './format';
import type { StorageState } from './useStorage';
import { useOnline } from './useOnline';

export interface FirstRunProps {
  /** The recommended download; null while the catalog is computed. */
  choice: ModelChoice | null;
  /** The verdict for `choice` on this GPU; null while it is planned; a string when it failed. */
  fit: GpuFit | string | null;
  store: StorageState;
  /** Why nothing can be downloaded yet (engine starting, no WebGPU), or null. */
  block: string | null;
  /** Called with the stored model once the download completes (App loads it). */
  onStored(m: StoredModel): void;
  /** The full Model and Stored models panels, under "More options". */
  children: ReactNode;
}

export function FirstRun({ choice, fit, store, block, onStored, children }: FirstRunProps) {
  const online = useOnline();
  const dl = store.active;
  const verdict = typeof fit === 'string' ? { tone: 'warn' as const, text: `Could not check this GPU: ${fit}` } : fit ? fitMessage(fit) : null;
  const size = choice ? `${choice.approximate ? '≈ ' : ''}${formatBytes(choice.downloadBytes)}` : '';
  const reason = block ?? (choice ? null : 'Reading the model catalog…');
  return (
    <section className="panel first-run" aria-labelledby="first-run-heading" data-testid="first-run">
      <h2 id="first-run-heading">Make images with FLUX.2 [klein] on this computer</h2>
      <p>
        Kleinbild runs Black Forest Labs’ FLUX.2 [klein] 4B image model in this browser, on your own GPU: prompts and images
        never leave this computer. The model is downloaded once, stored in this browser, and works offline afterwards.
      </p>
      {choice ? (
        <p className="first-run-choice" data-testid="first-run-choice">
          <strong>{choice.label}</strong> · {size} download → {formatBytes(choice.storedBytes)} stored. <span className="muted">{choice.description}</span>
        </p>
      ) : null}
      <p className={`fit fit-${verdict?.tone ?? 'pending'}`} data-testid="first-run-fit" data-verdict={typeof fit === 'object' && fit ? fit.verdict : 'unknown'}>
        {verdict ? verdict.text : 'Checking whether this GPU can run it…'}
      </p>
      {dl ? (
        <>
          <Progress testId="first-run-progress" label={`Downloading ${dl.name}`}
            fraction={dl.progress && dl.progress.totalBytes > 0 ? dl.progress.doneBytes / dl.progress.totalBytes : null}
            {...(dl.progress ? { detail: downloadDetail(dl.progress, online) } : {})} />
          <div className="row">
            <button type="button" onClick={store.cancel} disabled={dl.cancelling} data-testid="first-run-cancel">
              {dl.cancelling ? 'Cancelling…' : 'Cancel download'}
            </button>
            <span className="hint">You can write the prompt meanwhile; the model loads by itself when the download is done.</span>
          </div>
        </>
      ) : (
        <div className="row">
          <button type="button" className="primary" disabled={reason !== null} onClick={() => choice && store.download(choice.recipe, onStored)}
            aria-describedby="first-run-reason" data-testid="first-run-download">
            Download the model{size ? ` (${size})` : ''}
          </button>
          {reason ? <span className="reason" id="first-run-reason">{reason}</span> : null}
        </div>
      )}
      {store.error && !dl ? (
        <div role="alert" className="storage-error" data-testid="first-run-error">
          <ErrorMessage error={store.error} heading="The download stopped" />{' '}
          <button type="button" className="link" onClick={store.dismiss} aria-label="Dismiss download error">×</button>
        </div>
      ) : null}
      <details className="more-options" data-testid="first-run-more">
        <summary>More options: other downloads, a model folder from this computer, streaming without storing</summary>
        {children}
      </details>
    </section>
  );
}
