/**
 * The modal that guards entering and leaving kiosk mode. With a PIN configured it asks for it (an
 * on-screen keypad for touch screens, or the keyboard) and calls `onConfirm` only when it derives
 * the configured hash (pin.ts); without one it asks for a plain confirmation. Wrong PINs are
 * counted across reloads and both dialogs (lockout.ts): while locked, the dialog says for how long
 * and takes no input.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { browserStorage } from './access';
import { afterFailure, lockMs, lockoutMessage, lockRemainingMs, NO_FAILURES, type PinLockout, readLockout, writeLockout } from './lockout';
import { type PinHash, pinMatches } from './pin';

export interface PinDialogProps {
  title: string;
  /** What happens on confirming, shown above the field. */
  explanation: string;
  confirmLabel: string;
  /** The configured PIN hash, or null when no PIN is configured. */
  pin: PinHash | null;
  onConfirm(): void;
  onCancel(): void;
}

/** How often the lock's countdown is redrawn, in ms (under a second, so no second is skipped). */
const COUNTDOWN_TICK_MS = 250;

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'back'] as const;

export function PinDialog({ title, explanation, confirmLabel, pin: pinHash, onConfirm, onCancel }: PinDialogProps) {
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const [storage] = useState(() => (pinHash === null ? null : browserStorage()));
  // Without localStorage the count lives here, until the dialog closes.
  const [lockout, setLockout] = useState<PinLockout>(() => (pinHash === null ? NO_FAILURES : readLockout(storage)));
  const [now, setNow] = useState(() => Date.now());
  const input = useRef<HTMLInputElement>(null);
  // Set synchronously, unlike `checking`: two submits in one frame must not both be checked.
  const inFlight = useRef(false);
  const id = useId();
  const remaining = lockRemainingMs(lockout, now);
  const locked = remaining > 0;

  useEffect(() => input.current?.focus(), [locked]);
  useEffect(() => {
    if (!locked) return;
    const timer = setInterval(() => setNow(Date.now()), COUNTDOWN_TICK_MS);
    return () => clearInterval(timer);
  }, [locked]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onCancel();
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onCancel]);

  async function confirm() {
    if (pinHash === null) return onConfirm();
    if (inFlight.current) return;
    // The other dialog (or another tab) may have counted failures since this one opened.
    const current = storage === null ? lockout : readLockout(storage);
    setLockout(current);
    setNow(Date.now());
    if (lockRemainingMs(current, Date.now()) > 0) return;
    inFlight.current = true;
    setChecking(true);
    try {
      if (await pinMatches(pin, pinHash)) {
        writeLockout(storage, NO_FAILURES);
        return onConfirm();
      }
      const next = afterFailure(current, Date.now());
      writeLockout(storage, next);
      setLockout(next);
      setNow(Date.now());
      setError(lockMs(next.failures) > 0 ? null : 'Wrong PIN.'); // when locked, the lock message says it
      setPin('');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      inFlight.current = false;
      setChecking(false);
    }
  }

  function press(key: (typeof KEYS)[number]) {
    if (locked) return;
    setError(null);
    if (key === 'clear') setPin('');
    else if (key === 'back') setPin((p) => p.slice(0, -1));
    else setPin((p) => p + key);
  }

  return (
    <div className="kiosk-modal" role="dialog" aria-modal="true" aria-labelledby={`${id}-title`} data-testid="pin-dialog">
      <form
        className="kiosk-modal-box"
        onSubmit={(e) => {
          e.preventDefault();
          void confirm();
        }}
      >
        <h2 id={`${id}-title`}>{title}</h2>
        <p>{explanation}</p>
        {pinHash !== null ? (
          <>
            <label htmlFor={`${id}-pin`}>PIN</label>
            <input id={`${id}-pin`} ref={input} className="kiosk-pin" type="password" inputMode="numeric" autoComplete="off"
              value={pin} disabled={locked} onChange={(e) => { setError(null); setPin(e.target.value); }} data-testid="pin-input" />
            <div className="kiosk-keypad">
              {KEYS.map((k) => (
                <button key={k} type="button" disabled={locked} onClick={() => press(k)} aria-label={k === 'back' ? 'Delete last digit' : k === 'clear' ? 'Clear' : k}>
                  {k === 'back' ? '⌫' : k === 'clear' ? 'C' : k}
                </button>
              ))}
            </div>
          </>
        ) : null}
        <p role="alert" className="kiosk-modal-error" data-testid="pin-error" data-locked={locked ? 'true' : undefined}>
          {locked ? lockoutMessage(remaining) : error}
        </p>
        <div className="kiosk-modal-actions">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" className="primary" disabled={checking || locked} data-testid="pin-confirm">{confirmLabel}</button>
        </div>
      </form>
    </div>
  );
}
