/**
 * The browser around src/store for its Node tests: IndexedDB (fakeIdb.ts), Web Locks with the
 * spec's queueing (one lock manager per origin, shared by the "tabs" that `tab()` hands out, so a
 * test plays another tab by taking locks through its own manager), navigator.storage (estimate from
 * what the fake IndexedDB holds, against its quota) and navigator.onLine. `installBrowser()` puts
 * them on globalThis as `navigator` and `indexedDB`; the store's modules read them at call time.
 */
import { FakeIdb, installFakeIdb } from './fakeIdb';

interface LockRequest {
  name: string;
  mode: LockMode;
  clientId: string;
  grant: () => void;
}

interface HeldLock {
  name: string;
  mode: LockMode;
  clientId: string;
}

/** The lock state of one origin (https://w3c.github.io/web-locks/): held locks and a FIFO queue per name. */
export class FakeLocks {
  readonly held: HeldLock[] = [];
  readonly queue: LockRequest[] = [];

  /** Whether `r` may be granted now: first among the queued requests of its name, and not in conflict. */
  grantable(r: Pick<LockRequest, 'name' | 'mode'>, queued: boolean): boolean {
    const ahead = this.queue.filter((q) => q.name === r.name);
    if (queued ? ahead[0] !== r : ahead.length > 0) return false;
    const held = this.held.filter((h) => h.name === r.name);
    return r.mode === 'exclusive' ? held.length === 0 : held.every((h) => h.mode === 'shared');
  }

  /** Grants what the queue allows now, in order. */
  process(): void {
    for (let again = true; again; ) {
      again = false;
      for (const r of this.queue) {
        if (this.grantable(r, true)) {
          this.queue.splice(this.queue.indexOf(r), 1);
          r.grant();
          again = true;
          break;
        }
      }
    }
  }

  /** The LockManager of one tab (or worker): its requests carry `clientId`. */
  manager(clientId: string): LockManager {
    const state = this;
    const request = (name: string, a: LockOptions | LockGrantedCallback<unknown>, b?: LockGrantedCallback<unknown>): Promise<unknown> => {
      const opts: LockOptions = typeof a === 'function' ? {} : a;
      const callback = (typeof a === 'function' ? a : b) as LockGrantedCallback<unknown>;
      const mode = opts.mode ?? 'exclusive';
      const signal = opts.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const run = (lock: Lock | null, entry: HeldLock | null) => {
          setImmediate(() => {
            Promise.resolve()
              .then(() => callback(lock))
              .then(resolve, reject)
              .finally(() => {
                if (entry) {
                  state.held.splice(state.held.indexOf(entry), 1);
                  state.process();
                }
              });
          });
        };
        const r: LockRequest = {
          name,
          mode,
          clientId,
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            const entry = { name, mode, clientId };
            state.held.push(entry);
            run({ name, mode }, entry);
          },
        };
        const onAbort = () => {
          const i = state.queue.indexOf(r);
          if (i < 0) return;
          state.queue.splice(i, 1);
          reject(signal?.reason);
          state.process();
        };
        if (opts.ifAvailable) {
          if (state.grantable(r, false)) r.grant();
          else run(null, null);
          return;
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        state.queue.push(r);
        state.process();
      });
    };
    return {
      request: request as LockManager['request'],
      query: async () => ({
        held: state.held.map((h) => ({ ...h })),
        pending: state.queue.map((q) => ({ name: q.name, mode: q.mode, clientId: q.clientId })),
      }),
    };
  }
}

/** This process as one browser origin: its IndexedDB, locks, storage estimate and network state. */
export interface FakeBrowser {
  idb: FakeIdb;
  locks: FakeLocks;
  /** What navigator.storage.estimate() reports as quota; null: the IndexedDB quota (Chromium reports usage + 10 GiB, whatever it enforces). */
  estimateQuota: number | null;
  /** The lock manager of another tab of this origin. */
  tab(clientId: string): LockManager;
  setOnline(online: boolean): void;
  /** Empties the stores, lifts the quota, goes online; fails when a lock is still held or queued. */
  reset(): void;
}

/** The client id of navigator.locks (the tab, or its engine worker, that the store code runs in). */
export const THIS_TAB = 'this-tab';

let installed: FakeBrowser | null = null;

/** Installs (once per test file) globalThis.navigator {locks, storage, onLine} and indexedDB. */
export function installBrowser(): FakeBrowser {
  if (installed) return installed;
  const idb = new FakeIdb();
  const locks = new FakeLocks();
  installFakeIdb(idb);
  let onLine = true;
  const browser: FakeBrowser = {
    idb,
    locks,
    estimateQuota: null,
    tab: (clientId) => locks.manager(clientId),
    setOnline: (v) => {
      onLine = v;
    },
    reset: () => {
      if (locks.held.length || locks.queue.length) throw new Error(`locks left over: ${JSON.stringify([...locks.held, ...locks.queue.map((q) => q.name)])}`);
      idb.clear();
      idb.quota = Infinity;
      browser.estimateQuota = null;
      onLine = true;
    },
  };
  const storage = {
    estimate: async () => {
      const usage = idb.usage();
      return { usage, quota: browser.estimateQuota ?? (Number.isFinite(idb.quota) ? idb.quota : usage + 10 * 2 ** 30) };
    },
    persisted: async () => false,
    persist: async () => false,
  };
  const nav = { locks: locks.manager(THIS_TAB), storage, get onLine() { return onLine; } };
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  installed = browser;
  return browser;
}
