import { describe, expect, it } from 'vitest';
import { MIN_SPAN_MS, RateMeter, etaSeconds } from './progress';

describe('RateMeter', () => {
  it('is null until MIN_SPAN_MS of samples, then bytes per second over the span', () => {
    const m = new RateMeter(8_000);
    m.add(0, 0);
    m.add(MIN_SPAN_MS - 1, 1_000);
    expect(m.rate()).toBeNull();
    m.add(1_000, 2_000); // 2000 B in 1 s
    expect(m.rate()).toBe(2_000);
  });

  it('forgets samples older than the window, keeping one baseline at its start', () => {
    const m = new RateMeter(2_000);
    m.add(0, 0);
    m.add(1_000, 10_000); // fast first second
    m.add(3_000, 11_000);
    m.add(5_000, 12_000); // then 500 B/s
    // window [3000, 5000]: baseline at 3000 → (12000 − 11000) / 2 s
    expect(m.rate()).toBe(500);
  });
});

describe('etaSeconds', () => {
  it('scales the network rate by the stored/fetched ratio of the session', () => {
    expect(etaSeconds(1_000, 100, 0, 0)).toBe(10); // nothing yet: 1:1
    expect(etaSeconds(1_000, 400, 4_000, 1_000)).toBe(10); // converting: 4 fetched per 1 stored
    expect(etaSeconds(0, null, 0, 0)).toBe(0);
    expect(etaSeconds(5, null, 0, 0)).toBeNull();
    expect(etaSeconds(5, 0, 0, 0)).toBeNull();
  });
});
