/**
 * The modal that guards entering and leaving kiosk mode. With a PIN configured it asks for it (an
 * on-screen keypad for touch screens, or the keyboard) and calls `onConfirm` only when its SHA-256
 * matches; without one it asks for a plain confirmation.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { pinMatches } from './access';

export interface PinDialogProps {
  title: string;
  /** What happens on confirming, shown above the field. */
  explanation: string;
  confirmLabel: string;
  /** SHA-256 hex of the PIN, or null when no PIN is configured. */
  pinSha256: string | null;
  onConfirm(): void;
  onCancel(): void;
}

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'back'] as const;

export function PinDialog({ title, explanation, confirmLabel, pinSha256, onConfirm, onCancel }: PinDialogProps) {
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();

  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onCancel();
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onCancel]);

  async function confirm() {
    if (pinSha256 === null) return onConfirm();
    setChecking(true);
    try {
      if (await pinMatches(pin, pinSha256)) return onConfirm();
      setError('Wrong PIN.');
      setPin('');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setChecking(false);
    }
  }

  function press(key: (typeof KEYS)[number]) {
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
        {pinSha256 !== null ? (
          <>
            <label htmlFor={`${id}-pin`}>PIN</label>
            <input id={`${id}-pin`} ref={input} className="kiosk-pin" type="password" inputMode="numeric" autoComplete="off"
              value={pin} onChange={(e) => { setError(null); setPin(e.target.value); }} data-testid="pin-input" />
            <div className="kiosk-keypad">
              {KEYS.map((k) => (
                <button key={k} type="button" onClick={() => press(k)} aria-label={k === 'back' ? 'Delete last digit' : k === 'clear' ? 'Clear' : k}>
                  {k === 'back' ? '⌫' : k === 'clear' ? 'C' : k}
                </button>
              ))}
            </div>
          </>
        ) : null}
        <p role="alert" className="kiosk-modal-error" data-testid="pin-error">{error}</p>
        <div className="kiosk-modal-actions">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" className="primary" disabled={checking} data-testid="pin-confirm">{confirmLabel}</button>
        </div>
      </form>
    </div>
  );
}
