/** A labelled progress bar; `fraction` null shows an indeterminate bar. Announced politely. */
export interface ProgressProps {
  label: string;
  fraction: number | null;
  detail?: string;
  testId: string;
}

export function Progress({ label, fraction, detail, testId }: ProgressProps) {
  const pct = fraction === null ? null : Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div className="progress" data-testid={testId}>
      <div className="progress-text" aria-live="polite">
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
