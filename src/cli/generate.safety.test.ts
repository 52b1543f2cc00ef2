/**
 * `npm run generate -- --safety` on the golden tiny model (CPU backend, 64², 1 step: ≈ 5 s a run) with
 * the test classifier (test/fixtures/safety-classifier: "nsfw" when the mean red is above 191/255).
 * The tiny model's seed-7 image is a dull grey-green (mean RGB ≈ 95, 120, 111), so the classifier
 * calls it "normal" with a score of ≈ 1: flagging "nsfw" writes it, flagging "normal" must refuse it.
 */
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decode as decodePng } from 'fast-png';
import { GOLDEN_MODEL } from '../testing/server';
import { SAFETY_FIXTURE } from '../testing/safety';
import { EXIT_FLAGGED, main } from './generate';

const RUN = ['--model', GOLDEN_MODEL, '--backend', 'cpu', '--prompt', 'a red fox in the snow', '--width', '64', '--height', '64', '--steps', '1', '--seed', '7'];

let stderr: string[];
beforeEach(() => {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr.push(String(s));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const outPath = async () => join(await mkdtemp(join(tmpdir(), 'kleinbild-safety-cli-')), 'out.png');
const exists = (p: string) => access(p).then(() => true, () => false);

describe('npm run generate --safety', () => {
  it('writes an unflagged image and reports its scores', async () => {
    const out = await outPath();
    const code = await main([...RUN, '--safety', '--safety-model', SAFETY_FIXTURE, '--out', out]);
    expect(code).toBe(0);
    const png = decodePng(await readFile(out));
    expect([png.width, png.height]).toEqual([64, 64]);
    expect(stderr.join('')).toMatch(/safety checker: not flagged \(normal 1\.0000, nsfw 0\.0000\) in \d+ ms/);
  });

  it('refuses to write a flagged image: exit code 3, the scores on stderr', async () => {
    const out = await outPath();
    const code = await main([...RUN, '--safety', '--safety-model', SAFETY_FIXTURE, '--safety-labels', 'normal', '--safety-threshold', '0.9', '--out', out]);
    expect(code).toBe(EXIT_FLAGGED);
    expect(await exists(out)).toBe(false);
    expect(stderr.join('')).toContain(`the safety checker flagged the image (normal 1.0000, nsfw 0.0000; flagged at ≥ 0.9 for normal): ${out} not written`);
  });

  it.each([
    [['--safety', '--safety-threshold', '1.5'], /--safety-threshold must be a number from 0 to 1, got "1\.5"/],
    [['--safety', '--safety-threshold', 'x'], /--safety-threshold must be a number from 0 to 1/],
    [['--safety-model', SAFETY_FIXTURE], /--safety-model needs --safety/],
    [['--safety', '--safety-labels', ' , '], /--safety-labels: give at least one label/],
    [['--safety', '--safety-dtype', 'f32'], /--safety-dtype f32: use auto, fp32/],
  ])('%j is refused before anything is read', async (args, message) => {
    const out = await outPath();
    // a model folder that does not exist: the options must fail first
    await expect(main(['--model', '/no/such/model', '--prompt', 'p', '--width', '64', '--height', '64', ...args, '--out', out])).rejects.toThrow(message);
  });

  it('a classifier that cannot be loaded, or lacks the label, fails before the model load', async () => {
    const out = await outPath();
    await expect(main([...RUN, '--safety', '--safety-model', './no/such/classifier', '--out', out])).rejects.toThrow(/safety model \.\/no\/such\/classifier: not a folder here/);
    await expect(main([...RUN, '--safety', '--safety-model', SAFETY_FIXTURE, '--safety-labels', 'porn', '--out', out])).rejects.toThrow(/label\(s\) porn not among its labels \(normal, nsfw\)/);
    expect(stderr.join('')).not.toMatch(/loaded in/);
  });
});
