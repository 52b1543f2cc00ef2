/**
 * localModelRoot / localFileSource with real Blobs (Node's, the same class the browser hands over):
 * finding the model in what was picked, ranges and errors, and a pack and the golden diffusers
 * folder read through it exactly as through the folder source.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../errors';
import { GOLDEN_DIR } from '../testing/golden';
import { buildPack } from '../testing/pack';
import { planPack } from './convert';
import { neededTensors } from '../model/tensorList';
import { type LocalFile, localFileSource, localModelRoot } from './fileListSource';
import { folderSource } from './folderSource';
import { PACK_MANIFEST } from './packFormat';

const blob = (text: string): Blob => new Blob([text]);
const MODEL_A = join(GOLDEN_DIR, 'model-a');

/** Every file under `dir` as the directory picker gives it: paths start with the folder's name. */
async function pick(dir: string, name: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const rel of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!rel.isFile()) continue;
    const full = join(rel.parentPath, rel.name);
    out.push({ path: `${name}/${relative(dir, full).split(sep).join('/')}`, file: new Blob([await readFile(full)]) });
  }
  return out;
}

describe('localModelRoot', () => {
  it('finds a pack in the picked folder or one level down, and a diffusers folder', () => {
    const pack = localModelRoot([
      { path: 'my-pack/kleinbild-pack.json', file: blob('{}') },
      { path: 'my-pack/chunks/00000.bin', file: blob('x') },
    ]);
    expect(pack.name).toBe('my-pack');
    expect(pack.kind).toBe('pack');
    expect([...pack.files.keys()].sort()).toEqual(['chunks/00000.bin', PACK_MANIFEST]);

    const parent = localModelRoot([
      { path: 'models/readme.txt', file: blob('') },
      { path: 'models/klein-q4/kleinbild-pack.json', file: blob('{}') },
      { path: 'models/klein-q4/chunks/00000.bin', file: blob('x') },
    ]);
    expect(parent.name).toBe('klein-q4');
    expect([...parent.files.keys()].sort()).toEqual(['chunks/00000.bin', PACK_MANIFEST]);

    const diffusers = localModelRoot([
      { path: 'FLUX.2-klein-4B\\transformer\\config.json', file: blob('{}') }, // Windows separators
      { path: 'FLUX.2-klein-4B\\vae\\config.json', file: blob('{}') },
    ]);
    expect(diffusers).toMatchObject({ name: 'FLUX.2-klein-4B', kind: 'diffusers' });
    expect([...diffusers.files.keys()].sort()).toEqual(['transformer/config.json', 'vae/config.json']);
  });

  it('prefers the shallowest model, and a pack over a diffusers folder at the same depth', () => {
    const m = localModelRoot([
      { path: 'x/transformer/config.json', file: blob('{}') },
      { path: 'x/kleinbild-pack.json', file: blob('{}') },
      { path: 'x/old/kleinbild-pack.json', file: blob('{}') },
    ]);
    expect(m.kind).toBe('pack');
    expect(m.files.has(PACK_MANIFEST)).toBe(true);
    expect(m.files.has('old/kleinbild-pack.json')).toBe(true);
  });

  it('refuses files without a model, saying what a model folder holds', () => {
    expect(() => localModelRoot([])).toThrow(InvalidInput);
    const files = [
      { path: 'a/my-kleinbild-pack.json', file: blob('{}') }, // not the marker file
      { path: 'a/config.json', file: blob('{}') },
      { path: 'a/b/c/d/kleinbild-pack.json', file: blob('{}') }, // too deep
    ];
    expect(() => localModelRoot(files)).toThrow(/No model in the 3 picked files: .*kleinbild-pack\.json.*transformer\/config\.json/);
  });
});

describe('localFileSource', () => {
  it('reads ranges and JSON, and names the file in its errors', async () => {
    const src = localFileSource('local:m', localModelRoot([
      { path: 'm/kleinbild-pack.json', file: blob('{"a": 1}') },
      { path: 'm/bad.json', file: blob('{') },
      { path: 'm/chunks/00000.bin', file: new Blob([new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7])]) },
    ]));
    expect(await src.range('chunks/00000.bin', 2, 5)).toEqual(new Uint8Array([2, 3, 4]));
    expect(await src.size('chunks/00000.bin')).toBe(8);
    expect(await src.json(PACK_MANIFEST)).toEqual({ a: 1 });
    expect(await src.exists('chunks/00001.bin')).toBe(false);
    await expect(src.range('chunks/00000.bin', 4, 9)).rejects.toThrow(/local:m\/chunks\/00000\.bin: byte range \[4, 9\) outside the file \(8 bytes\)/);
    await expect(src.json('bad.json')).rejects.toThrow(/local:m\/bad\.json: invalid JSON/);
    await expect(src.size('nope.bin')).rejects.toThrow(/file not found in the picked folder m: nope\.bin/);
    const abort = new AbortController();
    abort.abort();
    await expect(src.range('chunks/00000.bin', 0, 1, abort.signal)).rejects.toThrow();
  });

  it('packs the picked golden diffusers folder exactly as the folder source does', async () => {
    const picked = localModelRoot(await pick(MODEL_A, 'model-a'));
    expect(picked.kind).toBe('diffusers');
    const recipe = { name: 'a', quant: 'q4', base: 'model-a' } as const;
    const fromBlobs = await buildPack(await planPack(recipe, () => localFileSource('local:model-a', picked), neededTensors, { chunkBytes: 1 << 20 }));
    const fromDisk = await buildPack(await planPack(recipe, () => folderSource(MODEL_A), neededTensors, { chunkBytes: 1 << 20 }));
    expect([...fromBlobs.keys()]).toEqual([...fromDisk.keys()]);
    expect(fromBlobs.get(PACK_MANIFEST)).toEqual(fromDisk.get(PACK_MANIFEST));
    // Buffer.equals: toEqual walks a MiB element by element (minutes)
    for (const [path, bytes] of fromDisk) if (bytes instanceof Uint8Array) expect(Buffer.from(bytes).equals(fromBlobs.get(path) as Uint8Array), path).toBe(true);
  });
});
