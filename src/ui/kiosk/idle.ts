/**
 * The kiosk's idle clock, as pure functions of an injected time (ms, any monotonic clock).
 *
 * Idle time runs from the visitor's last interaction. It is held at zero while the kiosk is busy
 * for the visitor (their own image is being made, or the model is still loading), so nobody is
 * reset while watching the progress bar. After `resetMs` of idle time the session is reset once
 * (tick() reports it a single time per idle period); after `attractMs` the attract loop runs,
 * showing slide k = ⌊(idle − attractMs) / slideMs⌋ (the caller takes it modulo the slide count).
 * Any interaction ends the idle period and the attract loop.
 */

export interface IdleTimings {
  resetMs: number;
  attractMs: number;
  slideMs: number;
}

export interface IdleState {
  /** Clock time of the last interaction, or of the last tick while busy. */
  readonly lastActiveMs: number;
  /** Whether this idle period's reset has happened. */
  readonly resetDone: boolean;
}

/** A fresh session at `now`: idle time zero, reset pending. */
export function idleStart(now: number): IdleState {
  return { lastActiveMs: now, resetDone: false };
}

/** The visitor touched, clicked or typed at `now`. */
export function interact(_s: IdleState, now: number): IdleState {
  return idleStart(now);
}

/**
 * Advances the clock to `now`. `busy` holds the idle time at zero. `reset` is true exactly once per
 * idle period, at the first tick with idle time ≥ resetMs.
 */
export function tick(s: IdleState, now: number, busy: boolean, t: IdleTimings): { state: IdleState; reset: boolean } {
  if (busy) return { state: { lastActiveMs: now, resetDone: s.resetDone }, reset: false };
  if (!s.resetDone && now - s.lastActiveMs >= t.resetMs) return { state: { ...s, resetDone: true }, reset: true };
  return { state: s, reset: false };
}

/** The attract loop's slide number at `now` (0, 1, 2, …), or null while it should not run. */
export function attractSlide(s: IdleState, now: number, t: IdleTimings): number | null {
  const since = now - s.lastActiveMs - t.attractMs;
  return since < 0 ? null : Math.floor(since / t.slideMs);
}
