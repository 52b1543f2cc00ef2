/**
 * The kiosk's root (mounted instead of <App/> in kiosk mode): reads and validates the kiosk
 * configuration, shows its problems on screen if there are any, and otherwise the kiosk screen.
 */
import { useEffect, useState } from 'react';
import { configParam } from './access';
import { type KioskConfig, loadKioskConfig, resolveConfigUrl } from './config';
import { KioskView, leave } from './KioskView';
import './kiosk.css';

type ConfigState = { kind: 'loading' } | { kind: 'ready'; config: KioskConfig } | { kind: 'invalid'; source: string; errors: string[] };

export function KioskApp() {
  const [state, setState] = useState<ConfigState>({ kind: 'loading' });

  useEffect(() => {
    let alive = true;
    const page = window.location.href;
    const param = configParam(new URL(page));
    const resolved = resolveConfigUrl(param, page);
    if ('error' in resolved) {
      setState({ kind: 'invalid', source: param ?? '', errors: [resolved.error] });
      return;
    }
    void loadKioskConfig(resolved.url).then((r) => {
      if (!alive) return;
      if (r.ok) setState({ kind: 'ready', config: r.config });
      else {
        for (const e of r.errors) console.error(`Kiosk configuration ${resolved.url.pathname}: ${e}`);
        setState({ kind: 'invalid', source: resolved.url.pathname, errors: r.errors });
      }
    });
    return () => {
      alive = false;
    };
  }, []);

  if (state.kind === 'ready') return <KioskView config={state.config} />;
  return (
    <div className="kiosk" data-testid="kiosk">
      {state.kind === 'loading' ? (
        <p className="kiosk-instructions">Starting…</p>
      ) : (
        <div className="kiosk-config-error" role="alert" data-testid="kiosk-config-error">
          <h1>The kiosk configuration has problems</h1>
          <p>
            Fix <code>{state.source}</code> (see src/ui/kiosk/README.md) and reload the page:
          </p>
          <ul>
            {state.errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
          {/* Without a valid configuration there is no PIN to ask for. */}
          <button type="button" onClick={leave}>
            Leave kiosk mode
          </button>
        </div>
      )}
    </div>
  );
}
