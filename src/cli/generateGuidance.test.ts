/**
 * `npm run generate` checks --guidance and --negative-prompt before any expensive work: a guidance
 * out of range or not a number before anything is read (the model given does not exist, so reaching
 * it would fail with a different error), and the model's kind (model_index.json, one small file)
 * before the weights load: a distilled model refuses guidance 3.5 and a negative prompt, a base model
 * a negative prompt at guidance 1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOLDEN_DIR, makeGoldenBaseModelDir } from '../testing/golden';
import { main } from './generate';

describe('generate: guidance checks before the load', () => {
  let dir = '';
  let base: Awaited<ReturnType<typeof makeGoldenBaseModelDir>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kleinbild-gen-cfg-'));
    base = await makeGoldenBaseModelDir();
  });
  afterAll(async () => {
    await base.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  const run = (model: string, ...args: string[]) => main(['--model', model, '--prompt', 'x', '--width', '64', '--height', '64', '--backend', 'cpu', '--out', join(dir, 'a.png'), ...args]);

  it('a guidance that is no number, or out of range, is refused before anything is read', async () => {
    const missing = join(dir, 'no-such-model');
    await expect(run(missing)).rejects.toThrow(/no-such-model/); // the baseline: reading the model fails
    await expect(run(missing, '--guidance', 'strong')).rejects.toThrow("argument 'strong' is invalid. guidance must be a number, got \"strong\"");
    await expect(run(missing, '--guidance', '101')).rejects.toThrow('guidance 101: use a number from 0 to 100');
    await expect(run(missing, '--guidance', '-1')).rejects.toThrow('guidance -1: use a number from 0 to 100');
  });

  it('the model kind is read first: distilled refuses CFG, base a negative prompt without it; no weights are loaded', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const modelA = join(GOLDEN_DIR, 'model-a');
      await expect(run(modelA, '--guidance', '3.5')).rejects.toThrow(/^guidance 3.5: this model is step-distilled/);
      await expect(run(modelA, '--negative-prompt', 'blurry')).rejects.toThrow('a negative prompt needs classifier-free guidance, which this step-distilled model does not run');
      await expect(run(base.dir, '--guidance', '1', '--negative-prompt', 'blurry')).rejects.toThrow('a negative prompt has no effect at guidance 1');
      expect(err.mock.calls.map((c) => String(c[0])).filter((s) => s.includes('loaded'))).toEqual([]);
    } finally {
      err.mockRestore();
    }
  });
});
