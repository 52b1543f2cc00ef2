/**
 * LoRAs through the server: `--lora-dir` (a broken file logged and left out), GET /v1/models listing
 * them, the `loras` extension on generations (n > 1, streaming) and edits (the official client's
 * `loras[][name]` parts; our provider's JSON string), its 400s, and our AI SDK provider's
 * `providerOptions.kleinbild.loras` — each seeded image equal to the CLI's `--lora FILE:0.8` PNG byte
 * for byte. Golden tiny model, CPU backend, 64² px, 1 step; lora0 is the golden lora-aitk file.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { generateImage } from 'ai';
import { createKleinbild, KLEIN_MODEL_ID } from '../sdk';
import { LORA0_PATH, lora0Bytes } from '../testing/loraFiles';
import { cliPng, GOLDEN_REF, goldenServer } from '../testing/server';
import { ApiError } from './apiError';
import { MODEL_ID, parseLoras } from './imageRequest';
import { LoraParts } from './images';
import type { RunningServer } from './serve';

const KEY = 'sk-lora-test';
const PROMPT = 'a lighthouse on a cliff';
const EDIT = 'make it blue';
const LORA = [{ name: 'lora0', strength: 0.8 }];
/** Extension fields the openai client passes through untouched. */
type Ext = { seed?: number; steps?: number; loras?: unknown };

let dir: string;
let server: RunningServer & { lines: string[] };
let client: OpenAI;
/** The CLI with --lora lora0:0.8 at seed 5: text-to-image 64², and the edit of GOLDEN_REF. */
let cliGen: Uint8Array;
let cliEdit: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kleinbild-loras-'));
  await copyFile(LORA0_PATH, join(dir, 'lora0.safetensors'));
  const bytes = lora0Bytes();
  await writeFile(join(dir, 'broken.safetensors'), bytes.subarray(0, bytes.length >> 1)); // truncated
  await writeFile(join(dir, 'notes.txt'), 'not a LoRA');
  server = await goldenServer({ apiKey: KEY, loraDir: dir });
  client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
  const lora = ['--lora', `${LORA0_PATH}:0.8`, '--steps', '1', '--seed', '5'];
  cliGen = await cliPng(['--prompt', PROMPT, '--width', '64', '--height', '64', ...lora]);
  cliEdit = await cliPng(['--prompt', EDIT, '--ref', GOLDEN_REF, ...lora]);
}, 60_000);
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bytesOf = (b64: string | undefined) => new Uint8Array(Buffer.from(b64 ?? '', 'base64'));
const same = (a: Uint8Array | undefined, b: Uint8Array) => Buffer.from(a ?? []).equals(Buffer.from(b));
const gen = (ext: Ext, n = 1) => client.images.generate({ prompt: PROMPT, size: '64x64' as '1024x1024', n, ...(ext as object) });
const fails = async (p: Promise<unknown>) => {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, 'the request must fail').toBeInstanceOf(OpenAI.APIError);
  return e as InstanceType<typeof OpenAI.APIError>;
};

describe('--lora-dir', () => {
  it('offers lora0 in GET /v1/models; the truncated file is logged by name and left out', async () => {
    const lora0 = { id: 'lora0', format: 'ai-toolkit', rank: 4 };
    expect((await client.models.list()).data).toEqual([expect.objectContaining({ id: MODEL_ID, loras: [lora0] })]);
    expect(await client.models.retrieve(MODEL_ID)).toMatchObject({ loras: [lora0] });
    const skipped = server.lines.filter((l) => l.includes('broken.safetensors'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/broken\.safetensors skipped, not offered: LoRA "broken": .+/);
    expect(server.lines.some((l) => l.startsWith('LoRA "lora0" (lora0.safetensors): ai-toolkit naming, rank 4'))).toBe(true);
    expect(server.lines.join('\n')).not.toContain('notes');
  });
});

describe('loras on /v1/images/generations (openai client)', () => {
  it('n = 2 applies it to both; image 2 (seed 5) equals the CLI with --lora :0.8; without it differs', async () => {
    const r = await gen({ seed: 4, steps: 1, loras: LORA }, 2);
    expect(r.data?.map((d) => (d as { seed?: number }).seed)).toEqual([4, 5]);
    expect(same(bytesOf(r.data?.[1]?.b64_json), cliGen)).toBe(true);
    expect(server.lines.some((l) => / POST \/v1\/images\/generations 200 \d+ ms size 64x64 n 2 loras 1$/.test(l))).toBe(true);
    const plain = await gen({ seed: 5, steps: 1 });
    expect(same(bytesOf(plain.data?.[0]?.b64_json), cliGen)).toBe(false);
  });

  it('streaming: the completed image equals the CLI too', async () => {
    const stream = await client.images.generate({ prompt: PROMPT, size: '64x64' as '1024x1024', stream: true, ...({ seed: 5, steps: 1, loras: LORA } as Ext) });
    const events: { type: string; b64_json: string }[] = [];
    for await (const e of stream) events.push(e as (typeof events)[number]);
    expect(events.map((e) => e.type)).toEqual(['image_generation.completed']);
    expect(same(bytesOf(events[0]?.b64_json), cliGen)).toBe(true);
  });
});

describe('loras on /v1/images/edits', () => {
  // (The JSON-string form of the field is what our SDK provider sends: its edit below.)
  it("the openai client's loras[][name] / loras[][strength] parts: equal to the CLI with --ref --lora", async () => {
    const ref = new Uint8Array(await readFile(GOLDEN_REF));
    const r = await client.images.edit({ image: await toFile(ref, 'ref0.png', { type: 'image/png' }), prompt: EDIT, ...({ seed: 5, steps: 1, loras: LORA } as Ext) });
    expect(same(bytesOf(r.data?.[0]?.b64_json), cliEdit)).toBe(true);
    expect(server.lines.some((l) => / POST \/v1\/images\/edits 200 \d+ ms size \d+x\d+ n 1 refs 1 loras 1$/.test(l))).toBe(true);
  });
});

describe('loras errors (before any generation)', () => {
  it('400 lora_not_found names the available LoRAs, on generations and edits', async () => {
    const e = await fails(gen({ loras: [{ name: 'broken' }] }));
    expect([e.status, e.param, e.code]).toEqual([400, 'loras', 'lora_not_found']);
    expect(e.message).toContain('LoRA "broken" is not loaded on this server; available: "lora0"');
    const png = await toFile(await readFile(GOLDEN_REF), 'a.png', { type: 'image/png' });
    const edit = await fails(client.images.edit({ image: png, prompt: EDIT, ...({ loras: [{ name: 'lora0' }, { name: 'style', strength: 1 }] } as Ext) }));
    expect([edit.status, edit.code]).toEqual([400, 'lora_not_found']);
    expect(edit.message).toContain('LoRA "style" is not loaded');
  });

  it('400 invalid_lora for a bad shape or strength', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'lora0' }, /must be a list/],
      [[{ name: 'lora0', strength: 11 }], /strength 11 is invalid, use a number from -10 to 10/],
      [[{ name: 'lora0', strength: '1' }], /'loras\[0\]\.strength' must be a number/],
      [[{ strength: 1 }], /'loras\[0\]\.name' must be a non-empty string/],
      [[{ name: 'lora0', weight: 1 }], /unknown key 'weight'/],
      [[{ name: 'lora0' }, { name: 'lora0', strength: 0.5 }], /listed twice/],
      [Array.from({ length: 17 }, (_, i) => ({ name: `l${i}` })), /at most 16/],
    ];
    for (const [loras, message] of cases) {
      const e = await fails(gen({ loras }));
      expect([e.status, e.param, e.code], JSON.stringify(loras)).toEqual([400, 'loras', 'invalid_lora']);
      expect(e.message).toMatch(message);
    }
    const png = await toFile(await readFile(GOLDEN_REF), 'a.png', { type: 'image/png' });
    const edit = await fails(client.images.edit({ image: png, prompt: EDIT, ...({ loras: '[{"name": "lora0"' } as Ext) }));
    expect([edit.status, edit.param, edit.code]).toEqual([400, 'loras', 'invalid_lora']);
  });
});

describe('our AI SDK provider: providerOptions.kleinbild.loras', () => {
  it('generations and edits equal the CLI with --lora :0.8 byte for byte', async () => {
    const model = createKleinbild({ baseURL: `${server.url}/v1`, apiKey: KEY }).image(KLEIN_MODEL_ID);
    const providerOptions = { kleinbild: { steps: 1, loras: LORA } };
    const r = await generateImage({ model, prompt: PROMPT, size: '64x64', seed: 5, providerOptions, maxRetries: 0 });
    expect(same(r.images[0]?.uint8Array, cliGen)).toBe(true);
    const edit = await generateImage({ model, prompt: { text: EDIT, images: [new Uint8Array(await readFile(GOLDEN_REF))] }, seed: 5, providerOptions, maxRetries: 0 });
    expect(same(edit.images[0]?.uint8Array, cliEdit)).toBe(true);
    expect(edit.warnings).toEqual([]);
  });
});

describe('parseLoras (unit)', () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (e instanceof ApiError) return [e.status, e.param, e.code];
      throw e;
    }
    return expect.fail('expected an ApiError');
  };
  it('fills in strength 1; multipart: JSON strings and bracket parts with string strengths', () => {
    expect(parseLoras([{ name: 'a' }, { name: 'b', strength: -0.5 }], false, ['a', 'b'])).toEqual([{ name: 'a', strength: 1 }, { name: 'b', strength: -0.5 }]);
    expect(parseLoras('[{"name": "a", "strength": 2}]', true)).toEqual([{ name: 'a', strength: 2 }]);
    expect(parseLoras([{ name: 'a', strength: '0.25' }], true)).toEqual([{ name: 'a', strength: 0.25 }]);
    expect(parseLoras(undefined, false)).toBeUndefined();
    expect(parseLoras('', true)).toBeUndefined();
    expect(parseLoras([], false, [])).toEqual([]);
  });
  it('LoraParts: loras[][key] parts in order (a repeated key starts the next entry), or indexed', () => {
    const parts = new LoraParts();
    for (const [k, v] of [['loras[][name]', 'a'], ['loras[][strength]', '0.5'], ['loras[][name]', 'b'], ['prompt', 'x']]) parts.take(k as string, v as string);
    expect(parts.entries).toEqual([{ name: 'a', strength: '0.5' }, { name: 'b' }]);
    expect(parseLoras(parts.entries, true)).toEqual([{ name: 'a', strength: 0.5 }, { name: 'b', strength: 1 }]);
    const indexed = new LoraParts();
    for (const [k, v] of [['loras[0][name]', 'a'], ['loras[1][name]', 'b'], ['loras[0][strength]', '2']]) indexed.take(k as string, v as string);
    expect(indexed.entries).toEqual([{ name: 'a', strength: '2' }, { name: 'b' }]);
    expect(err(() => new LoraParts().take('loras[3][name]', 'a'))).toEqual([400, 'loras', 'invalid_lora']);
  });

  it('refuses strings in JSON, unknown names, non-finite strengths', () => {
    expect(err(() => parseLoras('[{"name": "a"}]', false))).toEqual([400, 'loras', 'invalid_lora']);
    expect(err(() => parseLoras([{ name: 'a', strength: '0.25' }], false))).toEqual([400, 'loras', 'invalid_lora']);
    expect(err(() => parseLoras([{ name: 'c' }], false, ['a']))).toEqual([400, 'loras', 'lora_not_found']);
    expect(err(() => parseLoras([{ name: 'a', strength: 'Infinity' }], true))).toEqual([400, 'loras', 'invalid_lora']);
  });
});
