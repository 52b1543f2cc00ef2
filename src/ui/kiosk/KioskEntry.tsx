/**
 * The app's "Kiosk mode" entry: reads the kiosk configuration (public/kiosk.json), asks for its
 * PIN when one is set, then reloads the page in kiosk mode (remembered across reloads; see
 * access.ts). A broken configuration is shown instead, since its PIN cannot be checked.
 */
import { useState } from 'react';
import { browserStorage, enterKiosk } from './access';
import { type KioskConfig, loadKioskConfig, resolveConfigUrl } from './config';
import { PinDialog } from './PinDialog';
import './kiosk.css';

type EntryState = { kind: 'closed' } | { kind: 'reading' } | { kind: 'ask'; config: KioskConfig } | { kind: 'invalid'; errors: string[] };

function enter(): void {
  window.location.assign(enterKiosk(new URL(window.location.href), browserStorage()).href);
}

export function KioskEntry() {
  const [state, setState] = useState<EntryState>({ kind: 'closed' });

  async function open() {
    setState({ kind: 'reading' });
    const resolved = resolveConfigUrl(null, window.location.href);
    const r = 'error' in resolved ? { ok: false as const, errors: [resolved.error] } : await loadKioskConfig(resolved.url);
    setState(r.ok ? { kind: 'ask', config: r.config } : { kind: 'invalid', errors: r.errors });
  }

  const close = () => setState({ kind: 'closed' });
  return (
    <>
      <button type="button" className="small" onClick={() => void open()} disabled={state.kind === 'reading'} data-testid="kiosk-enter">
        Kiosk mode
      </button>
      {state.kind === 'ask' ? (
        <PinDialog title="Switch to kiosk mode"
          explanation="A full-screen, touch-friendly view for visitors, set up by kiosk.json. To leave it, hold the top-left corner for 2 seconds or press Ctrl+Shift+K."
          confirmLabel="Start kiosk" pin={state.config.pin} onConfirm={enter} onCancel={close} />
      ) : null}
      {state.kind === 'invalid' ? (
        <div className="kiosk-modal" role="dialog" aria-modal="true" aria-label="Kiosk configuration problems">
          <div className="kiosk-modal-box" role="alert" data-testid="kiosk-config-error">
            <h2>The kiosk configuration has problems</h2>
            <ul>
              {state.errors.map((e) => (
                <li key={e}>{e}</li>
              ))}
            </ul>
            <div className="kiosk-modal-actions">
              <button type="button" onClick={close}>Close</button>
            </div>
          </div>
        </div>
      ) : null}
    </>
  );
}
