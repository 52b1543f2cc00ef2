/**
 * Low-memory mode on Dawn (golden model-a, the t2i-64 request with its injected noise): the same
 * image as normal mode, bit for bit (same kernels on the same inputs in the same order), while each
 * stage's peak of live GPU bytes lacks exactly the other two stages' weights, and nothing is left
 * on the GPU after a run but the cached prompt context; the same prompt again skips the text encoder.
 * Two full pipeline runs and two one-step runs: ≈ 3–5 min on SwiftShader.
 */
import { describe, expect, it } from 'vitest';
import type { GpuTensor } from '../gpu/context';
import { GpuOps } from '../ops/gpuOps';
import { testGpu } from '../testing/gpu';
import { goldenModelSource, goldenTensor, loadGoldenCase } from '../testing/golden';
import { WeightLoader } from '../weights/load';
import { openComponent } from '../weights/safetensors';
import { loadQwen3 } from '../model/qwen3';
import { loadTransformer } from '../model/transformer';
import { loadDecoder } from '../model/vae';
import type { GenerateProgress, GenerateRequest } from './types';
import { Pipeline } from './generate';
import { readConfigs } from '../model/config';
import { releaseAll } from '../ops/ops';

describe('low-memory mode on the golden t2i-64 request (gpu)', () => {
  it('makes the same image with only one stage’s weights on the GPU at a time', async () => {
    const ctx = await testGpu();
    const ops = new GpuOps(ctx);
    const src = goldenModelSource();
    const cfg = await readConfigs(src);

    // GPU bytes of each stage's weights, measured by loading them alone
    const gpuBytes = async <W>(folder: string, load: (l: WeightLoader<GpuTensor>) => Promise<W>): Promise<number> => {
      const before = ctx.pool.persistentBytes;
      const w = await load(new WeightLoader(ops, await openComponent(src, folder)));
      const bytes = ctx.pool.persistentBytes - before;
      releaseAll(ops, w);
      return bytes;
    };
    const te = await gpuBytes('text_encoder', (l) => loadQwen3(l, cfg.textEncoder));
    const tr = await gpuBytes('transformer', (l) => loadTransformer(l, cfg.transformer));
    const vae = await gpuBytes('vae', (l) => loadDecoder(l, cfg.vae));
    expect(Math.min(te, tr, vae)).toBeGreaterThan(0);

    const c = await loadGoldenCase('t2i-64');
    const m = c.meta;
    const req: GenerateRequest = { prompt: m.prompt, width: m.width, height: m.height, steps: m.num_inference_steps, seed: m.seed, latents: goldenTensor(c.tensors, 'noise').data as Float32Array };
    const run = async (lowMemory: boolean) => {
      const p = await Pipeline.load(ops, src, undefined, lowMemory ? { lowMemory } : {});
      const residentAtLoad = ctx.pool.persistentBytes;
      const peaks: Record<string, number> = {};
      const loads: GenerateProgress[] = [];
      let stage = '';
      const r = await p.generate(req, {
        onProgress: (e) => {
          if (e.load) loads.push(e);
          if (e.stage === stage) return;
          if (stage) peaks[stage] = ctx.pool.stagePeak.live;
          ctx.pool.resetStagePeak();
          stage = e.stage;
        },
      });
      peaks[stage] = ctx.pool.stagePeak.live;
      const after = { resident: ctx.pool.persistentBytes, pooled: ctx.pool.pooledBytes };
      // the prompt's context stays cached: the same prompt again (new seed, one step) skips the text
      // encoder and (low memory) reading its weights; another prompt runs it again
      const encodeLoads = async (prompt: string) => {
        const seen: GenerateProgress[] = [];
        const { latents: _injected, ...seeded } = req;
        await p.generate({ ...seeded, prompt, steps: 1, seed: 5 }, { onProgress: (e) => void (e.stage === 'encode' && e.load && seen.push(e)) });
        return seen.length;
      };
      const again = lowMemory ? { same: await encodeLoads(m.prompt), other: await encodeLoads('another prompt') } : null;
      p.dispose();
      return { r, peaks, loads, residentAtLoad, after, again, info: p.info };
    };
    const normal = await run(false);
    const low = await run(true);

    expect(low.r.rgba).toEqual(normal.r.rgba);
    console.log(`[low-memory] stage peaks (live bytes) normal ${JSON.stringify(normal.peaks)}, low ${JSON.stringify(low.peaks)}; weights te ${te}, tr ${tr}, vae ${vae}`);
    // the same activations in both modes; normal mode adds the other stages' resident weights
    expect(normal.peaks.encode! - low.peaks.encode!).toBe(tr + vae);
    expect(normal.peaks.denoise! - low.peaks.denoise!).toBe(te + vae);
    expect(normal.peaks.decode! - low.peaks.decode!).toBe(te + tr);
    expect(low.peaks.denoise).toBeGreaterThan(tr);
    // residency: everything from load to dispose, or nothing outside a stage (pool trimmed too)
    expect(normal.residentAtLoad).toBe(te + tr + vae);
    expect(low.residentAtLoad).toBe(0);
    // …except the cached prompt context [512, 3·hidden] f32, an activation
    expect(low.after).toEqual({ resident: 0, pooled: 512 * 3 * cfg.textEncoder.hidden_size * 4 });
    expect(low.again).toEqual({ same: 0, other: expect.any(Number) });
    expect(low.again?.other).toBeGreaterThan(0);
    // weight reads are reported inside each stage, ending at the stage's checkpoint bytes
    expect(normal.loads).toEqual([]);
    for (const stage of ['encode', 'denoise', 'decode'] as const) {
      const last = low.loads.filter((e) => e.stage === stage).at(-1);
      expect(last?.load?.totalBytes, stage).toBeGreaterThan(0);
      expect(last?.load?.loadedBytes, stage).toBe(last?.load?.totalBytes);
    }
    expect(low.info.weightBytes).toBe(normal.info.weightBytes);
    expect(low.r.timings.loadMs).toBeGreaterThan(0);
    expect(normal.r.timings.loadMs).toBeUndefined();
  });
});
