/**
 * ReferenceEncoder on the CPU backend with the golden model: ref0.png → tokens equal to the golden
 * `ref_tokens`, the dump names, the per-image cache, and rejection before any weight is read.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CpuOps } from '../ops/cpuOps';
import { goldenModelSource, goldenTensor, loadGoldenCase } from '../testing/golden';
import { expectGolden } from '../testing/goldenCompare';
import { openComponent } from '../weights/safetensors';
import { WeightLoader } from '../weights/load';
import { pngToRgba } from '../cli/png';
import type { Dump } from './observers';
import { StageWeights } from './stageWeights';
import { loadEncoder } from '../model/vaeEncoder';
import { readConfigs } from '../model/config';
import { ReferenceEncoder } from './referenceEncoder';

describe('ReferenceEncoder (cpu)', () => {
  it('encodes ref0.png to the golden ref_tokens, dumps golden names, caches by content', async () => {
    const c = await loadGoldenCase('edit-1ref');
    const src = goldenModelSource();
    const ops = new CpuOps();
    const cfg = (await readConfigs(src)).vae;
    const weights = new StageWeights(ops, 'vae', new WeightLoader(ops, await openComponent(src, 'vae')), (w) => loadEncoder(w, cfg), 0, false);
    const enc = new ReferenceEncoder(ops, cfg, weights);
    await expect(enc.encode(Array.from({ length: 5 }, () => ({ width: 64, height: 64, rgba: new Uint8ClampedArray(64 * 64 * 4) })))).rejects.toThrow(/at most 4 reference images/);
    const ref = pngToRgba(new Uint8Array(await readFile(join(c.dir, 'ref0.png'))));
    const dump: Dump = new Map();
    const a = await enc.encode([ref], dump);
    expect([...dump.keys()].sort()).toEqual(['ref0_latent', 'ref0_pixels', 'ref_ids', 'ref_tokens']);
    expect([...a.ids]).toEqual(Array.from(goldenTensor(c.tensors, 'ref_ids').data as BigInt64Array, Number));
    expectGolden(c, await ops.read(a.tokens), 'ref_tokens', 'ReferenceEncoder ref_tokens');
    // the same image again (a copy, then twice): equal values, rows concatenated, ref 2 at t = 20
    const b = await enc.encode([{ ...ref, rgba: ref.rgba.slice() }, ref]);
    expect(ops.shape(b.tokens)).toEqual([2 * c.meta.ref_seq_len, 128]);
    const want = await ops.read(a.tokens);
    const got = await ops.read(b.tokens);
    expect(got.subarray(0, want.length)).toEqual(want);
    expect(got.subarray(want.length)).toEqual(want);
    expect(b.ids.subarray(b.ids.length / 2).filter((_, i) => i % 4 === 0).every((t) => t === 20)).toBe(true);
    enc.dispose();
  });
});
