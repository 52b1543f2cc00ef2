import { describe, expect, it } from 'vitest';
import { dropVisitor, EMPTY_QUEUE, enqueue, finish, type KioskQueue, type KioskRequest, placeOf, start, withdraw } from './queue';

const LIMITS = { maxQueued: 2, maxPerVisitor: 1 };

function req(id: number, visitor: number): KioskRequest {
  return { id, visitor, prompt: `p${id}` };
}

function add(q: KioskQueue, r: KioskRequest, limits = LIMITS): KioskQueue {
  const out = enqueue(q, r, limits);
  if ('refused' in out) throw new Error(`refused: ${out.refused}`);
  return out.queue;
}

describe('kiosk queue', () => {
  it('runs requests first in, first out, one at a time', () => {
    let q = add(add(add(EMPTY_QUEUE, req(1, 1)), req(2, 2)), req(3, 3));
    const first = start(q);
    expect(first?.started.id).toBe(1);
    q = first!.queue;
    expect(start(q)).toBeNull(); // one running at a time
    expect([placeOf(q, 1), placeOf(q, 2), placeOf(q, 3), placeOf(q, 9)]).toEqual([0, 1, 2, null]);
    q = finish(q, 1);
    expect(start(q)?.started.id).toBe(2);
  });

  it('refuses a visitor who already has the allowed number on the way', () => {
    const q = add(EMPTY_QUEUE, req(1, 7));
    const again = enqueue(q, req(2, 7), LIMITS);
    expect(again).toEqual({ refused: expect.stringContaining('already on its way') });
    const running = start(q)!.queue;
    expect('refused' in enqueue(running, req(2, 7), LIMITS)).toBe(true); // running counts too
    expect('queue' in enqueue(finish(running, 1), req(2, 7), LIMITS)).toBe(true);
    const two = { maxQueued: 5, maxPerVisitor: 2 };
    const q2 = add(add(EMPTY_QUEUE, req(1, 7), two), req(2, 7), two);
    expect(enqueue(q2, req(3, 7), two)).toEqual({ refused: expect.stringContaining('2 pictures') });
  });

  it('refuses when maxQueued requests already wait behind the running one', () => {
    let q = start(add(EMPTY_QUEUE, req(1, 1)))!.queue;
    q = add(add(q, req(2, 2)), req(3, 3));
    expect(enqueue(q, req(4, 4), LIMITS)).toEqual({ refused: expect.stringContaining('queue is full') });
    // With nothing running, the first request does not take a waiting place.
    const none = { maxQueued: 0, maxPerVisitor: 1 };
    const idle = add(EMPTY_QUEUE, req(1, 1), none);
    expect('refused' in enqueue(idle, req(2, 2), none)).toBe(true);
  });

  it('lets a visitor withdraw only their own waiting request', () => {
    let q = start(add(EMPTY_QUEUE, req(1, 1)))!.queue;
    q = add(add(q, req(2, 2)), req(3, 3));
    expect(withdraw(q, 2, 3)).toBe(q); // someone else's
    expect(withdraw(q, 1, 1)).toBe(q); // running
    q = withdraw(q, 2, 2);
    expect(q.waiting.map((r) => r.id)).toEqual([3]);
    expect(q.running?.id).toBe(1);
  });

  it('drops the old visitor\'s waiting requests at a reset but lets the running one finish', () => {
    const limits = { maxQueued: 5, maxPerVisitor: 2 };
    let q = start(add(EMPTY_QUEUE, req(1, 1), limits))!.queue;
    q = add(add(add(q, req(2, 1), limits), req(3, 2), limits), req(4, 2), limits);
    q = dropVisitor(q, 2);
    expect(q.running?.id).toBe(1);
    expect(q.waiting.map((r) => r.id)).toEqual([2]);
    expect(dropVisitor(q, 9)).toBe(q);
    expect(finish(q, 2)).toBe(q); // not the running one
  });
});
