/**
 * `npm run generate` checks the whole request and the output folder before it loads anything: a
 * bad size, steps or seed, and an --out it could not write, are reported at once (the model given
 * here does not exist, so reaching the load would fail with a different error), and a missing
 * --out folder is created first, so a finished image is never lost to it.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './generate';

describe('generate: checks before any work', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kleinbild-gen-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const missingModel = () => join(dir, 'no-such-model');
  const run = (...args: string[]) => main(['--model', missingModel(), '--prompt', 'x', '--backend', 'cpu', ...args]);

  it('a model that does not exist fails at the load (the baseline the other cases must not reach)', async () => {
    await expect(run('--out', join(dir, 'a.png'))).rejects.toThrow(/no-such-model/);
  });

  it('size, steps, seed and --cfg-mode are refused before the load', async () => {
    await expect(run('--width', '70', '--height', '64', '--out', join(dir, 'a.png'))).rejects.toThrow('width 70 is invalid: use a multiple of 16 from 64 to 2048');
    await expect(run('--width', '4096', '--height', '64', '--out', join(dir, 'a.png'))).rejects.toThrow('width 4096 is invalid');
    await expect(run('--steps', '0', '--out', join(dir, 'a.png'))).rejects.toThrow('steps 0: use 1…');
    await expect(run('--seed', '-1', '--out', join(dir, 'a.png'))).rejects.toThrow('seed -1: use an integer 0…4294967295');
    await expect(run('--cfg-mode', 'both', '--out', join(dir, 'a.png'))).rejects.toThrow('--cfg-mode both: use auto, batch or two-passes');
  });

  it('a missing --out folder is created before the load; a folder as --out, or one under a file, is refused first', async () => {
    const nested = join(dir, 'new', 'deeper', 'out.png');
    await expect(run('--out', nested)).rejects.toThrow(/no-such-model/); // got as far as the load
    expect((await stat(join(dir, 'new', 'deeper'))).isDirectory()).toBe(true);
    await expect(run('--out', dir)).rejects.toThrow(`--out ${dir} is a folder`);
    await writeFile(join(dir, 'file'), 'x');
    await expect(run('--out', join(dir, 'file', 'out.png'))).rejects.toThrow(/--out .*cannot be created or written/);
  });
});
