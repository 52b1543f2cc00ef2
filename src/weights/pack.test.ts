/**
 * Packs: conversion chunk by chunk must give exactly the bytes of converting each tensor whole
 * (row-local conversion, sections straddling chunk borders), the pack reader must return them,
 * copying a pack must verify every chunk, and source reads must be coalesced. GGUF Q8_0 / Q4_0 /
 * Q4_1 / Q5_0 / Q5_1 blocks must land in the pack without loss (G = 32), Q4_K / Q5_K / Q6_K / Q3_K
 * with their codes (G = 32 / 32 / 16 / 16).
 */
import { GOLDEN_DIR } from '../testing/golden';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../testing/memorySource';
import { buildPack } from '../testing/pack';
import { decodeToF32 } from '../util/dtype';
import { COALESCE_GAP_BYTES, planPack, readCoalesced } from './convert';
import { neededTensors } from '../model/tensorList';
import { folderSource } from './folderSource';
import { openCheckpoints } from './pack';
import { PACK_MANIFEST, type PackManifest, type PackQuant, type PackTensor } from './packFormat';
import { dtypeOf, openComponent, weightFormatOf } from './safetensors';
import { COMPONENTS, rowsCols } from './sourceTensor';
import { IntegrityFailure } from '../errors';
import { expectSameF32, goldenTransformerAsBfl } from '../testing/goldenBfl';
import { relL2 } from '../testing/expectClose';
import { openGgufTransformer } from './gguf';
import type { GgmlType } from './ggufQuants';
import { type GgufTensorIn, encodeGguf } from './ggufWrite';
import { dequantize, quantize } from '../util/quant';
import { isQ4Sensitive } from './quantRule';

const MODEL_A = resolve(GOLDEN_DIR, 'model-a');
/** Tiny chunks so that most tensors and their planar sections straddle chunk borders. */
const CHUNK = 4096;

/** −1 when equal, else the first differing index (or the shorter length); cheap on MB-sized arrays. */
function firstDiff(a: Uint8Array | object | undefined, b: Uint8Array | object | undefined): number {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return a === b ? -1 : 0;
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const i = Buffer.compare(a, b) === 0 ? -1 : a.findIndex((v, k) => v !== b[k]);
  return i;
}

async function packOf(quant: PackQuant) {
  const src = folderSource(MODEL_A);
  const job = await planPack({ name: `test ${quant}`, quant, base: MODEL_A }, () => src, neededTensors, { chunkBytes: CHUNK });
  return { job, files: await buildPack(job) };
}

describe('pack conversion (golden model-a)', () => {
  it('quant none: every needed tensor reads back byte-identical to the checkpoint', async () => {
    const { job, files } = await packOf('none');
    expect(job.plan.chunks.length).toBeGreaterThan(100);
    const pack = await openCheckpoints(memorySource(files));
    expect(pack.pack?.quant).toBe('none');
    const orig = folderSource(MODEL_A);
    for (const c of COMPONENTS) {
      const src = await openComponent(orig, c);
      const names = [...pack[c].tensors.keys()];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(firstDiff(await pack[c].read(name), await src.read(name)), `${c}/${name}`).toBe(-1);
    }
    // layers ≥ 27 of the text encoder and the BN step counter are not in the pack
    expect([...pack.text_encoder.tensors.keys()].some((n) => /^model\.layers\.(2[7-9]|[3-9]\d)\./.test(n))).toBe(false);
    expect(pack.vae.tensors.has('bn.num_batches_tracked')).toBe(false);
  });

  for (const quant of ['q8', 'q4'] as const) {
    it(`${quant}: chunked conversion equals quantizing each tensor whole; relRms recorded`, async () => {
      const { files } = await packOf(quant);
      const pack = await openCheckpoints(memorySource(files));
      const orig = folderSource(MODEL_A);
      let quantized = 0;
      let sensitive = 0;
      for (const c of ['text_encoder', 'transformer'] as const) {
        const src = await openComponent(orig, c);
        for (const [name, info] of pack[c].tensors) {
          const o = src.info(name);
          const values = decodeToF32(await src.read(name), dtypeOf(o));
          if (o.shape.length === 2) {
            // q4 packs keep the transformer's embedders, modulations and final layer at q8 (quantRule.ts)
            const want = isQ4Sensitive(c, name) ? 'q8' : quant;
            expect(info.dtype, name).toBe(want.toUpperCase());
            const { rows, cols } = rowsCols(o.shape);
            expect(firstDiff(await pack[c].read(name), quantize(values, rows, cols, want).data), `${c}/${name}`).toBe(-1);
            const rel = pack.pack?.components[c][name]?.relRms;
            expect(rel, name).toBeGreaterThan(0);
            expect(rel, name).toBeLessThan(want === 'q8' ? 0.02 : 0.2);
            quantized++;
            if (want !== quant) sensitive++;
          } else {
            expect(firstDiff(await pack[c].read(name), await src.read(name)), name).toBe(-1);
          }
        }
      }
      expect(quantized).toBeGreaterThan(50);
      expect(sensitive).toBe(quant === 'q4' ? 8 : 0); // quantRule.test.ts lists them
      // readRange over chunk borders equals the slice of read()
      const emb = 'model.embed_tokens.weight';
      const whole = await pack.text_encoder.read(emb);
      expect(firstDiff(await pack.text_encoder.readRange(emb, 1000, 9000), whole.slice(1000, 9000))).toBe(-1);
    });
  }

  it('copying a pack verifies every chunk against the manifest', async () => {
    const { files } = await packOf('q8');
    const src = memorySource(files);
    const copy = await planPack({ name: 'copy', quant: 'q8', base: 'pack' }, () => src, neededTensors);
    const again = await buildPack(copy);
    for (const [path, bytes] of files) if (path !== PACK_MANIFEST) expect(firstDiff(again.get(path), bytes), path).toBe(-1);
    // one flipped byte in chunk 3 is refused by name
    const bad = new Map(files);
    const c3 = (files.get('chunks/00003.bin') as Uint8Array).slice();
    c3[17] = (c3[17] as number) ^ 0xff;
    bad.set('chunks/00003.bin', c3);
    const badSrc = memorySource(bad);
    const job = await planPack({ name: 'copy', quant: 'q8', base: 'pack' }, () => badSrc, neededTensors);
    await expect(job.chunk(2)).resolves.toBeInstanceOf(Uint8Array);
    await expect(job.chunk(3)).rejects.toThrow(/chunks\/00003\.bin: SHA-256 [0-9a-f]{64} does not match/);
    await expect(job.chunk(3)).rejects.toBeInstanceOf(IntegrityFailure);
  });

  it('reads only what a chunk needs, in few coalesced requests', async () => {
    const folder = folderSource(MODEL_A);
    const files = new Map<string, Uint8Array | object>();
    for (const c of COMPONENTS) {
      for (const f of ['config.json', c === 'text_encoder' ? 'model.safetensors' : 'diffusion_pytorch_model.safetensors']) {
        files.set(`${c}/${f}`, await folder.range(`${c}/${f}`, 0, await folder.size(`${c}/${f}`)));
      }
    }
    for (const f of ['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json']) files.set(f, await folder.range(f, 0, await folder.size(f)));
    const src = memorySource(files);
    const job = await planPack({ name: 'q4', quant: 'q4', base: 'mem' }, () => src, neededTensors, { chunkBytes: 1 << 20 });
    let ranges = 0;
    let bytes = 0;
    for (let i = 0; i < job.plan.chunks.length; i++) {
      src.resetStats();
      await job.chunk(i);
      ranges += src.stats.ranges;
      bytes += src.stats.bytes;
      expect(src.stats.ranges, `chunk ${i}`).toBeLessThanOrEqual(3); // ≤ one request per source file
    }
    // every source byte of a needed tensor is read about once (q4 chunk borders re-read a few rows)
    const needed = COMPONENTS.reduce((s, c) => s + Object.values(job.plan.components[c]).reduce((t, x) => t + rowsCols(x.shape).rows * rowsCols(x.shape).cols * (x.from === 'F32' ? 4 : 2), 0), 0);
    expect(bytes).toBeGreaterThanOrEqual(needed);
    expect(bytes).toBeLessThan(needed * 1.2 + job.plan.chunks.length * COALESCE_GAP_BYTES);
    expect(ranges).toBeLessThanOrEqual(job.plan.chunks.length * 3);
  });
});

describe('GGUF transformers into a pack (golden model-a weights in BFL naming)', async () => {
  const { bfl } = await goldenTransformerAsBfl();
  const base = folderSource(MODEL_A);
  /** The layout each type is repacked into (ggufRepack.ts), and whether that is bit-exact. */
  const REPACK: Readonly<Record<string, { dtype: 'q4' | 'q8' | 'q8m'; group: number; exact: boolean }>> = {
    Q8_0: { dtype: 'q8', group: 32, exact: true }, Q4_0: { dtype: 'q4', group: 32, exact: true }, Q4_1: { dtype: 'q4', group: 32, exact: true },
    Q5_0: { dtype: 'q8', group: 32, exact: true }, Q5_1: { dtype: 'q8m', group: 32, exact: true },
    Q4_K: { dtype: 'q4', group: 32, exact: false }, Q5_K: { dtype: 'q8m', group: 32, exact: false }, Q6_K: { dtype: 'q8', group: 16, exact: false }, Q3_K: { dtype: 'q4', group: 16, exact: false },
  };
  // Two files: `types` cycle over the 2-D tensors; K-quants need rows of whole 256-value
  // super-blocks, which 3 of the 29 have (single_blocks.{0,1}.linear2 [128, 512], time_in.in_layer
  // [128, 256]): they cycle `kTypes`
  const MIXES = [
    { types: ['Q8_0', 'Q4_0', 'Q4_1'], kTypes: ['Q4_K', 'Q6_K', 'Q3_K'] },
    { types: ['Q5_0', 'Q5_1'], kTypes: ['Q5_K'] },
  ] as const;

  for (const mix of MIXES) {
    let k = 0;
    const tensors: GgufTensorIn[] = [...bfl].map(([name, t], i) => {
      const type: GgmlType = t.shape.length !== 2 ? 'F32' : (t.shape[1] as number) % 256 === 0 ? mix.kTypes[k++ % mix.kTypes.length] as GgmlType : mix.types[i % mix.types.length] as GgmlType;
      return { name, shape: t.shape, data: t.data, type };
    });
    const gguf = memorySource({ 'flux.gguf': encodeGguf({ 'general.architecture': 'flux' }, tensors) }, 'gguf');
    const types = [...mix.types, ...mix.kTypes].join(' / ');

    for (const quant of ['q8', 'q4'] as const) {
      it(`${types}, ${quant} pack: every block kept in the layout that holds it, whatever the pack's quant (the file's own mix, as llama.cpp computes), the block types bit for bit (relRms 0), the K-quants with their codes (relRms ≤ 1e-3)`, async () => {
        expect(k).toBe(3);
        const recipe = { name: 'gguf', quant, base: 'base', overrides: { transformer: { source: 'gguf', path: 'flux.gguf', format: 'gguf' as const } } };
        const job = await planPack(recipe, (s) => (s === 'gguf' ? gguf : base), neededTensors, { chunkBytes: CHUNK });
        const files = await buildPack(job);
        const pack = await openCheckpoints(memorySource(files));
        const seen = new Map<string, number>();
        for (const s of await openGgufTransformer(gguf, 'flux.gguf')) {
          if (s.shape.length !== 2) continue;
          const meta = pack.pack?.components.transformer[s.name] as PackTensor;
          const { rows, cols } = rowsCols(s.shape);
          const r = s.rowBytes(0, rows);
          const want = s.decode(await gguf.range(r.file, r.start, r.end), 0, rows); // = ggufQuants' dequantize (gguf.test.ts)
          // the q4 repacks stay q4 in a q8 pack (smaller), the 8-bit ones (q8, q8m) stay 8-bit in a q4
          // pack (convert.ts targetDtype): never re-quantized
          const to = REPACK[s.sourceDtype] as (typeof REPACK)[string];
          expect([meta.dtype, meta.group], s.name).toEqual([to.dtype, to.group]);
          expect(pack.transformer.info(s.name).group, s.name).toBe(meta.group);
          expect(weightFormatOf(pack.transformer.info(s.name)), s.name).toBe(meta.dtype); // what the loader uploads
          const got = dequantize({ format: meta.dtype as 'q4' | 'q8' | 'q8m', rows, cols, groupSize: meta.group ?? 64, data: await pack.transformer.read(s.name) });
          if (to.exact) {
            expectSameF32(got, want, `${quant}/${s.name} from ${s.sourceDtype}`);
            expect(meta.relRms, s.name).toBe(0);
          } else {
            // planPack's relRms is the error against the GGUF values, accumulated in f64 block by block:
            // equal to 6 digits. K-quant scales rounded to f16 (observed here: Q4_K 4.4e-4, Q5_K
            // 4.4e-4–4.8e-4, Q6_K 2.0e-4, Q3_K 1.9e-4; ggufRepack.test.ts)
            expect(meta.relRms, s.name).toBeCloseTo(relL2(got, want), 6);
            expect(meta.relRms, s.name).toBeLessThanOrEqual(1e-3);
          }
          seen.set(s.sourceDtype, (seen.get(s.sourceDtype) ?? 0) + 1);
        }
        // every type of the file was seen (and kept)
        expect([...seen.keys()].sort(), quant).toEqual([...mix.types, ...mix.kTypes].sort());
        // norm_out.linear swaps the row halves of the BFL tensor: repacked through planTensor's row gathering
        if (quant === 'q8') expect(pack.pack?.components.transformer['norm_out.linear.weight']?.group).toBe(32);
        // a group size the kernels cannot use, and a dtype this app does not know, are refused when the manifest is read
        const m = files.get(PACK_MANIFEST) as PackManifest;
        const withProj = (t: PackTensor) => new Map(files).set(PACK_MANIFEST, { ...m, components: { ...m.components, transformer: { ...m.components.transformer, 'proj_out.weight': t } } });
        const proj = m.components.transformer['proj_out.weight'] as PackTensor;
        await expect(openCheckpoints(memorySource(withProj({ ...proj, group: 12 })))).rejects.toThrow(/kleinbild-pack\.json: components\.transformer\["proj_out\.weight"\]\.group: q(4|8|8m) with group 12; a group size belongs to q4\/q8\/q8m and is a positive multiple of 8/);
        await expect(openCheckpoints(memorySource(withProj({ ...proj, dtype: 'q5' as PackTensor['dtype'] })))).rejects.toThrow(/kleinbild-pack\.json: components\.transformer\["proj_out\.weight"\]\.dtype: "q5"; this app reads q4, q8, q8m, bf16, f16, f32/);
      });
    }
  }
});

describe('readCoalesced', () => {
  it('merges ranges closer than the gap into one request and returns them in input order', async () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 255);
    const src = memorySource({ a: data, b: data });
    const ranges = [
      { file: 'a', start: 500, end: 510 },
      { file: 'a', start: 0, end: 10 },
      { file: 'b', start: 5, end: 8 },
      { file: 'a', start: 12, end: 20 },
    ];
    const out = await readCoalesced(src, ranges, 4);
    expect(src.stats.ranges).toBe(3); // a[0,20), a[500,510), b[5,8)
    ranges.forEach((r, i) => expect(out[i]).toEqual(data.slice(r.start, r.end)));
  });
});
