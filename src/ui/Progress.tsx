/**
 * Progress display: a labelled progress bar, and the page's polite live region (LiveStatus) that
 * tells screen readers what the engine is doing: model loading, each stage and step of the running
 * image, and each finished image. Errors are not repeated here: App's role="alert" region
 * announces them at once.
 */
import { useEffect, useState } from 'react';
import { formatMs, stageLabel } from './format';
import type { Generator } from './useGenerator';

export interface ProgressProps {
  label: string;
  fraction: number | null;
  detail?: string;
  testId: string;
}

/** A labelled progress bar; `fraction` null shows an indeterminate bar. Not a live region itself. */
export function Progress({ label, fraction, detail, testId }: ProgressProps) {
  const pct = fraction === null ? null : Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div className="progress" data-testid={testId}>
      <div className="progress-text">
        <span data-testid={`${testId}-label`}>{label}</span>
        {detail ? <span className="muted">{detail}</span> : null}
      </div>
      <div
        className={pct === null ? 'progress-track indeterminate' : 'progress-track'}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(pct === null ? {} : { 'aria-valuenow': pct })}
      >
        <div className="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
      </div>
    </div>
  );
}

/**
 * The latest event worth announcing: "Loading the model…", "Model loaded.", "Image #2: Step 3 / 4",
 * "Image #2 done: 512×512, seed 7, 41.20 s.", "Cancelled.". Changes only on a new stage or step
 * (never on byte counts), so a screen reader is not flooded.
 */
export function useAnnouncement(gen: Generator): string {
  const [message, setMessage] = useState('');
  const runningId = gen.jobs.find((j) => j.status === 'running')?.id;
  const progress = gen.run.kind === 'running' ? gen.run.progress : null;
  const stage =
    gen.run.kind === 'cancelling'
      ? 'Cancelling…'
      : gen.run.kind === 'running' && runningId !== undefined
        ? `Image #${runningId}: ${progress ? stageLabel(progress) : 'starting'}`
        : null;
  const modelKind = gen.model.kind;
  const last = gen.outputs.at(-1);
  useEffect(() => {
    if (modelKind === 'loading') setMessage('Loading the model…');
    if (modelKind === 'ready') setMessage('Model loaded.');
  }, [modelKind]);
  useEffect(() => {
    if (stage) setMessage(stage);
  }, [stage]);
  useEffect(() => {
    if (gen.notice) setMessage(gen.notice);
  }, [gen.notice]);
  // Last: when one image finishes and the next starts in the same render, "done" is what is said.
  useEffect(() => {
    if (!last) return;
    const { width, height, seed, timings } = last.result;
    setMessage(`Image #${last.id} done: ${width}×${height}, seed ${seed}, ${formatMs(timings.totalMs)}.`);
  }, [last]);
  return message;
}

/** The polite, atomic live region (visually hidden) that reads out `message` whenever it changes. */
export function LiveStatus({ message }: { message: string }) {
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="live-status">
      {message}
    </div>
  );
}
