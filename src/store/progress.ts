/**
 * Download speed and time left. Speed is network bytes per second over a sliding window; the time
 * left scales it by this session's stored/fetched ratio, because a converting download fetches more
 * bytes than it stores (bf16 → q4 is ≈ 3.6 : 1) while a pack copy fetches what it stores.
 */

/** Rates are measured over the last WINDOW_MS; none is reported before MIN_SPAN_MS of samples. */
export const WINDOW_MS = 8_000;
export const MIN_SPAN_MS = 500;

export class RateMeter {
  /** (time ms, cumulative bytes), oldest first; the first may lie before the window as its baseline. */
  private samples: Array<{ t: number; bytes: number }> = [];

  constructor(private readonly windowMs: number = WINDOW_MS) {}

  /** Records the cumulative byte count at time `t` (ms, non-decreasing). */
  add(t: number, cumulative: number): void {
    this.samples.push({ t, bytes: cumulative });
    // keep exactly one sample at or before the window's start, so the rate spans the whole window
    while (this.samples.length > 2 && (this.samples[1] as { t: number }).t <= t - this.windowMs) this.samples.shift();
  }

  /** Bytes per second between the oldest kept sample and the newest; null before MIN_SPAN_MS. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < MIN_SPAN_MS) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}

/**
 * Seconds left to store `remaining` bytes, given the network rate and the bytes fetched and stored
 * so far in this session; null when the rate is unknown or zero.
 */
export function etaSeconds(remaining: number, fetchRate: number | null, fetched: number, stored: number): number | null {
  if (remaining <= 0) return 0;
  if (fetchRate === null || fetchRate <= 0) return null;
  const storedPerFetched = fetched > 0 && stored > 0 ? stored / fetched : 1;
  return remaining / (fetchRate * storedPerFetched);
}
