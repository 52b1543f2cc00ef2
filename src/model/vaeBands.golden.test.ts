/**
 * The banded VAE against the whole-tensor one on the golden cases, on both backends: decode of the
 * final latents of t2i-64 and edit-1ref, encode of edit-1ref's ref0. At 64² the chains run whole
 * by default; here they are forced into small bands. Banded must equal whole bit for bit, and stay
 * within the golden float32 tolerances.
 */
import { describe, expect, it } from 'vitest';
import { type GoldenCase, goldenTensor, loadGoldenCase } from '../testing/golden';
import { expectGolden, goldenRows } from '../testing/goldenCompare';
import { GOLDEN_BACKENDS, loadGoldenComponent } from '../testing/goldenStages';
import { type VaeBandOptions, decode, loadDecoder } from './vae';
import { encodeLatent, loadEncoder } from './vaeEncoder';

const KiB = 1024;

/**
 * Band settings for the tiny model (full-resolution tensors 512 KiB, half resolution 256 KiB).
 * windowBytes 32 KiB stores every tensor above it in row chunks (gathers across chunks, chunks
 * freed behind the last band that reads them).
 */
const CONFIGS: Record<string, VaeBandOptions> = {
  // like 1024²: the streams stored, each full-resolution resnet's first conv computed twice
  streams: { banded: true, bandRows: 4, storeBytes: 600 * KiB, windowBytes: 32 * KiB },
  // everything stored (first convs too, streams updated chunk by chunk); 5-row bands, a short last one
  all: { banded: true, bandRows: 5, storeBytes: 2 ** 30, windowBytes: 32 * KiB },
  // like 2048²: nothing stored at full resolution, every GroupNorm there recomputed from half resolution
  chains: { banded: true, bandRows: 8, storeBytes: 300 * KiB, windowBytes: 32 * KiB },
};

/** Configurations per case; edit-1ref's decode has t2i-64's shapes, so it skips the slowest. */
const CASES: Readonly<Record<string, Record<'t2i-64' | 'edit-1ref' | 'encode', string[]>>> = {
  cpu: { 't2i-64': ['streams', 'all', 'chains'], 'edit-1ref': ['streams', 'all'], encode: ['streams', 'all', 'chains'] },
  // SwiftShader takes 10–30 s per 64² decode: one configuration, the one 1024² resembles
  gpu: { 't2i-64': ['streams'], 'edit-1ref': ['streams'], encode: ['streams'] },
};
const backends = GOLDEN_BACKENDS.map(([name, make]) => [name, make, CASES[name]!] as const);

/** Index of the first element whose bits differ (−1: none). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  return x.findIndex((v, i) => v !== y[i]);
}

/** The last step's latent tokens of a golden case: [N, 128], N = (H/16)·(W/16). */
function finalTokens(c: GoldenCase): { data: Float32Array; h: number; w: number } {
  const n = c.meta.image_seq_len;
  return { data: goldenRows(goldenTensor(c.tensors, 'step_latents'), (c.meta.num_inference_steps - 1) * n, n), h: c.meta.height / 16, w: c.meta.width / 16 };
}

describe.each(backends)('banded VAE equals whole on %s', (backend, makeOps, configs) => {
  it.each(['t2i-64', 'edit-1ref'] as const)('decode of %s final latents', async (name) => {
    const ops = await makeOps();
    const c = await loadGoldenCase(name);
    const { cfg: all, w } = await loadGoldenComponent(ops, 'vae', (l, cfg) => loadDecoder(l, cfg.vae));
    const cfg = all.vae;
    const { data, h, w: wd } = finalTokens(c);
    const run = async (o: VaeBandOptions) => {
      const t = ops.tidy(() => decode(ops, w, cfg, ops.fromHost(data, [h * wd, 128], 'tokens'), h, wd, o));
      const out = await ops.read(t);
      ops.release(t);
      return out;
    };
    const whole = await run({ banded: false });
    for (const k of configs[name]) {
      const t0 = performance.now();
      const banded = await run(CONFIGS[k] as VaeBandOptions);
      console.log(`[vae bands] ${backend} decode ${name} ${k}: ${(performance.now() - t0).toFixed(0)} ms`);
      expect(firstDifference(banded, whole), `${backend} ${name} decode, ${k}: first differing element`).toBe(-1);
    }
    expectGolden(c, whole, 'decoded', `${backend} ${name} decoded (banded = whole)`);
  });

  it('encode of edit-1ref ref0', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('edit-1ref');
    const { cfg: all, w } = await loadGoldenComponent(ops, 'vae', (l, cfg) => loadEncoder(l, cfg.vae));
    const cfg = all.vae;
    const px = goldenTensor(c.tensors, 'ref0_pixels');
    const pixels = ops.fromHost(px.data as Float32Array, px.shape.slice(1), 'ref0_pixels');
    const run = async (o: VaeBandOptions) => {
      const t = encodeLatent(ops, w, cfg, pixels, o);
      const out = await ops.read(t);
      ops.release(t);
      return out;
    };
    const whole = await run({ banded: false });
    for (const k of configs.encode) {
      const t0 = performance.now();
      const banded = await run(CONFIGS[k] as VaeBandOptions);
      console.log(`[vae bands] ${backend} encode ${k}: ${(performance.now() - t0).toFixed(0)} ms`);
      expect(firstDifference(banded, whole), `${backend} encode, ${k}: first differing element`).toBe(-1);
    }
    expectGolden(c, whole, 'ref0_latent', `${backend} ref0_latent (banded = whole)`);
  });
});
