/**
 * The CLI reproduces the golden cfg-64 case end to end on Dawn/WebGPU: the base variant of model-a
 * (model-a's folders linked into a temporary folder beside a model_index.json without
 * `"is_distilled": true`; test/golden/README.md), guidance 3.5 against the empty negative prompt,
 * 3 steps of one transformer pass over a batch of 2 each (--cfg-mode batch; the two-pass mode gives the
 * same bits: src/pipeline/guidance.test.ts, src/model/transformerBatch.test.ts), injected noise → dump of every golden tensor, the CFG ones
 * included (negative_input_ids / _attention_mask exactly; negative_prompt_embeds, step_velocity_cond,
 * step_velocity_uncond, step_velocity = uncond + 3.5·(cond − uncond), …), compared with the fp32
 * tolerances of case.json, and the PNG level by level. Slow on SwiftShader (3.4 min on a busy 2-core machine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { goldenTensor, loadGoldenCase, makeGoldenBaseModelDir } from '../testing/golden';
import { expectGolden, expectGoldenPng } from '../testing/goldenCompare';
import { parseSafetensors } from '../weights/safetensors';
import { main } from './generate';

describe('npm run generate on the golden cfg-64 case (base model, CFG 3.5)', () => {
  let model: Awaited<ReturnType<typeof makeGoldenBaseModelDir>>;
  let dir = '';
  beforeAll(async () => {
    model = await makeGoldenBaseModelDir();
    dir = await mkdtemp(join(tmpdir(), 'kleinbild-cli-cfg-'));
  });
  afterAll(async () => {
    await model.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('matches every golden tensor and the PNG', async () => {
    const c = await loadGoldenCase('cfg-64');
    const m = c.meta;
    expect([m.is_distilled, m.cfg_active, m.negative_prompt]).toEqual([false, true, '']);
    const out = join(dir, 'out.png');
    const code = await main([
      '--model', model.dir, '--prompt', m.prompt, '--negative-prompt', m.negative_prompt ?? '', '--guidance', String(m.guidance_scale),
      '--width', String(m.width), '--height', String(m.height), '--steps', String(m.num_inference_steps), '--seed', String(m.seed),
      '--latents', join(c.dir, 'tensors.safetensors'), '--dump', dir, '--out', out,
      '--precision', 'f32', // the float32 tolerances
      '--cfg-mode', 'batch',
    ]);
    expect(code).toBe(0);
    const dump = parseSafetensors(new Uint8Array(await readFile(join(dir, 'tensors.safetensors'))));
    const f32 = (name: string) => {
      const t = dump.get(name);
      if (!t) throw new Error(`dump lacks ${name}`);
      expect(t.info.shape, `${name} shape`).toEqual(goldenTensor(c.tensors, name).shape);
      return new Float32Array(t.bytes.slice().buffer);
    };
    for (const t of ['input_ids', 'attention_mask', 'negative_input_ids', 'negative_attention_mask']) {
      const got = dump.get(t);
      if (!got) throw new Error(`dump lacks ${t}`);
      expect([...new BigInt64Array(got.bytes.slice().buffer)], t).toEqual([...(goldenTensor(c.tensors, t).data as BigInt64Array)]);
    }
    expect([...f32('sigmas')]).toEqual([...(goldenTensor(c.tensors, 'sigmas').data as Float32Array)]);
    const compared = ['prompt_embeds', 'negative_prompt_embeds', 'step_velocity_cond', 'step_velocity_uncond', 'step_velocity', 'step_latents', 'final_latents', 'decoded', 'image'];
    for (const t of compared) expectGolden(c, f32(t), t, `cli ${t}`);
    // PNG: at most 1 level off anywhere, ≤ 0.05 levels on average (README §5, image_png_fp32)
    const got = decodePng(await readFile(out));
    const want = decodePng(await readFile(join(c.dir, 'image.png')));
    expectGoldenPng(c, got, want, 'cfg-64 cli image.png');
  });
});
