/**
 * explainError on the messages the engine really writes: HttpSource answering 401/403/404/503 and a
 * fetch that never gets a response (fetch replaced by one returning real Responses), the plan's
 * refusal of a size the GPU cannot hold, and the store's error classes.
 */
import { describe, expect, it } from 'vitest';
import { openSource } from '../weights/httpSource';
import { goldenConfigs } from '../testing/golden';
import { checkFits, runPlan } from '../pipeline/plan';
import { DeviceLost, IntegrityFailure, StorageFull, WebGpuUnavailable } from '../errors';
import { explainError } from './explainError';

/** The error HttpSource throws for config.json when every fetch gives `respond()` (one attempt). */
async function sourceError(respond: () => Promise<Response>): Promise<Error> {
  const src = openSource('owner/model', { fetch: respond as typeof fetch, hubUrl: 'https://hub.test', retry: { attempts: 1 } });
  return src.json('model_index.json').then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error) => e,
  );
}
const status = (s: number, text: string) => () => Promise.resolve(new Response('no', { status: s, statusText: text }));
const noResponse = () => Promise.reject(new TypeError('Failed to fetch'));

describe('explainError', () => {
  it('HTTP answers: refused (401, 403), not found (404), busy (429, 5xx)', async () => {
    for (const [code, text] of [[401, 'Unauthorized'], [403, 'Forbidden']] as const) {
      expect(explainError(await sourceError(status(code, text)), true)?.title).toBe('The model host refused access.');
    }
    const missing = await sourceError(status(404, 'Not Found'));
    expect(missing.message).toContain('file not found in model owner/model');
    expect(explainError(missing, true)).toEqual({
      title: 'The model was not found there.',
      advice: 'Check the name (owner/name on Hugging Face) or the link (a folder with model_index.json, or a Kleinbild pack).',
    });
    expect(explainError(await sourceError(status(503, 'Service Unavailable')), true)?.title).toBe('The model host is busy or failing.');
    expect(explainError(await sourceError(status(429, 'Too Many Requests')), true)?.title).toBe('The model host is busy or failing.');
  });

  it('no response: offline when the browser says so, else unreachable or CORS', async () => {
    const e = await sourceError(noResponse);
    expect(e.message).toMatch(/network error: Failed to fetch/);
    expect(explainError(e, false)?.title).toBe('This browser is offline.');
    const online = explainError(e, true);
    expect(online?.title).toBe('The model host could not be reached.');
    expect(online?.advice).toContain('(CORS)');
  });

  it('a size the GPU cannot hold names the largest size that fits', async () => {
    const configs = await goldenConfigs();
    const fits = await runPlan({ configs, width: 128, height: 64, steps: 1 });
    const limits = { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: fits.maxBindingBytes };
    const e = (await checkFits({ configs }, { width: 512, height: 256 }, limits).catch((x: Error) => x)) as Error;
    const fit = /fits is (\d+×\d+)/.exec(e.message)?.[1];
    expect(fit).toBeDefined();
    expect(explainError(e, true)).toEqual({ title: 'This image size is too large for this GPU.', advice: `Choose ${fit} or smaller, or turn on Low GPU memory.` });
  });

  it('store, GPU and integrity errors by class; anything else has no explanation', () => {
    expect(explainError(new StorageFull('Storage is full: writing chunks/00001.bin of m failed (QuotaExceededError; …)'), true)?.title).toBe(
      'There is not enough storage space for the model.',
    );
    expect(explainError(new WebGpuUnavailable('no adapter'), true)?.title).toBe('This browser cannot use the GPU here.');
    expect(explainError(new DeviceLost('unknown', 'gone'), true)?.title).toBe('The GPU stopped working for this page.');
    expect(explainError(new IntegrityFailure('chunks/00003.bin is corrupted', 'chunks/00003.bin'), true)?.title).toBe('A stored or downloaded file is damaged.');
    expect(explainError({ name: 'InvalidInput', message: 'prompt must be a string' }, true)).toBeNull();
    expect(explainError({ name: 'InvalidInput', message: 'prompt must be a string' }, false)).toBeNull(); // offline alone explains nothing
  });
});
