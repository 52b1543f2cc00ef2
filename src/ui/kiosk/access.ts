/**
 * Entering and leaving kiosk mode. Kiosk mode is on when the page URL has `kiosk=1`, or when it
 * was switched on from the app's "Kiosk mode" entry (remembered in localStorage, so a reload stays
 * in kiosk mode). The PIN check is in pin.ts, its attempt limit in lockout.ts.
 */

/** localStorage key of the "entered from the app" flag. */
const STORAGE_KEY = 'kleinbild.kiosk';

/** window.localStorage, or null where the browser refuses it (storage disabled, some private modes). */
export function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch (e) {
    console.warn('Kiosk: localStorage is not available; kiosk mode entered from the app ends at the next reload', e);
    return null;
  }
}

/** Whether the page should start in kiosk mode. */
export function isKioskMode(url: URL, storage: Pick<Storage, 'getItem'> | null): boolean {
  return url.searchParams.get('kiosk') === '1' || storage?.getItem(STORAGE_KEY) === '1';
}

/** The `config` query parameter (a same-origin path to the kiosk configuration), or null. */
export function configParam(url: URL): string | null {
  return url.searchParams.get('config');
}

/** Switches kiosk mode on and returns the URL to load (the same page with `kiosk=1`). */
export function enterKiosk(url: URL, storage: Pick<Storage, 'setItem'> | null): URL {
  storage?.setItem(STORAGE_KEY, '1');
  const next = new URL(url);
  next.searchParams.set('kiosk', '1');
  return next;
}

/** Switches kiosk mode off and returns the URL to load (the same page without `kiosk` and `config`). */
export function leaveKiosk(url: URL, storage: Pick<Storage, 'removeItem'> | null): URL {
  storage?.removeItem(STORAGE_KEY);
  const next = new URL(url);
  next.searchParams.delete('kiosk');
  next.searchParams.delete('config');
  return next;
}
