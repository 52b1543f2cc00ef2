/**
 * A stored model whose VAE-encoder chunks were deferred (download.ts deferEncoder) keeps '' as their
 * hash until deferred.ts stores them; readPackManifest refuses empty hashes, so the store source shows
 * those chunks with a stand-in hash and still checks every chunk it serves against its own record.
 * Uses the store's fake browser and hub (src/store/testing/).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { openCheckpoints } from '../weights/pack';
import { PACK_MANIFEST, type PackManifest } from '../weights/packFormat';
import { openModelsDb } from './db';
import { downloadModel } from './download';
import { storeSource } from './storeSource';
import { installBrowser } from './testing/fakeBrowser';
import { FakeHub } from './testing/fakeHub';

installBrowser();
const hub = new FakeHub();

it('a converted model with deferred encoder chunks opens through the validated manifest, then fetches them', async () => {
  const dir = join(GOLDEN_DIR, 'model-a');
  const files = new Map<string, Uint8Array>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else files.set(relative(dir, p), new Uint8Array(await readFile(p)));
    }
  };
  await walk(dir);
  hub.publish('model-a', files);
  const model = await downloadModel({ name: 'x', quant: 'q4', base: hub.url('model-a') }, { sourceOptions: { fetch: hub.fetch }, chunkBytes: 65536, deferEncoder: true });
  const rec = await (await openModelsDb()).get('manifests', model.id);
  const unhashed = rec?.manifest.chunks.filter((c) => c.sha256 === '') ?? [];
  expect(unhashed.length).toBeGreaterThan(0);
  expect(unhashed.map((c) => c.path)).toEqual(rec?.deferred);

  const src = await storeSource(model.id, { sourceOptions: { fetch: hub.fetch } });
  const shown = await src.json<PackManifest>(PACK_MANIFEST);
  for (const c of unhashed) expect(shown.chunks.find((x) => x.path === c.path)?.sha256).toBe('0'.repeat(64));
  const ck = await openCheckpoints(src);
  const encoder = [...ck.vae.tensors.keys()].filter((n) => n.startsWith('encoder.')).at(-1) as string;
  expect((await ck.vae.read(encoder)).length).toBeGreaterThan(0); // fetched, hashed, stored, read
  await expect(src.json('../x.json')).rejects.toThrow(/path "\.\.\/x\.json" has a "\.\." segment/);
});
