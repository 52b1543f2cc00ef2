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
import { KLEIN_BASE_MODEL, modelChoices, packLayoutBytes } from './choices';
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

  it('recommends the smallest faithful download, and sizes are ordered as the formats imply (real klein configs)', async () => {
    const choices = await modelChoices();
    for (const c of choices) console.log(`${c.id}: ${c.approximate ? '≈ ' : ''}${c.downloadBytes} B download → ${c.storedBytes} B stored`);
    expect(choices.filter((c) => c.recommended).map((c) => c.id)).toEqual(['klein-gguf-q4']);
    expect(choices[0]?.recommended, 'the recommended choice comes first').toBe(true);
    const by = Object.fromEntries(choices.map((c) => [c.id, c]));
    // 4-bit stores ≈ 0.56 B/weight, 8-bit ≈ 1.03 B/weight on the linear weights (≈ 6.9 G of them);
    // the q4 pack keeps 171 M transformer weights at q8 (weights/quantRule.ts): 4,180,345,088 B
    // (3.89 GiB; 3.82 with every linear weight q4), within the 4.0 GiB the 4-bit choices promise
    expect(by['klein-q4']?.storedBytes).toBeGreaterThan(3.5e9);
    expect(by['klein-q4']?.storedBytes).toBeLessThanOrEqual(4 * 2 ** 30);
    // the GGUF Q4_K_M repack keeps Q4_K codes at G = 32 (0.625 B/w) and its ≈ 17 % Q6_K weights as
    // q8 at G = 16 (1.125 B/w): ≈ 5.18 GB (4.83 GiB) estimated
    expect(by['klein-gguf-q4']?.storedBytes).toBeGreaterThan(by['klein-q4']?.storedBytes ?? Infinity);
    expect(by['klein-gguf-q4']?.storedBytes).toBeLessThanOrEqual(5 * 2 ** 30);
    expect(by['klein-q8']?.storedBytes).toBeGreaterThan(6.5e9);
    expect(by['klein-q8']?.storedBytes).toBeLessThan(8e9);
    // bf16 download of the needed tensors: 27 Qwen3 layers + embedding + transformer + VAE ≈ 14 GB
    expect(by['klein-q4']?.downloadBytes).toBeGreaterThan(13e9);
    expect(by['klein-fp8-q8']?.downloadBytes).toBeLessThan(by['klein-q8']?.downloadBytes ?? 0);
    // the GGUF choices: under a third of the bf16 download; the 3-bit one the smallest of all
    expect(by['klein-gguf-q4']?.downloadBytes).toBeLessThan((by['klein-q4']?.downloadBytes ?? 0) / 3);
    expect(by['klein-gguf-q3']?.downloadBytes).toBeLessThan(by['klein-gguf-q4']?.downloadBytes ?? 0);
    expect(Math.min(...choices.map((c) => c.downloadBytes))).toBe(by['klein-gguf-q3']?.downloadBytes);
  });

  it('offers the base (non-distilled) model in 4 and 8 bits from its official repo, last, sized like the distilled packs', async () => {
    const choices = await modelChoices();
    expect(choices.slice(-2).map((c) => c.id)).toEqual(['klein-base-q4', 'klein-base-q8']);
    const by = Object.fromEntries(choices.map((c) => [c.id, c]));
    for (const q of ['q4', 'q8'] as const) {
      const b = by[`klein-base-${q}`];
      const d = by[`klein-${q}`];
      expect(b?.recipe).toEqual({ name: `FLUX.2 [klein] base 4B · ${q === 'q4' ? '4' : '8'}-bit`, quant: q, base: KLEIN_BASE_MODEL });
      expect(KLEIN_BASE_MODEL).toBe('black-forest-labs/FLUX.2-klein-base-4B');
      // same architecture and configs (docs/flux2-klein.md §2.3): the same tensors, so the same sizes
      expect([b?.downloadBytes, b?.storedBytes]).toEqual([d?.downloadBytes, d?.storedBytes]);
      expect(b?.approximate).toBe(false);
      expect(b?.recommended).toBe(false);
      expect(b?.label).toMatch(/^Base model, \d-bit \(50 steps, slower; guidance and negative prompt\)$/);
      expect(b?.description).toContain('classifier-free guidance');
    }
    // a different base repo (e.g. a mirror) is used as given
    const mirrored = await modelChoices(undefined, undefined, 'mirror/klein-base');
    expect(mirrored.find((c) => c.id === 'klein-base-q4')?.recipe.base).toBe('mirror/klein-base');
  });
});
