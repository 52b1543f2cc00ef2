/**
 * Quantize-on-load and packs end to end (CPU backend, the golden cases' noise and references): the
 * q8 and q4 pipelines stay close to the float32 reference, in the final latents (before the VAE)
 * and in the decoded image. Per-tensor formats are weights/quantRule.ts's (q4 keeps the
 * transformer's embedders, modulations and final layer at q8); q4 groups get util/quant.ts's
 * error-minimising ranges. The bounds are measured drift on the tiny random-weight model, not a
 * quality claim for the real one (random weights have no structure to preserve).
 */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import { GOLDEN_DIR, type GoldenCaseName, goldenModelSource } from '../testing/golden';
import { buildPack, packOfFolder } from '../testing/pack';
import { goldenTransformerAsBfl } from '../testing/goldenBfl';
import { memorySource } from '../testing/memorySource';
import { encodeGguf } from '../weights/ggufWrite';
import { planPack } from '../weights/convert';
import { neededTensors } from '../model/tensorList';
import { PACK_MANIFEST, type PackManifest } from '../weights/packFormat';
import { folderSource } from '../weights/folderSource';
import { join } from 'node:path';
import type { QuantFormat } from '../util/dtype';
import { Pipeline } from './generate';
import { type DriftBounds, expectDrift } from '../testing/goldenDrift';

/**
 * Observed (cpu) vs the float32 golden: cosine of final_latents / cosine of decoded, rel_l2 of decoded.
 *                    quantize-on-load              pack
 *   q8 t2i-64        0.99996 / 0.99995, 1.02e-2    0.99995 / 0.99993, 1.19e-2
 *   q4 t2i-64        0.99785 / 0.99755, 7.06e-2    0.99820 / 0.99812, 6.13e-2
 *   q4 edit-1ref     0.99811 / 0.99836, 5.77e-2    0.99793 / 0.99861, 5.27e-2
 * Before weights/quantRule.ts and the q4 range search (every linear weight q4, min/max ranges):
 *   q4 t2i-64        0.99078 / 0.99056, 1.39e-1    0.99167 / 0.99137, 1.33e-1
 *   q4 edit-1ref     0.99285 / 0.99162, 1.30e-1    0.99247 / 0.99161, 1.31e-1
 * Bounds: final cosine 1 − 2·(largest observed 1 − cosine), so q4 also meets the target
 * (≥ 0.995 on every golden case); decoded rel_l2 about 1.5× the largest observed.
 */
const MIN_FINAL_COSINE: Readonly<Record<QuantFormat, number>> = { q8: 0.9999, q4: 0.9957 };
const MAX_DECODED_REL_L2: Readonly<Record<QuantFormat, number>> = { q8: 0.018, q4: 0.11 };


const BOUNDS = (format: QuantFormat): DriftBounds => ({ minFinalCosine: MIN_FINAL_COSINE[format], maxDecodedRelL2: MAX_DECODED_REL_L2[format] });


/** The (format, case) runs: both formats on t2i-64, the q4 target on every golden case too. */
const RUNS: ReadonlyArray<readonly [QuantFormat, GoldenCaseName]> = [['q8', 't2i-64'], ['q4', 't2i-64'], ['q4', 'edit-1ref']];

describe.each(RUNS)('%s pipeline on the golden %s case (cpu)', (format, name) => {
  it('stays close to the float32 reference', async () => {
    const p = await Pipeline.load(new CpuOps(), goldenModelSource(), undefined, { quant: format });
    expect(p.info.summary).toContain(`linear weights ${format}`);
    await expectDrift(p, name, BOUNDS(format), `[quant] ${format}`);
  });
});

/**
 * The same through a pack (src/weights/convert.ts): the token embedding is quantized too and its
 * rows are gathered on the host.
 */
describe.each(RUNS)('%s pack on the golden %s case (cpu)', (format, name) => {
  it('loads from the pack and stays close to the float32 reference', async () => {
    const src = await packOfFolder(join(GOLDEN_DIR, 'model-a'), format, 1 << 16);
    const p = await Pipeline.load(new CpuOps(), src);
    await expectDrift(p, name, BOUNDS(format), `[pack] ${format}`);
  });
});

/**
 * A GGUF transformer (BFL names, 2-D weights in Q8_0 or Q4_0 blocks of 32, written by the test
 * writer from the golden weights) in a pack with the text encoder and VAE from the diffusers folder.
 * The blocks are repacked without loss (q8 / q4 with G = 32, ggufRepack.ts), so the only rounding of
 * the transformer is GGUF's own. Observed: Q8_0 → q8 rel_l2 1.18e-2 (cosine 0.99993) vs 1.19e-2 for
 * the q8 pack from bf16 (1.26e-2 when Q8_0 was dequantized and re-quantized at G = 64); Q4_0 → q4
 * 1.18e-1 (cosine 0.99304) vs 6.13e-2 for the q4 pack from bf16 (GGUF_BOUNDS).
 * No K-quant (Q4_K / Q6_K / Q3_K) file here: their super-blocks need K a multiple of 256, which only
 * 3 of the golden transformer's 29 2-D weights have (K = 128, 192 and 384 elsewhere); pack.test.ts
 * repacks those three.
 */
/**
 * This test's GGUF files hold every 2-D weight in Q8_0 or Q4_0, the embedders, modulations and
 * final layer included (real GGUF mixes keep those at higher precision), and those blocks are
 * repacked as they are, so Q4_0 gets bounds of its own. Observed (final / decoded cosine, decoded
 * rel_l2): Q8_0 0.99995 / 0.99993, 1.18e-2; Q4_0 0.99334 / 0.99304, 1.18e-1 (0.99247 / 0.99107,
 * 1.35e-1 before the q4 range search of the text encoder, which comes from the bf16 folder).
 */
const GGUF_BOUNDS: Readonly<Record<'Q8_0' | 'Q4_0', DriftBounds>> = {
  Q8_0: BOUNDS('q8'),
  Q4_0: { minFinalCosine: 0.9867, maxDecodedRelL2: 0.18 },
};

describe.each([['Q8_0', 'q8'], ['Q4_0', 'q4']] as const)('GGUF %s transformer → %s pack on the golden t2i-64 case (cpu)', (type, quant) => {
  it('loads and stays close to the float32 reference', async () => {
    const { bfl } = await goldenTransformerAsBfl();
    const gguf = encodeGguf({ 'general.architecture': 'flux' }, [...bfl].map(([name, t]) => ({ name, shape: t.shape, data: t.data, type: t.shape.length === 2 ? type : 'F32' })));
    const ggufSrc = memorySource({ 'flux.gguf': gguf }, 'gguf');
    const base = folderSource(join(GOLDEN_DIR, 'model-a'));
    const job = await planPack(
      { name: 'gguf', quant, base: 'base', overrides: { transformer: { source: 'gguf', path: 'flux.gguf', format: 'gguf' } } },
      (s) => (s === 'gguf' ? ggufSrc : base),
      neededTensors,
      { chunkBytes: 1 << 16 },
    );
    const files = await buildPack(job);
    const m = files.get(PACK_MANIFEST) as PackManifest;
    for (const [name, t] of Object.entries(m.components.transformer)) {
      expect(t.from === type || t.from === 'F32', name).toBe(true);
      if (t.from === type) expect([t.dtype, t.group, t.relRms], name).toEqual([quant, 32, 0]);
    }
    const p = await Pipeline.load(new CpuOps(), memorySource(files));
    await expectDrift(p, 't2i-64', GGUF_BOUNDS[type], `[pack] gguf ${type} → ${quant}`);
  });
});
