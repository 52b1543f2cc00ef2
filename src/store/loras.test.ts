/**
 * loras.ts in Node (fakeBrowser.ts): the upgrade from version 1 keeps a version-1 model store, records
 * and bytes written and deleted together, switch / strength updates, Reopen's selection, a full
 * quota leaving nothing half-written, change notifications.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { StorageFull } from '../errors';
import { DB_VERSION, openModelsDb } from './db';
import { clampStrength, deleteLora, listLoras, loraBytes, loraUsage, onLorasChange, putLora, selectLoras, updateLora, type LoraRecord } from './loras';
import { installBrowser } from './testing/fakeBrowser';
import { openOldModelsDb } from './testing/oldSchema';

const browser = installBrowser();

const record = (name: string, addedAt = 1, extra: Partial<LoraRecord> = {}): LoraRecord => ({
  name, origin: 'file', size: 4, enabled: true, strength: 1, format: 'ai-toolkit', rank: 4, addedAt, ...extra,
});

describe('the upgrade from version 1', () => {
  // First in the file: the database must not have been opened by db.ts yet.
  it('adds the LoRA stores and keeps what version 1 stored', async () => {
    const v1 = await openOldModelsDb(1);
    await v1.put('models', { id: 'm1', createdAt: 5 }, 'm1');
    await v1.put('files', { id: 'm1', path: 'a.json', bytes: new ArrayBuffer(3), sha256: 'x', deps: [] }, ['m1', 'a.json']);
    v1.close();

    const db = await openModelsDb();
    expect(DB_VERSION).toBe(3); // version 2 added the LoRA stores, 3 `classifierFiles` (classifierFiles.test.ts)
    expect(db.version).toBe(3);
    expect([...db.objectStoreNames].sort()).toEqual(['chunks', 'classifierFiles', 'files', 'loraFiles', 'loras', 'manifests', 'models']);
    expect(await db.get('models', 'm1')).toMatchObject({ id: 'm1', createdAt: 5 });
    expect((await db.get('files', ['m1', 'a.json']))?.bytes.byteLength).toBe(3);
    expect(await listLoras()).toEqual([]);
  });
});

describe('stored LoRAs', () => {
  beforeEach(() => browser.reset());

  it('stores a record with its bytes, lists oldest first, replaces by name, deletes both', async () => {
    await putLora(record('b.safetensors', 2), Uint8Array.of(1, 2, 3, 4));
    await putLora(record('a.safetensors', 1, { size: 2 }), Uint8Array.of(9, 9));
    expect((await listLoras()).map((r) => r.name)).toEqual(['a.safetensors', 'b.safetensors']);
    expect([...(await loraBytes('b.safetensors'))]).toEqual([1, 2, 3, 4]);
    expect(await loraUsage()).toBe(6);

    await putLora(record('b.safetensors', 2, { size: 1, rank: 8 }), Uint8Array.of(7));
    expect((await listLoras()).find((r) => r.name === 'b.safetensors')?.rank).toBe(8);
    expect([...(await loraBytes('b.safetensors'))]).toEqual([7]);

    await deleteLora('b.safetensors');
    expect((await listLoras()).map((r) => r.name)).toEqual(['a.safetensors']);
    await expect(loraBytes('b.safetensors')).rejects.toThrow('LoRA "b.safetensors" is not stored in this browser');
    const db = await openModelsDb();
    expect(await db.getAllKeys('loraFiles')).toEqual(['a.safetensors']); // the bytes are gone too
    await deleteLora('missing.safetensors'); // no-op
  });

  it('keeps its own copy of the bytes', async () => {
    const bytes = Uint8Array.of(1, 2);
    await putLora(record('x'), bytes);
    bytes[0] = 42;
    expect([...(await loraBytes('x'))]).toEqual([1, 2]);
  });

  it('updates the switch and strength, and Reopen turns exactly the given LoRAs on', async () => {
    await putLora(record('a', 1), Uint8Array.of(1));
    await putLora(record('b', 2, { enabled: false, strength: 0.5 }), Uint8Array.of(2));
    await updateLora('a', { strength: -0.75 });
    await updateLora('missing', { enabled: false });
    expect((await listLoras()).map((r) => [r.name, r.enabled, r.strength])).toEqual([['a', true, -0.75], ['b', false, 0.5]]);

    await selectLoras([{ name: 'b', strength: 1.25 }, { name: 'gone', strength: 1 }]);
    expect((await listLoras()).map((r) => [r.name, r.enabled, r.strength])).toEqual([['a', false, -0.75], ['b', true, 1.25]]);
    await selectLoras([]);
    expect((await listLoras()).every((r) => !r.enabled)).toBe(true);
  });

  it('a full quota is StorageFull and stores neither the record nor the bytes; a replaced LoRA stays as it was', async () => {
    await putLora(record('a'), Uint8Array.of(1));
    browser.idb.quota = (await navigator.storage.estimate()).usage ?? 0;
    const err = await putLora(record('big', 2, { size: 5000 }), new Uint8Array(5000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFull);
    expect((err as Error).message).toMatch(/^Storage is full: writing the file of LoRA "big" failed/);
    await expect(putLora(record('a', 1, { size: 5000, rank: 16 }), new Uint8Array(5000))).rejects.toBeInstanceOf(StorageFull);
    expect((await listLoras()).map((r) => [r.name, r.rank])).toEqual([['a', 4]]);
    expect([...(await loraBytes('a'))]).toEqual([1]);
    expect(await (await openModelsDb()).getAllKeys('loraFiles')).toEqual(['a']);
  });

  it('announces every change to this tab', async () => {
    let calls = 0;
    const off = onLorasChange(() => calls++);
    await putLora(record('a'), Uint8Array.of(1));
    await updateLora('a', { enabled: false });
    await selectLoras([]);
    await deleteLora('a');
    off();
    await putLora(record('b'), Uint8Array.of(1));
    expect(calls).toBe(4);
  });

  it('clamps strengths to −2…2 at two decimals', () => {
    expect([clampStrength(3), clampStrength(-7), clampStrength(0.123), clampStrength(Number.NaN), clampStrength(-0)]).toEqual([2, -2, 0.12, 1, 0]);
  });
});
