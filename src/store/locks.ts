/**
 * The Web Locks that keep tabs apart over one stored model (lock `kleinbild-model:<id>`): a download
 * holds it exclusively, a loaded model shared for as long as its pipeline is loaded (models.ts
 * holdModel: the engine reads token embedding rows, and the VAE encoder, from the store at generate
 * time), a delete needs it exclusively. It is asked for `ifAvailable`, so a second tab gets a clear
 * "busy" error at once, saying who holds the model and what to do, instead of queueing.
 *
 * Every holder also holds a lock of its own, `<model lock>:holder:<unique>`, exclusively, taken before
 * the model's lock and let go after it. whenReleased waits on those, never on the model's lock: a
 * request queued there would hold up every later shared request (another tab's load) until every
 * current holder let go, which for a loaded model may be never.
 */
import { InvalidInput } from '../errors';
import type { StoredModel } from './types';

/** The Web Locks name guarding one model. */
export function lockName(id: string): string {
  return `kleinbild-model:${id}`;
}

/** What this realm (window or worker) holds of a model's lock now, per model id: one entry per hold. */
const heldHere = new Map<string, Array<{ mode: LockMode; what: string }>>();

/** The locks held now, in any tab of this origin: name → the modes it is held in. */
export async function heldLocks(): Promise<Map<string, LockMode[]>> {
  const q = await navigator.locks.query();
  const out = new Map<string, LockMode[]>();
  for (const l of q.held ?? []) out.set(l.name ?? '', [...(out.get(l.name ?? '') ?? []), l.mode ?? 'exclusive']);
  return out;
}

/** Where model `id` is loaded: held shared by this realm, else by another tab (or worker); undefined when by none. */
export function loadedWhere(id: string, held: Map<string, LockMode[]>): StoredModel['loaded'] {
  if ((heldHere.get(id) ?? []).some((h) => h.mode === 'shared')) return 'here';
  return held.get(lockName(id))?.includes('shared') ? 'elsewhere' : undefined;
}

/**
 * Whether this realm holds the model's lock now (a loaded model, a download running here). Code that a
 * holder awaits must not ask for the lock again: an exclusive request queued behind the hold (another
 * tab's list waiting for it, in an older version of the app) makes a new shared request wait behind
 * it for ever, or, `ifAvailable`, be refused at once.
 */
export function holdsModelLock(id: string): boolean {
  return (heldHere.get(id) ?? []).length > 0;
}

/** A hold on a model's lock (holdModel); release() lets go of it (once; later calls do nothing). */
export interface ModelHold {
  readonly id: string;
  release(): void;
}

/** The lock prefix of the holder locks of model `id` (see the top of this file). */
function holderPrefix(id: string): string {
  return `${lockName(id)}:holder:`;
}

/** A lock taken by takeLock: `letGo` ends the hold; `gone` resolves once the lock manager has let go. */
interface Taken {
  letGo(): void;
  gone: Promise<unknown>;
}

/** Takes lock `name` and keeps it until letGo(); null when `ifAvailable` and not granted at once. */
function takeLock(name: string, mode: LockMode, ifAvailable: boolean): Promise<Taken | null> {
  return new Promise((resolve, reject) => {
    let letGo = () => {};
    const held = new Promise<void>((r) => (letGo = r));
    const gone = navigator.locks.request(name, { mode, ifAvailable }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      resolve({ letGo, gone });
      return held;
    });
    gone.catch(reject);
  });
}

/** A hold as acquireModelLock() makes it: release() as ModelHold's; `gone` resolves once both locks are let go (never rejects). */
export interface Hold extends ModelHold {
  gone: Promise<unknown>;
}

/** The model's lock in `mode` with a holder lock beside it, noted in heldHere; null when another holder conflicts. */
export async function acquireModelLock(id: string, mode: LockMode, what: string): Promise<Hold | null> {
  // unique per hold (randomUUID needs a secure context; the fallback is unique enough for a lock name)
  const unique = typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const holder = await takeLock(`${holderPrefix(id)}${unique}`, 'exclusive', false);
  const model = await takeLock(lockName(id), mode, true).catch((e: unknown) => {
    holder?.letGo();
    throw e;
  });
  if (!model) {
    holder?.letGo();
    return null;
  }
  const entry = { mode, what };
  heldHere.set(id, [...(heldHere.get(id) ?? []), entry]);
  let held = true;
  return {
    id,
    gone: Promise.all([model.gone, holder?.gone]).then(() => {}, () => {}),
    release() {
      if (!held) return;
      held = false;
      const left = (heldHere.get(id) ?? []).filter((e) => e !== entry);
      if (left.length) heldHere.set(id, left);
      else heldHere.delete(id);
      model.letGo();
      holder?.letGo();
    },
  };
}

/** Who holds model `id` now, for a refusal: `it is … in this tab` or `… in another tab`, and what to do. */
async function busyReason(id: string): Promise<string> {
  const here = heldHere.get(id) ?? [];
  if (here.some((h) => h.what === 'load')) return 'it is loaded in this tab. Load another model first';
  if (here.some((h) => h.what === 'download')) return 'it is being downloaded in this tab. Wait for that to finish, or cancel it';
  if (here.length) return 'it is in use in this tab. Wait for that to finish';
  const modes = (await heldLocks().catch(() => new Map<string, LockMode[]>())).get(lockName(id)) ?? [];
  if (modes.includes('exclusive')) return 'it is being downloaded (or deleted) in another tab. Wait for that to finish; this list updates by itself';
  if (modes.includes('shared')) return 'it is loaded in another tab. Load another model there, or close that tab, first; this list updates by itself';
  return 'it was in use a moment ago (by a download or a load in this tab or another). Try again';
}

/** InvalidInput: cannot `what` model `id`, who holds it and what to do. */
export async function busyError(id: string, what: string): Promise<InvalidInput> {
  return new InvalidInput(`Cannot ${what} model ${id}: ${await busyReason(id)}.`);
}

/**
 * Runs `work` holding the model's lock (`exclusive` for downloads and deletes, `shared` for reads).
 * Throws InvalidInput at once when another holder conflicts, saying who holds it and what to do.
 */
export async function withModelLock<R>(id: string, mode: LockMode, what: string, work: () => Promise<R>): Promise<R> {
  const hold = await acquireModelLock(id, mode, what);
  if (!hold) throw await busyError(id, what);
  try {
    return await work();
  } finally {
    hold.release();
  }
}

/**
 * Resolves when a holder of model `id`'s lock lets go (a download ends, a tab loads another model or
 * closes), or at once when none holds it; rejects with the signal's reason when it aborts. Waits on
 * the holder locks (exclusive, each held by its holder alone), so it holds up no other request.
 */
export async function whenReleased(id: string, signal: AbortSignal): Promise<void> {
  const held = await heldLocks();
  const holders = [...held.keys()].filter((n) => n.startsWith(holderPrefix(id)));
  if (holders.length === 0) {
    // a holder without a holder lock (an older version of the app in another tab): wait on the lock itself
    if (held.has(lockName(id))) await navigator.locks.request(lockName(id), { signal }, async () => {});
    return;
  }
  const done = new AbortController();
  const both = AbortSignal.any([signal, done.signal]);
  try {
    await Promise.race(holders.map((n) => navigator.locks.request(n, { signal: both }, async () => {})));
  } finally {
    done.abort();
  }
}
