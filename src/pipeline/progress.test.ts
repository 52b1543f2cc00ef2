/**
 * Progress reports of a request with a live preview (CPU backend, golden model-a, 64², one step):
 * 'prepare' comes first (fitting the preview map takes seconds on a model's first request, and the
 * app would otherwise show "Starting…" without detail), then encode, each step, decode; previews
 * arrive after preparation, one per step.
 */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import { goldenModelSource } from '../testing/golden';
import { Pipeline } from './generate';

describe('generate progress with a live preview (cpu)', () => {
  it('reports prepare, encode, denoise, decode in that order', async () => {
    const p = await Pipeline.load(new CpuOps(), goldenModelSource());
    const events: string[] = [];
    await p.generate(
      { prompt: 'a red fox', width: 64, height: 64, steps: 2, seed: 1 },
      {
        onProgress: (e) => events.push(e.stage === 'denoise' ? `step ${e.step}` : e.stage),
        preview: (v) => events.push(`preview ${v.step}`),
      },
    );
    const stages = events.filter((e, i) => e !== events[i - 1]);
    expect(stages).toEqual(['prepare', 'encode', 'step 1', 'preview 1', 'step 2', 'preview 2', 'decode']);
    // without a preview nothing is prepared
    const plain: string[] = [];
    await p.generate({ prompt: 'a red fox', width: 64, height: 64, steps: 1, seed: 2 }, { onProgress: (e) => plain.push(e.stage) });
    expect(plain).not.toContain('prepare');
    expect(plain[0]).toBe('encode');
    p.dispose();
  });
});
