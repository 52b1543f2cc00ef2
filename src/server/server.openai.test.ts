/**
 * The OpenAI-compatible server against clients this project did not write: the official `openai`
 * package (images.generate / images.edit, streaming, its error classes) and `ai`'s generateImage
 * with `@ai-sdk/openai-compatible`, on the golden tiny model (CPU backend, 64² px, 1–3 steps).
 * A seeded image through the server must equal `npm run generate`'s PNG byte for byte.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { generateImage } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { decode as decodePng } from 'fast-png';
import { cliPng, GOLDEN_REF, goldenServer, testImage } from '../testing/server';
import { makeGoldenBaseModelDir } from '../testing/golden';
import type { RunningServer } from './serve';
import { MODEL_ID } from './imageRequest';

const KEY = 'sk-kleinbild-test';
const PROMPT = 'a red fox in the snow';
/** Extension fields the openai client passes through untouched (its types do not know them). */
type Ext = { seed?: number; steps?: number; guidance?: number; negative_prompt?: string };

let server: RunningServer & { lines: string[] };
let client: OpenAI;
let cliSeed7: Uint8Array;

beforeAll(async () => {
  server = await goldenServer({ apiKey: KEY, urlTtlMs: 4000 });
  client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
  cliSeed7 = await cliPng(['--prompt', PROMPT, '--width', '64', '--height', '64', '--steps', '1', '--seed', '7']);
});
afterAll(async () => {
  await server?.close();
});

const bytesOf = (b64: string | undefined) => new Uint8Array(Buffer.from(b64 ?? '', 'base64'));

describe('openai images.generate', () => {
  it('n = 2 runs seeds seed, seed+1; the second equals the CLI PNG for seed+1 byte for byte', async () => {
    const r = await client.images.generate({ model: MODEL_ID, prompt: PROMPT, size: '64x64' as '1024x1024', n: 2, ...({ seed: 6, steps: 1 } as Ext) });
    expect(r.data).toHaveLength(2);
    expect(r.data?.map((d) => (d as { seed?: number }).seed)).toEqual([6, 7]);
    expect(r.size).toBe('64x64');
    expect(r.output_format).toBe('png');
    const [a, b] = (r.data ?? []).map((d) => bytesOf(d.b64_json));
    expect(Buffer.from(b as Uint8Array).equals(Buffer.from(cliSeed7))).toBe(true);
    expect(Buffer.from(a as Uint8Array).equals(Buffer.from(cliSeed7))).toBe(false);
    const png = decodePng(a as Uint8Array);
    expect([png.width, png.height]).toEqual([64, 64]);
    expect(server.lines.some((l) => / POST \/v1\/images\/generations 200 \d+ ms size 64x64 n 2$/.test(l))).toBe(true);
  });

  it('response_format url serves a WebP until the TTL, then 404 in OpenAI shape', async () => {
    const r = await client.images.generate({ prompt: PROMPT, size: '64x64' as '1024x1024', response_format: 'url', output_format: 'webp', output_compression: 80, ...({ seed: 1, steps: 1 } as Ext) });
    const url = r.data?.[0]?.url as string;
    expect(url).toMatch(new RegExp(`^${server.url}/v1/images/files/[0-9a-f]{32}\\.webp$`));
    const got = await fetch(url); // no key needed: the id is the secret
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/webp');
    const b = new Uint8Array(await got.arrayBuffer());
    expect(Buffer.from(b.subarray(0, 4)).toString()).toBe('RIFF');
    expect(Buffer.from(b.subarray(8, 12)).toString()).toBe('WEBP');
    await new Promise((res) => setTimeout(res, 4200));
    const gone = await fetch(url);
    expect(gone.status).toBe(404);
    expect((await gone.json()).error.code).toBe('file_not_found');
  });

  it('streams partial images from the live previews, then the completed image', async () => {
    const stream = await client.images.generate({ prompt: PROMPT, size: '64x64' as '1024x1024', stream: true, partial_images: 2, output_format: 'jpeg', ...({ seed: 3, steps: 3 } as Ext) });
    const events: { type: string; b64_json: string; size?: string; partial_image_index?: number }[] = [];
    for await (const e of stream) events.push(e as (typeof events)[number]);
    expect(events.map((e) => e.type)).toEqual(['image_generation.partial_image', 'image_generation.partial_image', 'image_generation.completed']);
    expect(events.slice(0, 2).map((e) => e.partial_image_index)).toEqual([0, 1]);
    expect(events[0]?.size).toBe('8x8'); // previews are W/8 × H/8
    expect(events[2]?.size).toBe('64x64');
    for (const e of events) expect([...bytesOf(e.b64_json).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // JPEG
  });
});

describe('openai images.edit', () => {
  it('one PNG reference: size auto takes the reference\'s, and equals the CLI with --ref byte for byte', async () => {
    const ref = new Uint8Array(await readFile(GOLDEN_REF));
    const r = await client.images.edit({ image: await toFile(ref, 'ref0.png', { type: 'image/png' }), prompt: 'make it blue', ...({ seed: 5, steps: 1 } as Ext) });
    const got = bytesOf(r.data?.[0]?.b64_json);
    const { width, height } = decodePng(ref);
    const cli = await cliPng(['--prompt', 'make it blue', '--ref', GOLDEN_REF, '--steps', '1', '--seed', '5']);
    expect(r.size).toBe(`${decodePng(cli).width}x${decodePng(cli).height}`);
    expect([width, height].every((s) => s >= 64)).toBe(true);
    expect(Buffer.from(got).equals(Buffer.from(cli))).toBe(true);
  });

  it('four references in PNG, JPEG, WebP and PNG (image[]), streamed as image_edit events', async () => {
    const files = await Promise.all(
      (['png', 'jpeg', 'webp', 'png'] as const).map(async (f, i) => toFile(await testImage(80 + 16 * i, 64, f), `ref${i}.${f}`, { type: `image/${f}` })),
    );
    const stream = await client.images.edit({ image: files, prompt: 'combine them', size: '64x64' as '1024x1024', stream: true, partial_images: 1, ...({ seed: 2, steps: 1 } as Ext) });
    const events: { type: string; b64_json: string; size?: string }[] = [];
    for await (const e of stream) events.push(e as (typeof events)[number]);
    expect(events.map((e) => e.type)).toEqual(['image_edit.partial_image', 'image_edit.completed']);
    expect(decodePng(bytesOf(events[1]?.b64_json)).width).toBe(64);
    expect(server.lines.some((l) => / POST \/v1\/images\/edits 200 \d+ ms size 64x64 n 1 refs 4 stream$/.test(l))).toBe(true);
  });
});

describe('errors in OpenAI shape, through the openai client', () => {
  const gen = (body: Record<string, unknown>, c = client) => c.images.generate({ prompt: PROMPT, ...body } as never);
  const fails = async (p: Promise<unknown>) => {
    const e = await p.then(() => null, (err: unknown) => err);
    expect(e, 'the request must fail').toBeInstanceOf(OpenAI.APIError);
    return e as InstanceType<typeof OpenAI.APIError>;
  };

  it('400 names the field (param) for each bad value', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ size: '100x64' }, 'size'],
      [{ size: '2048x2064' }, 'size'],
      [{ size: '2048x2048', n: 11 }, 'n'],
      [{ response_format: 'gif' }, 'response_format'],
      [{ output_compression: 101 }, 'output_compression'],
      [{ background: 'transparent' }, 'background'],
      [{ partial_images: 4 }, 'partial_images'],
      [{ steps: 0 }, 'steps'],
      [{ seed: -1 }, 'seed'],
      [{ guidance: 3.5 }, 'guidance'],
      [{ negative_prompt: 'blurry' }, 'negative_prompt'],
      [{ colour: 'red' }, 'colour'],
    ];
    for (const [body, param] of cases) {
      const e = await fails(gen(body));
      expect(e, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e.param, JSON.stringify(body)).toBe(param);
      expect(e.type).toBe('invalid_request_error');
    }
    const missing = await fails(client.images.generate({} as never));
    expect([missing.status, missing.param, missing.code]).toEqual([400, 'prompt', 'missing_required_parameter']);
  });

  it('401 without or with a wrong key; 404 for another model and unknown routes', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${server.url}/v1`, maxRetries: 0 });
    const e401 = await fails(gen({}, wrong));
    expect(e401).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e401.code).toBe('invalid_api_key');
    const none = await fetch(`${server.url}/v1/models`);
    expect([none.status, none.headers.get('www-authenticate'), (await none.json()).error.code]).toEqual([401, 'Bearer', 'invalid_api_key']);
    const e404 = await fails(gen({ model: 'gpt-image-1' }));
    expect(e404).toBeInstanceOf(OpenAI.NotFoundError);
    expect([e404.param, e404.code]).toEqual(['model', 'model_not_found']);
    const route = await fetch(`${server.url}/v1/images/variations`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    expect(route.status).toBe(404);
    expect((await route.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url' });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([MODEL_ID]);
  });

  it('edits: a mask is refused by name, five images are too many, a non-image is named', async () => {
    const png = await testImage(64, 64, 'png');
    const mask = await fails(client.images.edit({ image: await toFile(png, 'a.png', { type: 'image/png' }), mask: await toFile(png, 'm.png', { type: 'image/png' }), prompt: 'x' }));
    expect([mask.status, mask.param, mask.code]).toEqual([400, 'mask', 'unsupported_parameter']);
    const five = await fails(client.images.edit({ image: await Promise.all([0, 1, 2, 3, 4].map((i) => toFile(png, `${i}.png`, { type: 'image/png' }))), prompt: 'x' }));
    expect([five.status, five.param, five.code]).toEqual([400, 'image', 'too_many_images']);
    const text = await fails(client.images.edit({ image: await toFile(Buffer.from('not an image'), 'a.png', { type: 'image/png' }), prompt: 'x' }));
    expect([text.status, text.param]).toEqual([400, 'image']);
    expect(text.message).toContain('image 1: not a PNG, JPEG or WebP');
  });

  it('413 for a JSON body over 1 MiB and for an image over --max-image-mb, before decoding', async () => {
    const big = await fetch(`${server.url}/v1/images/generations`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x'.repeat(1.5 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe('request_too_large');
    const huge = new Uint8Array(51 * 1024 * 1024); // over the default 50 MB
    huge.set(await testImage(64, 64, 'png'));
    const e = await fails(client.images.edit({ image: await toFile(huge, 'huge.png', { type: 'image/png' }), prompt: 'x' }));
    expect(e.status).toBe(413);
  });
});

describe('ai generateImage with @ai-sdk/openai-compatible', () => {
  it('returns the same PNG as the CLI for the same seed', async () => {
    const provider = createOpenAICompatible({ name: 'kleinbild', baseURL: `${server.url}/v1`, apiKey: KEY });
    const r = await generateImage({ model: provider.imageModel(MODEL_ID), prompt: PROMPT, size: '64x64', providerOptions: { kleinbild: { seed: 7, steps: 1 } }, maxRetries: 0 });
    expect(r.images).toHaveLength(1);
    expect(Buffer.from(r.images[0]?.uint8Array ?? []).equals(Buffer.from(cliSeed7))).toBe(true);
    expect(r.images[0]?.mediaType).toBe('image/png');
  });
});

describe('a base model: guidance and negative_prompt (extensions)', () => {
  it('run classifier-free guidance and equal the CLI with --guidance/--negative-prompt byte for byte', async () => {
    const base = await makeGoldenBaseModelDir();
    const s = await goldenServer({ model: base.dir });
    try {
      const c = new OpenAI({ apiKey: 'none', baseURL: `${s.url}/v1`, maxRetries: 0 });
      const body = { prompt: PROMPT, size: '64x64' as '1024x1024', ...({ seed: 3, steps: 2, guidance: 3.5, negative_prompt: 'blurry' } as Ext) };
      const r = await c.images.generate(body);
      const cli = await cliPng(['--model', base.dir, '--prompt', PROMPT, '--width', '64', '--height', '64', '--steps', '2', '--seed', '3', '--guidance', '3.5', '--negative-prompt', 'blurry']);
      expect(Buffer.from(bytesOf(r.data?.[0]?.b64_json)).equals(Buffer.from(cli))).toBe(true);
      const e = await c.images.generate({ ...body, ...({ guidance: 1 } as Ext) }).then(() => null, (err: unknown) => err);
      expect((e as InstanceType<typeof OpenAI.APIError>).param).toBe('negative_prompt'); // it would have no effect
    } finally {
      await s.close();
      await base.cleanup();
    }
  });
});
