import { describe, expect, it, vi } from 'vitest';
import {
  afterFailure, FIRST_LOCK_MS, FORGET_AFTER_MS, FREE_ATTEMPTS, LOCKOUT_STORAGE_KEY, lockMs, lockoutMessage, lockRemainingMs,
  LONGEST_LOCK_MS, NO_FAILURES, type PinLockout, readLockout, writeLockout,
} from './lockout';

/** A Storage stand-in backed by a Map (Node has no localStorage). */
function memoryStorage() {
  const m = new Map<string, string>();
  return { m, getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
}

/** The state after `n` wrong PINs one second apart, the last at `now`. */
function failures(n: number, now: number): PinLockout {
  let s: PinLockout = NO_FAILURES;
  for (let i = n - 1; i >= 0; i--) s = afterFailure(s, now - i * 1000);
  return s;
}

describe('PIN lockout', () => {
  it('locks from the fifth wrong PIN for 30 s, doubling up to 15 min', () => {
    expect(FREE_ATTEMPTS).toBe(5);
    expect([0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 50, 1e6].map(lockMs)).toEqual([
      0, 0, 0, 30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000, 900_000,
    ]);
    expect(lockMs(FREE_ATTEMPTS)).toBe(FIRST_LOCK_MS);
    expect(lockMs(100)).toBe(LONGEST_LOCK_MS);
  });

  it('counts down from the last failure, by the injected clock', () => {
    const t0 = 1_700_000_000_000;
    expect(lockRemainingMs(failures(4, t0), t0)).toBe(0);
    const s = failures(5, t0);
    expect(s).toEqual({ failures: 5, lastFailureAt: t0 });
    expect(lockRemainingMs(s, t0)).toBe(30_000);
    expect(lockRemainingMs(s, t0 + 29_001)).toBe(999);
    expect(lockoutMessage(lockRemainingMs(s, t0 + 29_001))).toBe('Too many wrong PINs: try again in 1 s.');
    expect(lockoutMessage(30_000)).toBe('Too many wrong PINs: try again in 30 s.');
    expect(lockRemainingMs(s, t0 + 30_000)).toBe(0);
    // The next wrong PIN after the lock doubles it.
    const s6 = afterFailure(s, t0 + 40_000);
    expect(lockRemainingMs(s6, t0 + 40_000)).toBe(60_000);
    // A clock set back counts as "just failed", never as unlocked.
    expect(lockRemainingMs(s6, t0)).toBe(60_000);
  });

  it('forgets failures after a day without one', () => {
    const t0 = 1_700_000_000_000;
    const s = failures(7, t0);
    expect(afterFailure(s, t0 + FORGET_AFTER_MS - 1).failures).toBe(8);
    expect(afterFailure(s, t0 + FORGET_AFTER_MS)).toEqual({ failures: 1, lastFailureAt: t0 + FORGET_AFTER_MS });
  });

  it('survives a reload in storage, and is cleared by a right PIN', () => {
    const storage = memoryStorage();
    expect(readLockout(storage)).toEqual(NO_FAILURES);
    const s = failures(6, 1_700_000_000_000);
    writeLockout(storage, s);
    expect(JSON.parse(storage.m.get(LOCKOUT_STORAGE_KEY) ?? '')).toEqual(s);
    expect(readLockout(storage)).toEqual(s);
    writeLockout(storage, NO_FAILURES);
    expect(storage.m.has(LOCKOUT_STORAGE_KEY)).toBe(false);
    expect(readLockout(null)).toEqual(NO_FAILURES);
    writeLockout(null, s); // no storage: nothing to do, no error
  });

  it('ignores malformed stored state and storage errors, with a warning', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const storage = memoryStorage();
    for (const text of ['{', '[]', '{"failures":-1,"lastFailureAt":0}', '{"failures":2.5,"lastFailureAt":0}', '{"failures":3}']) {
      storage.m.set(LOCKOUT_STORAGE_KEY, text);
      expect(readLockout(storage), text).toEqual(NO_FAILURES);
    }
    expect(warn).toHaveBeenCalledTimes(5);
    const full = { ...storage, setItem: () => { throw new DOMException('full', 'QuotaExceededError'); } };
    expect(() => writeLockout(full, failures(5, 0))).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(6);
    warn.mockRestore();
  });
});
