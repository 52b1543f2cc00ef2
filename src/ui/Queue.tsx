/** The visible queue (pending / running / done items with their seeds) and the strip of finished images. */
import { useEffect, useRef } from 'react';
import type { Job, JobStatus, Output } from './useGenerator';

const STATUS_TEXT: Readonly<Record<JobStatus, string>> = {
  pending: 'pending',
  running: 'running',
  done: 'done',
  cancelled: 'cancelled',
  failed: 'failed',
};

export interface QueueProps {
  jobs: readonly Job[];
  onSkip(): void;
  onRemove(id: number): void;
}

export function QueueList({ jobs, onSkip, onRemove }: QueueProps) {
  if (jobs.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="queue-heading">
      <h2 id="queue-heading">Queue</h2>
      <ol className="queue" data-testid="queue">
        {jobs.map((j) => (
          <li key={j.id} className={`job ${j.status}`} data-testid="queue-item" data-status={j.status}>
            <span>
              #{j.id} · {j.req.width}×{j.req.height} · seed {j.req.seed}
            </span>
            <span className="muted">{STATUS_TEXT[j.status]}</span>
            {j.status === 'running' ? (
              <button type="button" className="small" onClick={onSkip} aria-label={`Stop image #${j.id}`}>
                Stop
              </button>
            ) : null}
            {j.status === 'pending' ? (
              <button type="button" className="small" onClick={() => onRemove(j.id)} aria-label={`Remove image #${j.id}`}>
                Remove
              </button>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A small canvas showing an output scaled down to at most 64 px a side. */
function Thumb({ output }: { output: Output }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    const { width, height, rgba } = output.result;
    const scale = 64 / Math.max(width, height);
    if (!c) return;
    c.width = Math.max(1, Math.round(width * scale));
    c.height = Math.max(1, Math.round(height * scale));
    let alive = true;
    void createImageBitmap(new ImageData(new Uint8ClampedArray(rgba), width, height)).then((bitmap) => {
      if (alive) c.getContext('2d')?.drawImage(bitmap, 0, 0, c.width, c.height);
      bitmap.close();
    });
    return () => {
      alive = false;
    };
  }, [output]);
  return <canvas ref={canvas} aria-hidden="true" />;
}

export interface StripProps {
  outputs: readonly Output[];
  shownId: number | null;
  onShow(id: number): void;
}

export function ResultStrip({ outputs, shownId, onShow }: StripProps) {
  if (outputs.length < 2) return null;
  return (
    <ul className="strip" aria-label="Finished images" data-testid="result-strip">
      {outputs.map((o) => (
        <li key={o.id}>
          <button type="button" onClick={() => onShow(o.id)} aria-pressed={o.id === shownId}
            aria-label={`Show image #${o.id}, seed ${o.result.seed}`}>
            <Thumb output={o} />
          </button>
        </li>
      ))}
    </ul>
  );
}
