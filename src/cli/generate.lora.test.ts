/**
 * `npm run generate -- --lora FILE_OR_URL[:STRENGTH]` on the golden lora-aitk case (CPU backend; the
 * Dawn run of the ai-toolkit file is in generate.golden.test.ts): kohya and diffusers/PEFT copies of
 * lora0 (one from disk, one fetched over http) and lora0 split into two LoRAs of strength 0.5 all
 * reproduce the golden tensors within the fp32 tolerances; bad --lora arguments and files are refused
 * before the model loads.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOLDEN_DIR, loadGoldenCase } from '../testing/golden';
import { expectGolden } from '../testing/goldenCompare';
import { LORA0_PATH, loraFile, toKohya, toPeft } from '../testing/loraFiles';
import { Pipeline } from '../pipeline/generate';
import { parseSafetensors } from '../weights/safetensors';
import { parseLoraArg } from './loraArgs';
import { main } from './generate';

describe('--lora arguments', () => {
  it('splits FILE_OR_URL[:STRENGTH] at the last colon when a number follows', () => {
    expect(parseLoraArg('a.safetensors')).toEqual({ source: 'a.safetensors', strength: 1 });
    expect(parseLoraArg('dir/a.safetensors:0.8')).toEqual({ source: 'dir/a.safetensors', strength: 0.8 });
    expect(parseLoraArg('a.safetensors:-1.5')).toEqual({ source: 'a.safetensors', strength: -1.5 });
    expect(parseLoraArg('https://host:8080/x.safetensors')).toEqual({ source: 'https://host:8080/x.safetensors', strength: 1 });
    expect(parseLoraArg('https://host:8080/x.safetensors:.5')).toEqual({ source: 'https://host:8080/x.safetensors', strength: 0.5 });
    expect(() => parseLoraArg(':1')).toThrow(/give a .safetensors file or URL/);
    expect(() => parseLoraArg('a.safetensors:12')).toThrow(/strength 12 is outside -10…10/);
  });
});

describe('npm run generate --lora on the golden lora-aitk case (cpu)', () => {
  let dir = '';
  let server: Server;
  let base = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kleinbild-cli-lora-'));
    await writeFile(join(dir, 'kohya.safetensors'), toKohya(2));
    const peft = toPeft('transformer.', () => 2, 'BF16', { lora_adapter_metadata: JSON.stringify({ 'transformer.r': 4, 'transformer.lora_alpha': 2 }) });
    server = createServer((req, res) => {
      if (req.url === '/peft.safetensors') res.end(peft);
      else res.writeHead(404).end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const args = async (out: string, ...extra: string[]) => {
    const m = (await loadGoldenCase('lora-aitk')).meta;
    return [
      '--model', join(GOLDEN_DIR, 'model-a'), '--prompt', m.prompt, '--width', String(m.width), '--height', String(m.height),
      '--steps', String(m.num_inference_steps), '--seed', String(m.seed), '--latents', join(GOLDEN_DIR, 'cases/lora-aitk/tensors.safetensors'),
      '--backend', 'cpu', '--dump', out, '--out', join(out, 'out.png'), ...extra,
    ];
  };

  const cases: [string, (d: string) => Promise<string[]>][] = [
    ['kohya copy from disk (alpha 2)', async (d) => ['--lora', join(d, 'kohya.safetensors')]],
    ['PEFT copy over http (lora_alpha 2 in the metadata)', async () => ['--lora', `${base}/peft.safetensors:1`]],
    ['lora0 as two LoRAs of strength 0.5', async (d) => {
      await copyFile(LORA0_PATH, join(d, 'half.safetensors'));
      return ['--lora', `${LORA0_PATH}:0.5`, '--lora', `${join(d, 'half.safetensors')}:0.5`];
    }],
  ];
  it.each(cases)('%s reproduces the golden tensors', async (label, lora) => {
    const out = await mkdtemp(join(dir, 'run-'));
    expect(await main(await args(out, ...(await lora(dir))))).toBe(0);
    const c = await loadGoldenCase('lora-aitk');
    const dump = parseSafetensors(new Uint8Array(await readFile(join(out, 'tensors.safetensors'))));
    for (const t of ['step_velocity', 'final_latents', 'image']) {
      const got = dump.get(t);
      if (!got) throw new Error(`dump lacks ${t}`);
      expectGolden(c, new Float32Array(got.bytes.slice().buffer), t, `cli ${label} ${t}`);
    }
  });

  it('refuses bad --lora arguments and files before the model loads', async () => {
    const load = vi.spyOn(Pipeline, 'load');
    const out = join(dir, 'refused');
    await writeFile(join(dir, 'fake.safetensors'), new Uint8Array(await readFile(join(GOLDEN_DIR, 'cases/lora-aitk/image.png'))));
    await writeFile(join(dir, 'cut.safetensors'), (await readFile(LORA0_PATH)).subarray(0, 4000));
    const other = loraFile({ 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': { shape: [4, 8], data: new Float32Array(32) } });
    await writeFile(join(dir, 'te.safetensors'), other);
    const refused: [string, RegExp][] = [
      [join(dir, 'missing.safetensors'), /--lora .*missing.safetensors: cannot be read/],
      [join(dir, 'fake.safetensors'), /LoRA ".*fake.safetensors": not a LoRA .safetensors file, or truncated/],
      [join(dir, 'cut.safetensors'), /LoRA ".*cut.safetensors": not a LoRA .safetensors file, or truncated/],
      [join(dir, 'te.safetensors'), /text encoder/i],
      [`${base}/nothing.safetensors`, /--lora .*nothing.safetensors: the server answered 404/],
      [`${LORA0_PATH}:20`, /strength 20 is outside/],
    ];
    for (const [arg, re] of refused) await expect(main(await args(out, '--lora', arg)), arg).rejects.toThrow(re);
    await expect(main(await args(out, '--lora', LORA0_PATH, '--lora', `${LORA0_PATH}:2`))).rejects.toThrow(/listed twice/);
    expect(load).not.toHaveBeenCalled();
    load.mockRestore();
  });
});
