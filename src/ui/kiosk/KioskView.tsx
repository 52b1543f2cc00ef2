/**
 * The kiosk screen: a big stage (the visitor's picture, its progress, or the instructions), the
 * prompt with suggestion chips and one Create button, the visitor's place in the queue, and the
 * attract loop on top while idle. No model panel, settings or sizes: the configuration fixes them.
 * The first touch asks for full screen. Leaving: hold the top-left corner for 2 s, or press
 * Ctrl+Shift+K; then the PIN (if configured).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { stageLabel } from '../format';
import { Progress } from '../Progress';
import { browserStorage, leaveKiosk } from './access';
import { Attract } from './Attract';
import type { KioskConfig } from './config';
import { PinDialog } from './PinDialog';
import { useEngine } from './useEngine';
import { useSafetyScreen } from '../safety/screen';
import { type KioskResult, useKioskSession } from './useKioskSession';

/** How long the hidden top-left corner must be held to ask for leaving. */
const EXIT_HOLD_MS = 2000;
/** An out-of-order kiosk tries to load the model again this often. */
const RETRY_MS = 60_000;

/** Asks for full screen on the first touch, click or key (browsers allow it only inside a user gesture). */
function requestFullscreenOnce(logged: { current: boolean }): void {
  if (document.fullscreenElement || !document.fullscreenEnabled) return;
  document.documentElement.requestFullscreen({ navigationUI: 'hide' }).catch((e: unknown) => {
    if (logged.current) return;
    logged.current = true;
    console.warn('Kiosk: the browser refused full screen:', e);
  });
}

/** Leaves kiosk mode: clears the flag and reloads the page without `kiosk` and `config`. */
export function leave(): void {
  window.location.assign(leaveKiosk(new URL(window.location.href), browserStorage()).href);
}

function ResultImage({ shown }: { shown: KioskResult }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { result } = shown;
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    c.width = result.width;
    c.height = result.height;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(result.rgba), result.width, result.height), 0, 0);
    c.dataset.rendered = `${result.width}x${result.height}:${result.seed}`;
  }, [result]);
  return (
    <figure className="kiosk-result">
      <canvas ref={canvas} data-testid="kiosk-result" role="img" aria-label={shown.flagged ? 'A blurred picture' : shown.prompt}
        data-flagged={shown.flagged ? 'true' : undefined} />
      <figcaption>“{shown.prompt}”</figcaption>
    </figure>
  );
}

export function KioskView({ config }: { config: KioskConfig }) {
  const engine = useEngine(config.model);
  const safety = useSafetyScreen(config.safety, true);
  const { screen, ready: safetyReady } = safety;
  const kioskSafety = useMemo(() => (screen && safetyReady ? { screen, ready: safetyReady } : null), [screen, safetyReady]);
  const session = useKioskSession(config, engine, kioskSafety);
  const [exiting, setExiting] = useState(false);
  const fullscreenLogged = useRef(false);
  const hold = useRef<ReturnType<typeof setTimeout> | null>(null);
  const { poke, visitor } = session;

  // Any touch, click or key is an interaction; taps on the attract loop are its own (it closes on click).
  useEffect(() => {
    const onPointer = (e: PointerEvent) => {
      requestFullscreenOnce(fullscreenLogged);
      if (!(e.target instanceof Element && e.target.closest('.kiosk-attract'))) poke();
    };
    const onKey = (e: KeyboardEvent) => {
      poke();
      if (e.ctrlKey && e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setExiting(true);
      }
    };
    document.addEventListener('pointerdown', onPointer, true);
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('input', poke, true);
    return () => {
      document.removeEventListener('pointerdown', onPointer, true);
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('input', poke, true);
    };
  }, [poke]);

  useEffect(() => setExiting(false), [visitor]);

  const failed = engine.state.kind === 'failed';
  const { retry } = engine;
  useEffect(() => {
    if (!failed) return;
    const timer = setTimeout(retry, RETRY_MS);
    return () => clearTimeout(timer);
  }, [failed, retry]);

  const endHold = () => {
    if (hold.current !== null) clearTimeout(hold.current);
    hold.current = null;
  };
  const st = engine.state;
  const loadFraction = st.kind === 'loading' && st.progress && st.progress.totalBytes > 0 ? st.progress.loadedBytes / st.progress.totalBytes : null;

  return (
    <div className="kiosk" data-testid="kiosk" data-engine={st.kind} data-safety={safety.state.kind} data-safety-device={safety.state.kind === 'ready' ? safety.state.device : undefined} data-visitor={visitor} onContextMenu={(e) => e.preventDefault()}>
      <button type="button" className="kiosk-exit-corner" aria-label="Leave kiosk mode (hold for 2 seconds)" tabIndex={-1}
        data-testid="kiosk-exit-corner"
        onPointerDown={() => {
          endHold();
          hold.current = setTimeout(() => setExiting(true), EXIT_HOLD_MS);
        }}
        onPointerUp={endHold} onPointerLeave={endHold} onPointerCancel={endHold} />

      <header className="kiosk-header">
        <h1>{config.title}</h1>
      </header>

      <main className="kiosk-main">
        <section className="kiosk-stage" aria-label="Your picture">
          {st.kind === 'failed' ? (
            <div className="kiosk-out-of-order" role="alert" data-testid="kiosk-engine-error">
              <p>Sorry, the picture machine is out of order right now.</p>
              <p className="kiosk-detail">{st.message}</p>
              <button type="button" onClick={retry}>Try again</button>
            </div>
          ) : session.running ? (
            <div className="kiosk-working">
              <p>“{session.running.prompt}”</p>
              <Progress testId="kiosk-progress" label={session.running.progress ? stageLabel(session.running.progress) : 'Starting…'}
                fraction={session.running.progress?.fraction ?? null} />
            </div>
          ) : session.result ? (
            <ResultImage shown={session.result} />
          ) : st.kind !== 'ready' ? (
            <Progress testId="kiosk-loading" label="Getting ready…" fraction={loadFraction} />
          ) : (
            <p className="kiosk-instructions">Describe a picture, or tap one of the ideas. Then press Create.</p>
          )}
        </section>

        <form className="kiosk-controls" onSubmit={(e) => {
          e.preventDefault();
          session.submit();
        }}>
          <label htmlFor="kiosk-prompt">What should the picture show?</label>
          <textarea id="kiosk-prompt" className="kiosk-prompt" data-testid="kiosk-prompt" rows={3} maxLength={config.maxPromptLength}
            enterKeyHint="go" autoComplete="off" spellCheck={false} value={session.prompt}
            onChange={(e) => session.setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                session.submit();
              }
            }} />
          {config.suggestions.length > 0 ? (
            <ul className="kiosk-chips" aria-label="Ideas">
              {config.suggestions.map((s) => (
                <li key={s}>
                  <button type="button" className="kiosk-chip" data-testid="kiosk-chip" onClick={() => session.setPrompt(s)}>{s}</button>
                </li>
              ))}
            </ul>
          ) : null}
          <button type="submit" className="kiosk-create" data-testid="kiosk-generate" disabled={failed}>Create</button>
          <p className="kiosk-message" role="status" data-testid="kiosk-message">{session.message}</p>
          {session.mine.length > 0 ? (
            <ul className="kiosk-mine" data-testid="kiosk-queue">
              {session.mine.map((r) => (
                <li key={r.id}>
                  <span>{r.place === 1 ? 'Your picture is next.' : `Your picture is number ${r.place} in line.`}</span>
                  <button type="button" onClick={() => session.withdraw(r.id)} data-testid="kiosk-withdraw">Cancel it</button>
                </li>
              ))}
            </ul>
          ) : session.othersRunning ? (
            <p className="kiosk-detail">Another visitor's picture is being made right now.</p>
          ) : null}
        </form>
      </main>

      {session.attract !== null ? <Attract slide={session.attract} title={config.title} blocklist={session.blocklist} safety={config.safety} onExit={poke} /> : null}
      {exiting ? (
        <PinDialog title="Leave kiosk mode" explanation="The app returns to its normal view, with every setting." confirmLabel="Leave"
          pin={config.pin} onConfirm={leave} onCancel={() => setExiting(false)} />
      ) : null}
    </div>
  );
}
