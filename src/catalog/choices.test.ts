/**
 * Offered downloads: the sizes shown before a download must be what planPack will store. Checked on
 * the golden tiny checkpoint (same layout and dtypes as the real repo): the loaders' tensor list is
 * exactly the pack's tensor list, and the computed layout size equals the plan's total.
 */
import { GOLDEN_DIR } from '../testing/golden';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfigs } from '../model/config';
import { planPack } from '../weights/convert';
import { neededTensors, tensorList } from '../model/tensorList';
import { modelChoices, packLayoutBytes } from './choices';
import { folderSource } from '../weights/folderSource';
import { COMPONENTS } from '../weights/sourceTensor';

const MODEL_A = resolve(GOLDEN_DIR, 'model-a');

describe('model choices', () => {
  it('the loaders read exactly the tensors a pack stores, and the size shown equals the plan', async () => {
    const src = folderSource(MODEL_A);
    const specs = await tensorList(await readConfigs(src));
    for (const quant of ['q4', 'q8', 'none'] as const) {
      const job = await planPack({ name: 't', quant, base: MODEL_A }, () => src, neededTensors);
      const planned = COMPONENTS.flatMap((c) => Object.entries(job.plan.components[c]).map(([n, t]) => `${c}/${n} ${t.shape.join('x')}`)).sort();
      expect(specs.map((s) => `${s.component}/${s.name} ${s.shape.join('x')}`).sort()).toEqual(planned);
      expect(packLayoutBytes(specs, quant), quant).toBe(job.plan.totalBytes);
    }
  });

  it('offers a recommended 4-bit default and sizes ordered as the formats imply (real klein configs)', async () => {
    const choices = await modelChoices();
    expect(choices.filter((c) => c.recommended).map((c) => c.recipe.quant)).toEqual(['q4']);
    const by = Object.fromEntries(choices.map((c) => [c.id, c]));
    // 4-bit stores ≈ 0.56 B/weight, 8-bit ≈ 1.03 B/weight on the linear weights (≈ 6.9 G of them);
    // the q4 pack keeps 171 M transformer weights at q8 (weights/quantRule.ts): 4,180,345,088 B
    // (3.89 GiB; 3.82 with every linear weight q4), within the 4.0 GiB the 4-bit default promises
    expect(by['klein-q4']?.storedBytes).toBeGreaterThan(3.5e9);
    expect(by['klein-q4']?.storedBytes).toBeLessThanOrEqual(4 * 2 ** 30);
    expect(by['klein-q8']?.storedBytes).toBeGreaterThan(6.5e9);
    expect(by['klein-q8']?.storedBytes).toBeLessThan(8e9);
    // bf16 download of the needed tensors: 27 Qwen3 layers + embedding + transformer + VAE ≈ 14 GB
    expect(by['klein-q4']?.downloadBytes).toBeGreaterThan(13e9);
    expect(by['klein-fp8-q8']?.downloadBytes).toBeLessThan(by['klein-q8']?.downloadBytes ?? 0);
    expect(by['klein-gguf-q4']?.downloadBytes).toBeLessThan(by['klein-fp8-q8']?.downloadBytes ?? 0);
  });
});
