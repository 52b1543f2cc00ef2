/**
 * The CLI reproduces the golden cases end to end (Dawn/WebGPU): prompt (+ --ref reference PNGs, + --lora
 * file:strength applied at run time) +
 * injected noise → dump of every golden tensor, compared stage by stage, and the PNG level by level.
 * Slow on SwiftShader (≈ 1.5–2 min per case).
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { GOLDEN_DIR, goldenTensor, loadGoldenCase } from '../testing/golden';
import { expectGolden, expectGoldenPng } from '../testing/goldenCompare';
import { parseSafetensors } from '../weights/safetensors';
import { main } from './generate';

describe.each(['t2i-64', 'edit-1ref', 'lora-aitk'] as const)('npm run generate on the golden %s case', (name) => {
  it('matches every golden tensor and the PNG', async () => {
    const c = await loadGoldenCase(name);
    const dir = await mkdtemp(join(tmpdir(), 'kleinbild-cli-'));
    const out = join(dir, 'out.png');
    const m = c.meta;
    const code = await main([
      '--model', join(GOLDEN_DIR, 'model-a'), '--prompt', m.prompt,
      ...m.reference_images.flatMap((r) => ['--ref', join(c.dir, r.file)]),
      ...(m.loras ?? []).flatMap((l) => ['--lora', `${join(c.dir, l.file)}:${l.strength}`]),
      '--width', String(m.width), '--height', String(m.height), '--steps', String(m.num_inference_steps), '--seed', String(m.seed),
      '--latents', join(c.dir, 'tensors.safetensors'), '--dump', dir, '--out', out,
      '--precision', 'f32', // the float32 tolerances (f16 on lavapipe: src/pipeline/precision.test.ts)
    ]);
    expect(code).toBe(0);
    const dump = parseSafetensors(new Uint8Array(await readFile(join(dir, 'tensors.safetensors'))));
    const f32 = (name: string) => {
      const t = dump.get(name);
      if (!t) throw new Error(`dump lacks ${name}`);
      expect(t.info.shape, `${name} shape`).toEqual(goldenTensor(c.tensors, name).shape);
      return new Float32Array(t.bytes.slice().buffer);
    };
    const refs = m.reference_images.length > 0;
    for (const t of ['input_ids', 'attention_mask', ...(refs ? ['ref_ids'] : [])]) {
      const got = new BigInt64Array(dump.get(t)!.bytes.slice().buffer);
      expect([...got], t).toEqual([...(goldenTensor(c.tensors, t).data as BigInt64Array)]);
    }
    expect([...f32('sigmas')]).toEqual([...(goldenTensor(c.tensors, 'sigmas').data as Float32Array)]);
    const compared = ['prompt_embeds', ...(refs ? ['ref0_pixels', 'ref0_latent', 'ref_tokens'] : []), 'step_velocity', 'step_latents', 'final_latents', 'decoded', 'image'];
    for (const t of compared) expectGolden(c, f32(t), t, `cli ${t}`);
    // PNG: at most 1 level off anywhere, ≤ 0.05 levels on average (README §5, image_png_fp32)
    const got = decodePng(await readFile(out));
    const want = decodePng(await readFile(join(c.dir, 'image.png')));
    expectGoldenPng(c, got, want, `${name} cli image.png`);
  });
});
