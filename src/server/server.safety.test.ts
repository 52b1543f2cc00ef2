/**
 * `npm run serve -- --safety` against clients this project did not write (the official `openai`
 * package, `ai`'s generateImage with our provider), on the golden tiny model (CPU backend, 64², 1 step)
 * with the test classifier (test/fixtures/safety-classifier). The tiny model's images are a dull
 * grey-green that the classifier calls "normal" (score ≈ 1): a server flagging "normal" refuses every
 * image, one flagging "nsfw" (the default label) passes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { generateImage } from 'ai';
import { APICallError } from '@ai-sdk/provider';
import { createKleinbild, KLEIN_MODEL_ID } from '../sdk';
import { goldenServer } from '../testing/server';
import { FIXTURE_SAFETY } from '../testing/safety';
import { main as serveMain, type RunningServer } from './serve';
import { MODEL_ID } from './imageRequest';

const PROMPT = 'a lighthouse at dusk';
type Ext = { seed?: number; steps?: number };

let blocking: RunningServer & { lines: string[] };
let passing: RunningServer & { lines: string[] };
const clientOf = (s: RunningServer) => new OpenAI({ apiKey: 'unused', baseURL: `${s.url}/v1`, maxRetries: 0 });

beforeAll(async () => {
  blocking = await goldenServer({ safety: { ...FIXTURE_SAFETY, flaggedLabels: ['normal'], threshold: 0.9 } });
  passing = await goldenServer({ safety: FIXTURE_SAFETY });
});
afterAll(async () => {
  await blocking?.close();
  await passing?.close();
});

describe('serve --safety', () => {
  it('a flagged image fails with 400 moderation_blocked in OpenAI shape (openai BadRequestError)', async () => {
    const e = await clientOf(blocking).images.generate({ model: MODEL_ID, prompt: PROMPT, size: '64x64' as '1024x1024', ...({ seed: 7, steps: 1 } as Ext) }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    const b = e as InstanceType<typeof OpenAI.BadRequestError>;
    expect([b.status, b.type, b.param, b.code]).toEqual([400, 'invalid_request_error', null, 'moderation_blocked']);
    expect(b.message).toMatch(/rejected by the safety system: the generated image was flagged by the safety checker \(normal 1\.0000, nsfw 0\.0000; flagged at ≥ 0\.9 for normal\)/);
    expect(blocking.lines.some((l) => / POST \/v1\/images\/generations 400 \d+ ms size 64x64 n 1 moderation_blocked \(image 1: normal 1\.0000, nsfw 0\.0000\)$/.test(l))).toBe(true);
  });

  it('streaming sends no partial image of a flagged result: the request fails with the same 400', async () => {
    const e = await clientOf(blocking).images
      .generate({ prompt: PROMPT, size: '64x64' as '1024x1024', stream: true, partial_images: 2, ...({ seed: 3, steps: 3 } as Ext) })
      .then(async (stream) => {
        const types: string[] = [];
        for await (const ev of stream) types.push(ev.type);
        return types;
      }, (err: unknown) => err);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('moderation_blocked');
  });

  it('an unflagged image is returned; streaming then sends the completed image only', async () => {
    const client = clientOf(passing);
    const r = await client.images.generate({ prompt: PROMPT, size: '64x64' as '1024x1024', ...({ seed: 7, steps: 1 } as Ext) });
    expect(Buffer.from(r.data?.[0]?.b64_json ?? '', 'base64').subarray(1, 4).toString()).toBe('PNG');
    const stream = await client.images.generate({ prompt: PROMPT, size: '64x64' as '1024x1024', stream: true, partial_images: 2, ...({ seed: 3, steps: 3 } as Ext) });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toEqual(['image_generation.completed']);
    const health = (await (await fetch(`${passing.url}/healthz`)).json()) as { safety: unknown };
    expect(health.safety).toEqual({ model: FIXTURE_SAFETY.model, flagged_labels: ['nsfw'], threshold: 0.5 });
  });

  it('our AI SDK provider surfaces moderation_blocked as an APICallError', async () => {
    const model = createKleinbild({ baseURL: `${blocking.url}/v1` }).image(KLEIN_MODEL_ID);
    const e = await generateImage({ model, prompt: PROMPT, size: '64x64', seed: 7, providerOptions: { kleinbild: { steps: 1 } }, maxRetries: 0 }).then(() => null, (err: unknown) => err);
    expect(APICallError.isInstance(e)).toBe(true);
    const a = e as APICallError;
    expect([a.statusCode, a.isRetryable]).toEqual([400, false]);
    expect(a.message).toContain('rejected by the safety system');
    expect(JSON.parse(a.responseBody ?? '{}').error.code).toBe('moderation_blocked');
  });

  it('bad safety options stop `npm run serve` before it listens or loads', async () => {
    await expect(serveMain(['--model', '/no/such/model', '--safety', '--safety-threshold', '2'])).rejects.toThrow(/--safety-threshold must be a number from 0 to 1/);
    await expect(serveMain(['--model', '/no/such/model', '--safety-labels', 'nsfw'])).rejects.toThrow(/--safety-labels needs --safety/);
    await expect(serveMain(['--model', '/no/such/model', '--port', '0', '--safety', '--safety-model', FIXTURE_SAFETY.model, '--safety-labels', 'porn'])).rejects.toThrow(/label\(s\) porn not among its labels/);
  });
});
