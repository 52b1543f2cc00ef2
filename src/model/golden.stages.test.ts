/**
 * Each model stage against the reference (diffusers, float32) with golden inputs, on both backends:
 * 'cpu' checks the model code with plain loops, 'gpu' the same code on our WGSL kernels (Dawn).
 */
import { describe, it } from 'vitest';
import { goldenTensor, loadGoldenCase } from '../testing/golden';
import { expectGolden, goldenRows } from '../testing/goldenCompare';
import { GOLDEN_BACKENDS, goldenIds, goldenTransformerInputs, loadGoldenComponent } from '../testing/goldenStages';
import { loadQwen3, qwen3PromptEmbeds } from './qwen3';
import { transformerForward } from './transformer';
import { decode, loadDecoder } from './vae';
import { timestepEmbeddingInput } from '../pipeline/schedule';

describe.each(GOLDEN_BACKENDS)('golden t2i-64 stages on %s', (backend, makeOps) => {
  it('text encoder: input_ids → prompt_embeds', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('t2i-64');
    const { cfg, w } = await loadGoldenComponent(ops, 'text_encoder', (l, cfg) => loadQwen3(l, cfg.textEncoder));
    const out = await qwen3PromptEmbeds(ops, w, cfg.textEncoder, goldenIds(c, 'input_ids'), goldenIds(c, 'attention_mask'));
    expectGolden(c, await ops.read(out), 'prompt_embeds', `${backend} prompt_embeds`);
  });

  it('transformer: one call per step → step_velocity', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('t2i-64');
    const { cfg, w, txt, rope, n } = await goldenTransformerInputs(ops, c);
    const steps = c.meta.num_inference_steps;
    const stepLatents = goldenTensor(c.tensors, 'step_latents');
    const init = goldenTensor(c.tensors, 'latents_init');
    const modelT = goldenTensor(c.tensors, 'model_timestep').data as Float32Array;
    const vel = goldenTensor(c.tensors, 'step_velocity');
    for (let i = 0; i < steps; i++) {
      // golden input for step i: latents_init, then step_latents[i-1] (errors don't compound)
      const xin = i === 0 ? (init.data as Float32Array) : goldenRows(stepLatents, (i - 1) * n, n);
      const x = ops.fromHost(xin, [n, 128], 'x');
      const tIn = ops.fromHost(timestepEmbeddingInput(modelT[i] as number, cfg.timestep_guidance_channels), [1, cfg.timestep_guidance_channels], 't');
      const v = transformerForward(ops, w, cfg, { txt, rope, targetTokens: n }, x, tIn);
      expectGolden(c, await ops.read(v), 'step_velocity', `${backend} step_velocity[${i}]`, 'step_velocity', { shape: [n, 128], data: goldenRows(vel, i * n, n) });
    }
  });

  it('VAE: last step latents → decoded', async () => {
    const ops = await makeOps();
    const c = await loadGoldenCase('t2i-64');
    const { cfg: all, w } = await loadGoldenComponent(ops, 'vae', (l, cfg) => loadDecoder(l, cfg.vae));
    const cfg = all.vae;
    const n = c.meta.image_seq_len;
    const last = goldenRows(goldenTensor(c.tensors, 'step_latents'), (c.meta.num_inference_steps - 1) * n, n);
    const h = c.meta.height / 16;
    const wd = c.meta.width / 16;
    const z = ops.latentUnpack(ops.fromHost(last, [n, 128], 'x'), w.bn.running_mean, w.bn.running_var, h, wd, cfg.batch_norm_eps);
    expectGolden(c, await ops.read(z), 'final_latents', `${backend} final_latents`);
    const rgb = decode(ops, w, cfg, ops.fromHost(last, [n, 128], 'x'), h, wd);
    expectGolden(c, await ops.read(rgb), 'decoded', `${backend} decoded`);
  });
});
