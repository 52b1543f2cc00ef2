/**
 * The store's Web Locks (models.ts) in Node, with the Web Locks of fakeBrowser.ts: a loaded model is
 * held (holdModel, what the engine worker keeps while a pipeline is loaded), so no tab deletes it
 * while generate() still reads its token embedding rows; deletes and loads say who holds a model;
 * the storage list says where it is loaded; whenReleased waits for a holder without holding up
 * anyone. A second tab is a second copy of the store's modules (vi.resetModules: its own realm
 * state) over the same IndexedDB and locks, as two tabs of one origin share them.
 */
import { resolve } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { packOfFolder } from '../testing/pack';
import { InvalidInput } from '../errors';
import { CpuOps } from '../ops/cpuOps';
import { Pipeline } from '../pipeline/generate';
import type { PackRecipe } from '../weights/packJob';
import { downloadModel } from './download';
import { deleteModel, holdModel, storedModels } from './models';
import { holdsModelLock, lockName, whenReleased, withModelLock } from './locks';
import { storeSource } from './storeSource';
import { STORE_CHANNEL, type StoreMessage } from './types';
import { installBrowser } from './testing/fakeBrowser';
import { FakeHub } from './testing/fakeHub';

const browser = installBrowser();
const hub = new FakeHub();
const sourceOptions = { fetch: hub.fetch, retry: { attempts: 1 } };
const recipe: PackRecipe = { name: 'locks', quant: 'q4', base: hub.url('pack') };
let id: string;

/** The store's modules as another tab has them (its own holds, inflight fetches, channel). */
async function otherTab(): Promise<typeof import('./models') & Pick<typeof import('./locks'), 'withModelLock'>> {
  vi.resetModules();
  const models = await import('./models');
  return { ...models, withModelLock: (await import('./locks')).withModelLock };
}

beforeAll(async () => {
  hub.publish('pack', (await packOfFolder(resolve(GOLDEN_DIR, 'model-a'), 'q4', 256 * 1024)).files);
});

beforeEach(async () => {
  browser.reset();
  id = (await downloadModel(recipe, { sourceOptions })).id;
  hub.log.length = 0;
});

describe('a loaded model (holdModel)', () => {
  it('cannot be deleted from this tab while loaded, saying so; its chunks stay readable; once let go it deletes', async () => {
    const hold = await holdModel(id);
    const err = await deleteModel(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toBe(`Cannot delete model ${id}: it is loaded in this tab. Load another model first.`);
    expect(await storedModels()).toMatchObject([{ id, complete: true, busy: true, loaded: 'here' }]);
    // what generate() does after the load: token embedding rows read from the store
    const src = await storeSource(id);
    await expect(src.range('chunks/00000.bin', 0, 16)).resolves.toHaveLength(16);
    hold.release();
    hold.release(); // once only
    expect(holdsModelLock(id)).toBe(false);
    await vi.waitFor(async () => expect((await storedModels())[0]).not.toHaveProperty('loaded')); // the lock manager lets go a moment later
    await deleteModel(id);
    expect(await storedModels()).toEqual([]);
  });

  it('held by the load of a real pipeline (CPU ops): the delete is refused for as long as the pipeline is kept', async () => {
    const hold = await holdModel(id);
    const pipeline = await Pipeline.load(new CpuOps(), await storeSource(id), undefined, { lowMemory: true });
    await expect(deleteModel(id)).rejects.toThrow(/loaded in this tab/);
    pipeline.dispose();
    hold.release();
    await deleteModel(id);
  });

  it('loaded in another tab: the delete is refused naming that tab, the list says where it is loaded; two tabs may load it at once', async () => {
    const other = await otherTab();
    const theirs = await other.holdModel(id);
    await expect(deleteModel(id)).rejects.toThrow(`Cannot delete model ${id}: it is loaded in another tab. Load another model there, or close that tab, first; this list updates by itself.`);
    expect(await storedModels()).toMatchObject([{ id, busy: true, loaded: 'elsewhere' }]);
    expect(await other.storedModels()).toMatchObject([{ id, busy: true, loaded: 'here' }]);
    const mine = await holdModel(id); // shared: both tabs have it loaded
    expect((await storedModels())[0]?.loaded).toBe('here');
    theirs.release();
    await expect(deleteModel(id)).rejects.toThrow(/loaded in this tab/);
    mine.release();
    await deleteModel(id);
  });

  it('cannot be loaded while another tab downloads or deletes it (its lock held exclusively): InvalidInput saying so, no lock kept', async () => {
    let letGo: () => void = () => {};
    const other = (await otherTab()).withModelLock(id, 'exclusive', 'download', () => new Promise<void>((r) => (letGo = r)));
    await vi.waitFor(() => expect(browser.locks.held.some((l) => l.name === lockName(id))).toBe(true));
    await expect(holdModel(id)).rejects.toThrow(`Cannot load model ${id}: it is being downloaded (or deleted) in another tab. Wait for that to finish; this list updates by itself.`);
    expect(holdsModelLock(id)).toBe(false);
    letGo();
    await other;
    await vi.waitFor(() => expect(browser.locks.held).toEqual([]));
  });

  it('a complete model "downloaded" again while loaded resolves at once, without the network or the lock', async () => {
    const hold = await holdModel(id);
    await expect(downloadModel(recipe, { sourceOptions })).resolves.toMatchObject({ id, complete: true });
    expect(hub.log).toEqual([]);
    hold.release();
  });

  it('tells the tabs (BroadcastChannel) when it is taken and let go, so their lists show it', async () => {
    const ch = new BroadcastChannel(STORE_CHANNEL);
    const seen: StoreMessage[] = [];
    ch.onmessage = (ev: MessageEvent<StoreMessage>) => void seen.push(ev.data);
    try {
      const hold = await holdModel(id);
      await vi.waitFor(() => expect(seen).toEqual([{ type: 'changed' }]));
      hold.release();
      await vi.waitFor(() => expect(seen).toHaveLength(2));
    } finally {
      ch.close();
    }
  });

  it('a refused delete in this tab while a download runs here says so', async () => {
    let letGo: () => void = () => {};
    const running = withModelLock(id, 'exclusive', 'download', () => new Promise<void>((r) => (letGo = r)));
    await vi.waitFor(() => expect(holdsModelLock(id)).toBe(true));
    await expect(deleteModel(id)).rejects.toThrow(/it is being downloaded in this tab. Wait for that to finish, or cancel it/);
    letGo();
    await running;
  });
});

describe('whenReleased (what the storage list waits on)', () => {
  it('resolves once a holder lets go, and meanwhile keeps no other tab from loading the model', async () => {
    const mine = await holdModel(id);
    const stop = new AbortController();
    let released = false;
    const waiting = whenReleased(id, stop.signal).then(() => (released = true));
    await vi.waitFor(() => expect(browser.locks.queue.length).toBe(1)); // waiting on the holder lock, not the model's
    const theirs = await (await otherTab()).holdModel(id); // another tab loads it meanwhile
    expect(released).toBe(false);
    mine.release();
    await waiting;
    expect(released).toBe(true);
    theirs.release();
    await vi.waitFor(() => expect(browser.locks.held).toEqual([]));
    expect(browser.locks.queue).toEqual([]);
  });

  it('(why: an exclusive request waiting on the model lock itself would make the other tab\'s load fail as busy)', async () => {
    const mine = await holdModel(id);
    const stop = new AbortController();
    const queued = navigator.locks.request(lockName(id), { signal: stop.signal }, async () => {}).catch(() => 'aborted');
    await expect((await otherTab()).holdModel(id)).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringMatching(/^Cannot load model/) });
    stop.abort();
    expect(await queued).toBe('aborted');
    mine.release();
  });

  it('resolves at once when nothing holds the model; rejects when aborted', async () => {
    await whenReleased(id, new AbortController().signal);
    const hold = await holdModel(id);
    const stop = new AbortController();
    const waiting = whenReleased(id, stop.signal);
    stop.abort();
    await expect(waiting).rejects.toThrow();
    hold.release();
    await vi.waitFor(() => expect(browser.locks.queue).toEqual([]));
  });
});
