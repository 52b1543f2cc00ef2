/**
 * storeSource.ts against damaged records, in Node (fakeBrowser.ts, fakeHub.ts): a small file (config,
 * tokenizer) or a chunk whose stored bytes no longer match the manifest, or that is gone, is caught
 * when it is read: Pipeline.load (CPU ops, low memory: configs, tokenizer and headers only) fails
 * with IntegrityFailure naming it, the record and the manifest are deleted (the model lists as
 * partial), and Resume fetches exactly what was lost, after which the model loads again.
 */
import { resolve } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { packOfFolder } from '../testing/pack';
import { IntegrityFailure } from '../errors';
import { CpuOps } from '../ops/cpuOps';
import { Pipeline } from '../pipeline/generate';
import type { PackRecipe } from '../weights/packJob';
import { openModelsDb } from './db';
import { downloadModel } from './download';
import { storedModels } from './models';
import { storeSource } from './storeSource';
import { installBrowser } from './testing/fakeBrowser';
import { FakeHub } from './testing/fakeHub';

const browser = installBrowser();
const hub = new FakeHub();
const sourceOptions = { fetch: hub.fetch, retry: { attempts: 1 } };
const recipe: PackRecipe = { name: 'store source', quant: 'q4', base: hub.url('pack') };
let id: string;

const load = async () => Pipeline.load(new CpuOps(), await storeSource(id), undefined, { lowMemory: true });

/** Changes the stored bytes of a file or chunk in place (`edit` gets a copy), keeping its record's hash. */
async function damage(store: 'files' | 'chunks', path: string, edit: (b: Uint8Array) => Uint8Array): Promise<void> {
  const db = await openModelsDb();
  const v = await db.get(store, [id, path]);
  if (!v) throw new Error(`no ${store} record ${path}`);
  const bytes = edit(new Uint8Array(v.bytes).slice());
  await db.put(store, { ...v, bytes: bytes.buffer as ArrayBuffer }, [id, path]);
}

beforeAll(async () => {
  hub.publish('pack', (await packOfFolder(resolve(GOLDEN_DIR, 'model-a'), 'q4', 256 * 1024)).files);
});

beforeEach(async () => {
  browser.reset();
  id = (await downloadModel(recipe, { sourceOptions })).id;
  hub.log.length = 0;
  (await load()).dispose(); // loads before the damage
});

/** Load fails naming `path`; the model is partial; Resume fetches `path` alone; it loads again. */
async function caughtAndRepaired(path: string, message: RegExp): Promise<void> {
  const err = await load().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(IntegrityFailure);
  expect((err as IntegrityFailure).path).toBe(path);
  expect((err as Error).message).toMatch(message);
  expect(await storedModels()).toMatchObject([{ id, complete: false }]);
  await downloadModel(recipe, { sourceOptions });
  expect(hub.gets('pack/').map((r) => r.path)).toEqual(['pack/kleinbild-pack.json', `pack/${path}`]);
  expect(await storedModels()).toMatchObject([{ id, complete: true }]);
  (await load()).dispose();
}

describe('a damaged small file is caught at load', () => {
  it('a config with one byte changed (still valid JSON)', async () => {
    await damage('files', 'transformer/config.json', (b) => {
      const i = b.indexOf(0x33); // a '3' in a number
      b[i] = 0x34;
      return b;
    });
    await caughtAndRepaired('transformer/config.json', /^Stored transformer\/config\.json of model .* is corrupted .*press Resume/);
  });

  it('a truncated tokenizer.json', async () => {
    await damage('files', 'tokenizer/tokenizer.json', (b) => b.slice(0, b.length >> 1));
    await caughtAndRepaired('tokenizer/tokenizer.json', /tokenizer\.json of model .* is corrupted \(\d+ bytes/);
  });

  it('an emptied tokenizer_config.json', async () => {
    await damage('files', 'tokenizer/tokenizer_config.json', () => new Uint8Array(0));
    await caughtAndRepaired('tokenizer/tokenizer_config.json', /is corrupted \(0 bytes/);
  });

  it('a small file whose record is gone', async () => {
    await (await openModelsDb()).delete('files', [id, 'vae/config.json']);
    await caughtAndRepaired('vae/config.json', /lacks vae\/config\.json .*press Resume/);
  });
});

describe('a damaged chunk is caught when read', () => {
  it('a chunk with flipped bytes: IntegrityFailure at its first read, the model partial; Resume fetches that chunk alone', async () => {
    await damage('chunks', 'chunks/00000.bin', (b) => {
      b[0] = (b[0] as number) ^ 0xff;
      return b;
    });
    const src = await storeSource(id);
    await expect(src.range('chunks/00000.bin', 0, 8)).rejects.toThrow(/chunks\/00000\.bin of model .* is corrupted/);
    expect(await storedModels()).toMatchObject([{ id, complete: false }]);
    await downloadModel(recipe, { sourceOptions });
    expect(hub.gets('pack/chunks/').map((r) => r.path)).toEqual(['pack/chunks/00000.bin']);
    await expect((await storeSource(id)).range('chunks/00000.bin', 0, 8)).resolves.toHaveLength(8);
  });
});
