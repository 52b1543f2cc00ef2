/**
 * The PIN dialog's attempt limit (pure: the clock is passed in, in ms since the epoch). The first
 * FREE_ATTEMPTS - 1 wrong PINs cost nothing; the FREE_ATTEMPTS-th locks the dialog for FIRST_LOCK_MS
 * and every further one doubles the lock, up to LONGEST_LOCK_MS:
 *
 *     wrong PINs in a row   1–4   5     6     7      8      9      10 and more
 *     locked for            0     30 s  60 s  120 s  240 s  480 s  900 s (15 min)
 *
 * A right PIN clears the count; so does a whole FORGET_AFTER_MS without a wrong one. The state is
 * kept in localStorage (LOCKOUT_STORAGE_KEY), so a reload does not unlock, and is shared by the
 * app's entry dialog and the kiosk's exit dialog (one PIN, one count). Guessing through the dialog
 * therefore gets about 96 tries a day once the lock is at its longest: trying every 4-digit PIN
 * takes about 100 days, every 6-digit one about 30 years. A visitor can keep the operator locked out as long as they keep guessing;
 * clearing the site's data in the browser (the operator's keyboard and settings) ends a lock.
 */

/** Wrong PINs in a row allowed before the first lock (four free, the fifth locks). */
export const FREE_ATTEMPTS = 5;
/** The first lock, in ms: long enough to stop rapid guessing, short for a mistyping operator. */
export const FIRST_LOCK_MS = 30_000;
/** The longest lock, in ms: an operator who mistyped many times waits at most a quarter of an hour. */
export const LONGEST_LOCK_MS = 15 * 60_000;
/** After this long without a wrong PIN (ms) the count starts again: yesterday's slips don't lock today. */
export const FORGET_AFTER_MS = 24 * 60 * 60_000;
/** localStorage key of the state (JSON PinLockout). */
export const LOCKOUT_STORAGE_KEY = 'kleinbild.kiosk.pinLockout';

/** Wrong PINs in a row and when the last one was entered (ms since the epoch; 0 when none). */
export interface PinLockout {
  failures: number;
  lastFailureAt: number;
}

export const NO_FAILURES: Readonly<PinLockout> = Object.freeze({ failures: 0, lastFailureAt: 0 });

/** How long (ms) the dialog stays locked after `failures` wrong PINs in a row. */
export function lockMs(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  const doublings = Math.min(failures - FREE_ATTEMPTS, 30); // 2^30 × 30 s is far past the cap already
  return Math.min(FIRST_LOCK_MS * 2 ** doublings, LONGEST_LOCK_MS);
}

/**
 * The ms until the dialog accepts a PIN again at `now`; 0 when it does. A clock set back before
 * the last failure counts as "just failed" (the full lock), never as unlocked.
 */
export function lockRemainingMs(state: PinLockout, now: number): number {
  const lock = lockMs(state.failures);
  return Math.max(0, Math.min(lock, state.lastFailureAt + lock - now));
}

/** The state after a wrong PIN at `now`. */
export function afterFailure(state: PinLockout, now: number): PinLockout {
  const forgotten = now - state.lastFailureAt >= FORGET_AFTER_MS;
  return { failures: (forgotten ? 0 : state.failures) + 1, lastFailureAt: now };
}

/** What the dialog shows while locked; `remainingMs` is rounded up to whole seconds. */
export function lockoutMessage(remainingMs: number): string {
  return `Too many wrong PINs: try again in ${Math.ceil(remainingMs / 1000)} s.`;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The stored state; NO_FAILURES when there is none, no storage, or the stored text is not valid. */
export function readLockout(storage: Pick<Storage, 'getItem'> | null): PinLockout {
  const text = storage?.getItem(LOCKOUT_STORAGE_KEY) ?? null;
  if (text === null) return NO_FAILURES;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && 'failures' in v && 'lastFailureAt' in v && isCount(v.failures) && isCount(v.lastFailureAt)) {
      return { failures: v.failures, lastFailureAt: v.lastFailureAt };
    }
  } catch {
    // reported below
  }
  console.warn(`Kiosk: ignoring a malformed ${LOCKOUT_STORAGE_KEY} in localStorage:`, text);
  return NO_FAILURES;
}

/** Stores `state` (removes the key for NO_FAILURES). A storage error is logged, not thrown. */
export function writeLockout(storage: Pick<Storage, 'setItem' | 'removeItem'> | null, state: PinLockout): void {
  try {
    if (state.failures === 0) storage?.removeItem(LOCKOUT_STORAGE_KEY);
    else storage?.setItem(LOCKOUT_STORAGE_KEY, JSON.stringify(state));
  } catch (e) {
    console.warn('Kiosk: could not store the PIN attempt count; the lock ends at the next reload', e);
  }
}
