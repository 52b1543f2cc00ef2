/**
 * Our AI SDK provider (src/sdk/, server mode) with `ai`'s generateImage against the real server on
 * the golden tiny model (CPU backend): the same PNG as the CLI for a seed, edits with reference
 * images, the mask warning, errors as APICallError, and an abort that frees the server's queue.
 * (Local mode runs in Chromium: e2e/sdk.spec.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateImage } from 'ai';
import { APICallError } from '@ai-sdk/provider';
import { decode as decodePng } from 'fast-png';
import { createKleinbild, KLEIN_MODEL_ID } from '../sdk';
import { cliPng, goldenServer, testImage, waitFor } from '../testing/server';
import type { RunningServer } from './serve';

const KEY = 'sk-sdk-test';
const PROMPT = 'a paper boat on a pond';

let server: RunningServer & { lines: string[] };
let model: ReturnType<ReturnType<typeof createKleinbild>['image']>;

beforeAll(async () => {
  server = await goldenServer({ apiKey: KEY });
  model = createKleinbild({ baseURL: `${server.url}/v1`, apiKey: KEY }).image(KLEIN_MODEL_ID);
});
afterAll(async () => {
  await server?.close();
});

describe('ai generateImage with kleinbild.image() in server mode', () => {
  it('a seeded image equals the CLI PNG byte for byte; the seed comes back in providerMetadata', async () => {
    const [r, cli] = [
      await generateImage({ model, prompt: PROMPT, size: '64x64', seed: 4, providerOptions: { kleinbild: { steps: 1 } }, maxRetries: 0 }),
      await cliPng(['--prompt', PROMPT, '--width', '64', '--height', '64', '--steps', '1', '--seed', '4']),
    ];
    expect(r.images).toHaveLength(1);
    expect(Buffer.from(r.images[0]?.uint8Array ?? []).equals(Buffer.from(cli))).toBe(true);
    expect(r.providerMetadata.kleinbild?.images).toEqual([{ seed: 4 }]);
    expect(r.warnings).toEqual([]);
  });

  it('edits with two references (prompt.images); a mask is a warning and is not sent', async () => {
    const images = [await testImage(96, 64, 'png'), await testImage(64, 80, 'jpeg')];
    const r = await generateImage({
      model, prompt: { text: 'put them side by side', images, mask: await testImage(96, 64, 'png') }, size: '64x64', seed: 2,
      providerOptions: { kleinbild: { steps: 1, outputFormat: 'webp' } }, maxRetries: 0,
    });
    expect(r.images[0]?.mediaType).toBe('image/webp');
    expect(r.warnings.map((w) => (w as { feature?: string }).feature)).toContain('mask');
    expect(server.lines.some((l) => / POST \/v1\/images\/edits 200 \d+ ms size 64x64 n 1 refs 2$/.test(l))).toBe(true);
  });

  it('a 400 from the server is an APICallError with its message; a wrong key a 401', async () => {
    const e = await generateImage({ model, prompt: PROMPT, size: '100x64', maxRetries: 0 }).then(() => null, (err: unknown) => err);
    expect(APICallError.isInstance(e)).toBe(true);
    const a = e as APICallError;
    expect([a.statusCode, a.isRetryable]).toEqual([400, false]);
    expect(a.message).toContain("'size' 100x64 is invalid");
    const wrong = createKleinbild({ baseURL: `${server.url}/v1`, apiKey: 'nope' }).image(KLEIN_MODEL_ID);
    const e401 = await generateImage({ model: wrong, prompt: PROMPT, size: '64x64', maxRetries: 0 }).then(() => null, (err: unknown) => err);
    expect((e401 as APICallError).statusCode).toBe(401);
  });

  it('abortSignal cancels the running generation on the server', async () => {
    const ac = new AbortController();
    const p = generateImage({ model, prompt: PROMPT, size: '64x64', n: 10, seed: 1, providerOptions: { kleinbild: { steps: 4 } }, abortSignal: ac.signal, maxRetries: 0 }).catch((e: unknown) => e);
    const health = async () => (await (await fetch(`${server.url}/healthz`)).json()) as { queue: { running: number } };
    expect(await waitFor(async () => (await health()).queue.running === 1, 15_000)).toBe(true);
    ac.abort();
    expect(await p).toBeInstanceOf(Error);
    expect(await waitFor(async () => (await health()).queue.running === 0, 10_000)).toBe(true); // not the ≥ 60 s of 10 images
    const png = decodePng((await generateImage({ model, prompt: PROMPT, size: '64x64', seed: 3, providerOptions: { kleinbild: { steps: 1 } }, maxRetries: 0 })).images[0]?.uint8Array ?? new Uint8Array());
    expect([png.width, png.height]).toEqual([64, 64]);
  });
});
