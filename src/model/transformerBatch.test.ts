/**
 * The transformer over a batch of contexts (classifier-free guidance in one pass: TransformerContext.txt
 * as an array) against one pass per context. Every row of the batch is computed by the same
 * per-row arithmetic as in a pass of its own (per-row GEMMs, attention confined to its sequence, the
 * RoPE table and norm split repeated per sequence), so the velocities must be bit-identical; checked
 * on the golden t2i-64 transformer inputs with and without reference tokens, f32 and f16 storage,
 * joint and split q|k|v buffers, on the CPU twins and the WGSL kernels.
 */
import { describe, expect, it } from 'vitest';
import { goldenTensor, loadGoldenCase } from '../testing/golden';
import { GOLDEN_BACKENDS, goldenTransformerInputs } from '../testing/goldenStages';
import { timestepEmbeddingInput } from '../pipeline/schedule';
import { imageIds, textIds } from '../pipeline/latents';
import { fluxRopeTable } from './ropeTables';
import { transformerForward } from './transformer';
import { Rng } from '../util/rng';

describe.each(GOLDEN_BACKENDS)('transformer batch of contexts on %s', (backend, makeOps) => {
  it('gives each context the velocity of its own pass, bit for bit', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('t2i-64');
    const { cfg, w, txt, n } = await goldenTransformerInputs(ops, c);
    const [l, d] = ops.shape(txt) as [number, number];
    // a second context: the first with its rows reversed and scaled (an unrelated prompt's stand-in)
    const host = await ops.read(txt);
    const other = new Float32Array(host.length);
    for (let r = 0; r < l; r++) other.set(host.subarray((l - 1 - r) * d, (l - r) * d).map((v) => 0.7 * v), r * d);
    const txt2 = ops.fromHost(other, [l, d], 'txt2');
    const init = goldenTensor(c.tensors, 'latents_init').data as Float32Array;
    const t0 = (goldenTensor(c.tensors, 'model_timestep').data as Float32Array)[0] as number;
    const side = Math.sqrt(n);
    const refTokens = 16; // a 4×4-token reference at t = 10
    const refs = new Rng(3).normals(refTokens * 128);
    const run = async (contexts: unknown[], withRef: boolean, f16: boolean, qkvBindingBytes?: number) => {
      const ids = new Int32Array((l + n + (withRef ? refTokens : 0)) * 4);
      ids.set(textIds(l));
      ids.set(imageIds(side, side), l * 4);
      if (withRef) ids.set(imageIds(4, 4, 10), (l + n) * 4);
      const table = fluxRopeTable(ids, cfg.axes_dims_rope, cfg.rope_theta);
      const rope = ops.fromHost(table.data, table.shape, 'rope');
      const x = ops.fromHost(withRef ? Float32Array.from([...init, ...refs]) : init, [n + (withRef ? refTokens : 0), 128], 'x');
      const tIn = ops.fromHost(timestepEmbeddingInput(t0, cfg.timestep_guidance_channels), [1, cfg.timestep_guidance_channels], 't');
      const ctx = { txt: contexts.length === 1 ? contexts[0] : contexts, rope, targetTokens: n, f16, ...(qkvBindingBytes ? { qkvBindingBytes } : {}) };
      const v = await ops.read(transformerForward(ops, w, cfg, ctx as Parameters<typeof transformerForward>[3], x, tIn));
      ops.release(rope);
      return v;
    };
    const precisions = backend === 'gpu' && !ops.prefersF16 ? [false] : [false, true];
    for (const f16 of precisions) {
      let batchNoRef: Float32Array | null = null;
      for (const withRef of f16 ? [false] : [false, true]) {
        const what = `${f16 ? 'f16' : 'f32'}${withRef ? ', with a reference' : ''}`;
        const a = await run([txt], withRef, f16);
        const b = await run([txt2], withRef, f16);
        const batch = await run([txt, txt2], withRef, f16);
        expect(batch.length).toBe(2 * a.length);
        expect(a.some((v, i) => v !== b[i]), `${what}: the contexts differ`).toBe(true);
        expect(batch.subarray(0, a.length), `${what}: context 0`).toEqual(a);
        expect(batch.subarray(a.length), `${what}: context 1`).toEqual(b);
        if (!withRef) batchNoRef = batch;
      }
      // q|k|v split into three buffers by a small binding cap: the same rows
      expect(await run([txt, txt2], false, f16, 1), `${f16 ? 'f16' : 'f32'}: three q, k, v buffers`).toEqual(batchNoRef);
    }
  });
});
