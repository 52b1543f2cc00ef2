import { describe, expect, it } from 'vitest';
import { attractSlide, idleStart, interact, type IdleState, tick } from './idle';

const T = { resetMs: 5000, attractMs: 8000, slideMs: 2000 };

/** Ticks every `step` ms from `from` to `to` (inclusive); returns the last state and the reset times. */
function run(s: IdleState, from: number, to: number, busy: (t: number) => boolean, step = 250) {
  const resets: number[] = [];
  for (let t = from; t <= to; t += step) {
    const r = tick(s, t, busy(t), T);
    s = r.state;
    if (r.reset) resets.push(t);
  }
  return { s, resets };
}

describe('kiosk idle clock', () => {
  it('resets once after resetMs and starts the attract loop after attractMs', () => {
    const { s, resets } = run(idleStart(1000), 1000, 20_000, () => false);
    expect(resets).toEqual([6000]);
    expect(attractSlide(s, 8999, T)).toBeNull();
    expect(attractSlide(s, 9000, T)).toBe(0);
    expect(attractSlide(s, 10_999, T)).toBe(0);
    expect(attractSlide(s, 11_000, T)).toBe(1);
    expect(attractSlide(s, 20_000, T)).toBe(5);
  });

  it('an interaction stops the attract loop and starts a new idle period', () => {
    let { s } = run(idleStart(0), 0, 12_000, () => false);
    expect(attractSlide(s, 12_000, T)).toBe(2);
    s = interact(s, 12_100);
    expect(attractSlide(s, 12_100, T)).toBeNull();
    const again = run(s, 12_100, 30_000, () => false);
    expect(again.resets).toEqual([17_100]);
  });

  it('holds the idle time at zero while busy', () => {
    // Busy (own image running) from 2 s to 60 s: no reset or attract until 5 s / 8 s after the
    // last busy tick (59.75 s).
    const { s, resets } = run(idleStart(0), 0, 70_000, (t) => t >= 2000 && t < 60_000);
    expect(resets).toEqual([64_750]);
    expect(attractSlide(s, 67_749, T)).toBeNull();
    expect(attractSlide(s, 67_750, T)).toBe(0);
  });

  it('interacting just before the deadline postpones the reset', () => {
    let s = idleStart(0);
    s = tick(s, 4900, false, T).state;
    s = interact(s, 4950);
    expect(tick(s, 5000, false, T).reset).toBe(false);
    expect(tick(s, 9949, false, T).reset).toBe(false);
    expect(tick(s, 9950, false, T).reset).toBe(true);
  });
});
