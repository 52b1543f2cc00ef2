/**
 * The kiosk's request queue: first in, first out, one image per request, at most one running.
 * Pure values and functions; useKioskSession.ts holds the state and runs the engine.
 *
 * Each request belongs to a visitor (a number that changes at every idle reset). Limits keep one
 * visitor from blocking the next: at most `maxQueued` requests wait behind the running one, and
 * one visitor may have at most `maxPerVisitor` waiting or running. A visitor can withdraw only
 * their own waiting requests; an idle reset drops the old visitor's waiting ones, while a running
 * request always finishes (its image goes to the gallery).
 */

export interface KioskRequest {
  id: number;
  visitor: number;
  prompt: string;
}

export interface KioskQueue {
  /** Waiting requests, oldest first. */
  readonly waiting: readonly KioskRequest[];
  readonly running: KioskRequest | null;
}

export interface QueueLimits {
  /** Requests that may wait behind the running one (all visitors). */
  maxQueued: number;
  /** Requests one visitor may have waiting or running. */
  maxPerVisitor: number;
}

export const EMPTY_QUEUE: KioskQueue = Object.freeze({ waiting: Object.freeze([]), running: null });

function ownedBy(q: KioskQueue, visitor: number): number {
  return q.waiting.filter((r) => r.visitor === visitor).length + (q.running?.visitor === visitor ? 1 : 0);
}

/**
 * Adds `req` at the end of the line, or refuses with the message to show. When nothing is running
 * the request still enters `waiting`; start() moves it on.
 */
export function enqueue(q: KioskQueue, req: KioskRequest, limits: QueueLimits): { queue: KioskQueue } | { refused: string } {
  const mine = ownedBy(q, req.visitor);
  if (mine >= limits.maxPerVisitor) {
    return {
      refused:
        limits.maxPerVisitor === 1
          ? 'Your picture is already on its way. Please wait for it before asking for another.'
          : `You already have ${mine} pictures on their way, the most one visitor can ask for at once. Please wait for them.`,
    };
  }
  // With nothing running, the new request starts at once and takes no waiting place.
  const waitingAfter = q.waiting.length + 1 - (q.running === null ? 1 : 0);
  if (waitingAfter > limits.maxQueued) {
    return { refused: 'The queue is full right now. Please try again in a moment.' };
  }
  return { queue: { ...q, waiting: [...q.waiting, req] } };
}

/** Moves the oldest waiting request to running when nothing runs; null when there is nothing to start. */
export function start(q: KioskQueue): { queue: KioskQueue; started: KioskRequest } | null {
  const [head, ...rest] = q.waiting;
  if (q.running !== null || head === undefined) return null;
  return { queue: { waiting: rest, running: head }, started: head };
}

/** Clears the running slot once request `id` has finished (or failed); other ids change nothing. */
export function finish(q: KioskQueue, id: number): KioskQueue {
  return q.running?.id === id ? { ...q, running: null } : q;
}

/** Withdraws waiting request `id` if it belongs to `visitor`; anything else is left as it is. */
export function withdraw(q: KioskQueue, id: number, visitor: number): KioskQueue {
  const waiting = q.waiting.filter((r) => r.id !== id || r.visitor !== visitor);
  return waiting.length === q.waiting.length ? q : { ...q, waiting };
}

/** Drops every waiting request of `visitor` (idle reset); a running one is kept. */
export function dropVisitor(q: KioskQueue, visitor: number): KioskQueue {
  const waiting = q.waiting.filter((r) => r.visitor !== visitor);
  return waiting.length === q.waiting.length ? q : { ...q, waiting };
}

/** Where request `id` stands: 0 = running, 1 = next to run, n = n-th in the waiting line; null = not queued. */
export function placeOf(q: KioskQueue, id: number): number | null {
  if (q.running?.id === id) return 0;
  const i = q.waiting.findIndex((r) => r.id === id);
  return i < 0 ? null : i + 1;
}
