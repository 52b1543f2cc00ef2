/**
 * db.ts in Node (fakeBrowser.ts): the space check, quota errors becoming StorageFull, the key range
 * of one model; and the in-memory IndexedDB of ./testing behaving as the store relies on (a write
 * transaction commits whole or not at all, the quota is enforced at commit, a transaction left idle
 * commits and refuses later requests).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StorageFull } from '../errors';
import { checkSpace, isQuotaError, modelKeys, openModelsDb, writeOrFull } from './db';
import { removeModel } from './models';
import { installBrowser } from './testing/fakeBrowser';

const browser = installBrowser();

const bytes = (n: number): ArrayBuffer => new Uint8Array(n).fill(7).buffer;
const chunk = (id: string, path: string, n = 16) => ({ id, path, bytes: bytes(n), sha256: 'x', deps: [] as string[] });

beforeEach(() => browser.reset());

describe('checkSpace', () => {
  it('passes when the estimate leaves room, else throws StorageFull with the numbers and what to do', async () => {
    browser.estimateQuota = 10_000;
    await checkSpace('m', 10_000);
    const err = await checkSpace('Klein q4', 20_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFull);
    expect((err as Error).message).toBe(
      'Not enough storage for Klein q4: 19.5 KiB needed, 9.8 KiB available (this site may use 9.8 KiB and uses 0 B). Free disk space or delete stored models, then try again.',
    );
  });
});

describe('writeOrFull', () => {
  it('turns a QuotaExceededError of a transaction into StorageFull naming what was written; nothing of it is kept', async () => {
    const db = await openModelsDb();
    browser.idb.quota = 1000;
    const err = await writeOrFull('Klein q4', 'chunks/00003.bin', async () => {
      const tx = db.transaction('chunks', 'readwrite');
      await Promise.all([tx.store.put(chunk('a', 'chunks/00003.bin', 4000), ['a', 'chunks/00003.bin']), tx.done]);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFull);
    expect((err as Error).message).toMatch(/^Storage is full: writing chunks\/00003\.bin of Klein q4 failed \(QuotaExceededError; .*press Resume\.$/);
    expect(await db.count('chunks')).toBe(0);
  });

  it('passes any other error on as it is', async () => {
    const boom = new DOMException('gone', 'UnknownError');
    await expect(writeOrFull('m', 'x', () => Promise.reject(boom))).rejects.toBe(boom);
    expect(isQuotaError(boom)).toBe(false);
    expect(isQuotaError(new DOMException('q', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError(new Error('QuotaExceededError'))).toBe(false);
  });
});

describe('modelKeys', () => {
  it('covers every [id, path] of one model and no other model, even one whose id starts with it', async () => {
    const db = await openModelsDb();
    for (const id of ['a', 'a-b', 'ab', 'a\u0000', '']) {
      for (const path of ['chunks/00000.bin', 'tokenizer/tokenizer.json']) await db.put('chunks', chunk(id, path), [id, path]);
    }
    expect(await db.getAllKeys('chunks', modelKeys('a'))).toEqual([
      ['a', 'chunks/00000.bin'],
      ['a', 'tokenizer/tokenizer.json'],
    ]);
    await removeModel(db, 'a');
    expect((await db.getAllKeys('chunks')).map((k) => k[0])).toEqual(['', '', 'a\u0000', 'a\u0000', 'a-b', 'a-b', 'ab', 'ab']);
  });
});

describe('the in-memory IndexedDB (test support)', () => {
  it('a transaction that fails commits nothing; a write after an idle gap throws TransactionInactiveError', async () => {
    const db = await openModelsDb();
    const tx = db.transaction(['chunks', 'files'], 'readwrite');
    const puts = [tx.objectStore('chunks').put(chunk('m', 'c'), ['m', 'c']), tx.objectStore('files').put(chunk('m', 'f'), ['m', 'f'])];
    tx.abort();
    for (const p of puts) await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await expect(tx.done).rejects.toThrow();
    expect([await db.count('chunks'), await db.count('files')]).toEqual([0, 0]);

    const idle = db.transaction('chunks', 'readwrite');
    await new Promise((r) => setTimeout(r, 5)); // a task with no request: it commits
    expect(() => idle.store.put(chunk('m', 'c'), ['m', 'c'])).toThrow(/TransactionInactiveError|finished/);
  });

  it('the quota is checked at commit: usage over it aborts with QuotaExceededError, usage under it commits', async () => {
    const db = await openModelsDb();
    browser.idb.quota = 100;
    const over = db.transaction('chunks', 'readwrite');
    void over.store.put(chunk('m', 'c', 101), ['m', 'c']);
    await expect(over.done).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await db.put('chunks', chunk('m', 'c', 50), ['m', 'c']);
    expect(browser.idb.usage()).toBeGreaterThanOrEqual(50);
    expect((await navigator.storage.estimate()).quota).toBe(100);
  });

  it('an index with an array key path lists [id, path, sha256] without values; multiEntry lists each element', async () => {
    const db = await openModelsDb();
    await db.put('chunks', { ...chunk('m', 'c1'), sha256: 'h1', deps: ['m\nsrc\nf1', 'm\nsrc\nf2'] }, ['m', 'c1']);
    await db.put('chunks', { ...chunk('m', 'c2'), sha256: 'h2', deps: ['m\nsrc\nf2'] }, ['m', 'c2']);
    const keys: unknown[] = [];
    for (let cur = await db.transaction('chunks').store.index('hash').openKeyCursor(modelKeys('m')); cur; cur = await cur.continue()) keys.push(cur.key);
    expect(keys).toEqual([['m', 'c1', 'h1'], ['m', 'c2', 'h2']]);
    expect(await db.getAllKeysFromIndex('chunks', 'deps', 'm\nsrc\nf2')).toEqual([['m', 'c1'], ['m', 'c2']]);
    expect(await db.getAllKeysFromIndex('chunks', 'deps', 'm\nsrc\nf1')).toEqual([['m', 'c1']]);
  });
});
