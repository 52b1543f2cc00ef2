// Server mode end to end against a real local HTTP server (node:http) that answers like the OpenAI
// Images API: method, path, Authorization, JSON and multipart bodies, errors, aborts, and the AI SDK's
// generateImage driving our model. The real src/server/ is covered by its own integration test.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APICallError, type ImageModelV3CallOptions } from '@ai-sdk/provider';
import { generateImage } from 'ai';
import { createKleinbild, KLEIN_MODEL_ID } from './index';

/** One request as the server saw it. */
type Seen = { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer };
/** How the server answers: a response, or 'hang' (never answers; for abort tests). */
type Reply = { status: number; headers?: Record<string, string>; body: string } | 'hang';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]); // PNG signature + 4 bytes
const PNG_B64 = Buffer.from(PNG).toString('base64');
const REF_WEBP = new Uint8Array([0x52, 0x49, 0x46, 0x46, 9, 9]);

let server: Server;
let root: string; // http://127.0.0.1:<port>
const seen: Seen[] = [];
const hanging: ServerResponse[] = [];
let reply: (request: Seen) => Reply;

/** An OpenAI-style success body with `n` images, each with a seed. */
function imagesBody(n: number): string {
  return JSON.stringify({ created: 1, data: Array.from({ length: n }, (_, i) => ({ b64_json: PNG_B64, seed: 100 + i })), output_format: 'png', size: '64x64' });
}

const ok = (body: string): Reply => ({ status: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' }, body });

/** The default server: reference image at GET /ref.webp; every POST answers with `n` images. */
function defaultReply(request: Seen): Reply {
  if (request.method === 'GET' && request.path === '/ref.webp') return { status: 200, headers: { 'content-type': 'image/webp' }, body: Buffer.from(REF_WEBP).toString('latin1') };
  const json = request.headers['content-type']?.startsWith('application/json') ? (JSON.parse(request.body.toString()) as { n: number }) : { n: 1 };
  return ok(imagesBody(json.n));
}

/** The multipart body as a FormData, parsed by the platform's own Request. */
async function formDataOf(request: Seen): Promise<FormData> {
  return new Request(`${root}${request.path}`, { method: request.method, headers: { 'content-type': request.headers['content-type'] ?? '' }, body: new Uint8Array(request.body) }).formData();
}

const posts = (): Seen[] => seen.filter((s) => s.method === 'POST');

/** What `promise` rejects with (doGenerate returns a PromiseLike, which has no .catch). */
async function rejectionOf(promise: PromiseLike<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(request);
      const answer = reply(request);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, answer.headers).end(Buffer.from(answer.body, answer.headers?.['content-type'] === 'image/webp' ? 'latin1' : 'utf8'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  reply = defaultReply;
});

function callOptions(overrides: Partial<ImageModelV3CallOptions> = {}): ImageModelV3CallOptions {
  return { prompt: 'a red fox', n: 1, size: undefined, aspectRatio: undefined, seed: undefined, files: undefined, mask: undefined, providerOptions: {}, ...overrides };
}

describe('kleinbild server mode', () => {
  it('POSTs JSON to /images/generations and returns the b64 images, headers and seeds', async () => {
    const model = createKleinbild({ baseURL: `${root}/v1/`, apiKey: 'sk-test', headers: { 'x-team': 'a' } }).image(KLEIN_MODEL_ID);
    expect(model).toMatchObject({ specificationVersion: 'v3', provider: 'kleinbild', modelId: 'flux.2-klein-4b', maxImagesPerCall: 10 });
    const result = await model.doGenerate(
      callOptions({ n: 2, aspectRatio: '16:9', seed: 42, providerOptions: { kleinbild: { steps: 4, guidance: 1, negativePrompt: 'blur' } }, headers: { 'x-call': 'b', 'x-team': 'c', 'x-none': undefined } }),
    );
    const [request] = posts();
    expect(request).toMatchObject({ method: 'POST', path: '/v1/images/generations' });
    expect(request?.headers).toMatchObject({ authorization: 'Bearer sk-test', 'content-type': 'application/json', 'x-call': 'b', 'x-team': 'c' });
    expect(request?.headers).not.toHaveProperty('x-none');
    expect(JSON.parse(request?.body.toString() ?? '')).toEqual({
      model: 'flux.2-klein-4b',
      prompt: 'a red fox',
      n: 2,
      size: '1360x768',
      response_format: 'b64_json',
      output_format: 'png',
      seed: 42,
      steps: 4,
      guidance: 1,
      negative_prompt: 'blur',
    });
    expect(result.images).toEqual([PNG_B64, PNG_B64]);
    expect(result.warnings).toEqual([]);
    expect(result.response.modelId).toBe('flux.2-klein-4b');
    expect(result.response.timestamp).toBeInstanceOf(Date);
    expect(result.response.headers).toMatchObject({ 'x-request-id': 'req-1', 'content-type': 'application/json' });
    expect(result.providerMetadata).toEqual({ kleinbild: { images: [{ seed: 100 }, { seed: 101 }] } });
  });

  it('sends no Authorization without an apiKey, leaves out undefined fields, and tolerates a missing seed', async () => {
    reply = () => ok(JSON.stringify({ created: 1, data: [{ b64_json: PNG_B64 }] }));
    const result = await createKleinbild({ baseURL: `${root}/v1` }).imageModel('other-model').doGenerate(callOptions());
    const [request] = posts();
    expect(request?.headers).not.toHaveProperty('authorization');
    expect(JSON.parse(request?.body.toString() ?? '')).toEqual({ model: 'other-model', prompt: 'a red fox', n: 1, response_format: 'b64_json', output_format: 'png' });
    expect(result.providerMetadata).toEqual({ kleinbild: { images: [{}] } });
  });

  it('the per-model baseURL overrides the provider one', async () => {
    await createKleinbild({ baseURL: 'http://127.0.0.1:9/v1' }).image(KLEIN_MODEL_ID, { baseURL: `${root}/alt/v1` }).doGenerate(callOptions());
    expect(posts()[0]?.path).toBe('/alt/v1/images/generations');
  });

  it('POSTs multipart to /images/edits with one image[] part per reference, and no mask', async () => {
    const model = createKleinbild({ baseURL: `${root}/v1`, apiKey: 'sk-test' }).image(KLEIN_MODEL_ID);
    const result = await model.doGenerate(
      callOptions({
        size: '512x512',
        seed: 3,
        files: [
          { type: 'file', mediaType: 'image/png', data: PNG_B64 },
          { type: 'file', mediaType: 'image/jpeg', data: new Uint8Array([0xff, 0xd8, 0xff]) },
          { type: 'url', url: `${root}/ref.webp` },
        ],
        mask: { type: 'file', mediaType: 'image/png', data: PNG },
        providerOptions: { kleinbild: { outputFormat: 'webp' } },
      }),
    );
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /ref.webp', 'POST /v1/images/edits']);
    const request = posts()[0] as Seen;
    expect(request.headers.authorization).toBe('Bearer sk-test');
    expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const form = await formDataOf(request);
    const fields = Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === 'string'));
    expect(fields).toEqual({ model: 'flux.2-klein-4b', prompt: 'a red fox', n: '1', size: '512x512', response_format: 'b64_json', output_format: 'webp', seed: '3' });
    expect(form.has('mask')).toBe(false);
    const parts = form.getAll('image[]') as File[];
    expect(parts.map((p) => [p.name, p.type])).toEqual([
      ['image0.png', 'image/png'],
      ['image1.jpg', 'image/jpeg'],
      ['image2.webp', 'image/webp'],
    ]);
    expect(new Uint8Array(await parts[0]!.arrayBuffer())).toEqual(PNG);
    expect(new Uint8Array(await parts[1]!.arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0xff]));
    expect(new Uint8Array(await parts[2]!.arrayBuffer())).toEqual(REF_WEBP);
    expect(result.warnings).toEqual([{ type: 'unsupported', feature: 'mask', details: 'Kleinbild does not inpaint; the mask was ignored' }]);
  });

  it('sends loras as a JSON array (generations) and as a JSON string field (edits)', async () => {
    const model = createKleinbild({ baseURL: `${root}/v1` }).image(KLEIN_MODEL_ID);
    const providerOptions = { kleinbild: { loras: [{ name: 'style', strength: 0.8 }, { name: 'ink' }] } };
    const loras = [{ name: 'style', strength: 0.8 }, { name: 'ink', strength: 1 }];
    await model.doGenerate(callOptions({ providerOptions }));
    expect(JSON.parse(posts()[0]?.body.toString() ?? '')).toMatchObject({ loras });
    await model.doGenerate(callOptions({ providerOptions, files: [{ type: 'file', mediaType: 'image/png', data: PNG }] }));
    const form = await formDataOf(posts()[1] as Seen);
    expect(JSON.parse(form.get('loras') as string)).toEqual(loras);
    await model.doGenerate(callOptions());
    expect(JSON.parse(posts()[2]?.body.toString() ?? '')).not.toHaveProperty('loras');
  });

  it('turns a 400 {error} into a non-retryable APICallError with the server message', async () => {
    const errorBody = { error: { message: 'size 100x100: both sides must be multiples of 16', type: 'invalid_request_error', param: 'size', code: 'invalid_size' } };
    reply = () => ({ status: 400, headers: { 'content-type': 'application/json', 'x-request-id': 'req-400' }, body: JSON.stringify(errorBody) });
    const model = createKleinbild({ baseURL: `${root}/v1` }).image(KLEIN_MODEL_ID);
    const error = await rejectionOf(model.doGenerate(callOptions({ size: '100x100' })));
    expect(APICallError.isInstance(error)).toBe(true);
    const apiError = error as APICallError;
    expect(apiError.message).toBe('size 100x100: both sides must be multiples of 16');
    expect(apiError.statusCode).toBe(400);
    expect(apiError.url).toBe(`${root}/v1/images/generations`);
    expect(apiError.requestBodyValues).toEqual({ model: 'flux.2-klein-4b', prompt: 'a red fox', n: 1, size: '100x100', response_format: 'b64_json', output_format: 'png' });
    expect(apiError.responseHeaders).toMatchObject({ 'x-request-id': 'req-400' });
    expect(apiError.responseBody).toBe(JSON.stringify(errorBody));
    expect(apiError.isRetryable).toBe(false);
    expect(apiError.data).toEqual(errorBody);
  });

  it('marks 429 and 5xx retryable; a non-JSON error body still gives a message', async () => {
    const model = createKleinbild({ baseURL: `${root}/v1` }).image(KLEIN_MODEL_ID);
    reply = () => ({ status: 429, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message: 'busy: 1 generation queued', type: 'rate_limit_error', param: null, code: 'busy' } }) });
    await expect(model.doGenerate(callOptions())).rejects.toMatchObject({ statusCode: 429, isRetryable: true, message: 'busy: 1 generation queued' });
    reply = () => ({ status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad Gateway</h1>' });
    await expect(model.doGenerate(callOptions())).rejects.toMatchObject({ statusCode: 502, isRetryable: true, message: `HTTP 502 Bad Gateway from ${root}/v1/images/generations: <h1>Bad Gateway</h1>` });
  });

  it('rejects a 200 without b64_json images as an invalid response', async () => {
    reply = () => ok(JSON.stringify({ created: 1, data: [{ url: 'http://x/1.png' }] }));
    await expect(createKleinbild({ baseURL: `${root}/v1` }).image(KLEIN_MODEL_ID).doGenerate(callOptions())).rejects.toMatchObject({
      message: `invalid response from ${root}/v1/images/generations: data[0].b64_json is not a string (was response_format ignored?)`,
      isRetryable: false,
    });
  });

  it('reports an unreachable server as a retryable APICallError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await rejectionOf(createKleinbild({ baseURL: `http://127.0.0.1:${port}/v1` }).image(KLEIN_MODEL_ID).doGenerate(callOptions()));
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ isRetryable: true, url: `http://127.0.0.1:${port}/v1/images/generations` });
    expect((error as Error).message).toMatch(/^cannot reach the Kleinbild server/);
  });

  it('aborts an in-flight request through abortSignal', async () => {
    reply = () => 'hang';
    const controller = new AbortController();
    const pending = createKleinbild({ baseURL: `${root}/v1` }).image(KLEIN_MODEL_ID).doGenerate(callOptions({ abortSignal: controller.signal }));
    while (posts().length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const error = await rejectionOf(pending);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(APICallError.isInstance(error)).toBe(false);
  });

  it('does not send anything when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(createKleinbild({ baseURL: `${root}/v1` }).image(KLEIN_MODEL_ID).doGenerate(callOptions({ abortSignal: controller.signal }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(posts()).toEqual([]);
  });
});

describe('generateImage from ai', () => {
  const provider = () => createKleinbild({ baseURL: `${root}/v1` });

  it('generates n images in one call and exposes bytes and seeds', async () => {
    const result = await generateImage({ model: provider().image(KLEIN_MODEL_ID), prompt: 'a red fox', n: 3, seed: 5, maxRetries: 0 });
    expect(posts()).toHaveLength(1); // maxImagesPerCall 10: one request for n = 3
    expect(JSON.parse(posts()[0]?.body.toString() ?? '')).toMatchObject({ n: 3, seed: 5 });
    expect(result.images).toHaveLength(3);
    expect(result.images[0]?.uint8Array).toEqual(PNG);
    expect(result.images[0]?.mediaType).toBe('image/png');
    expect(result.providerMetadata.kleinbild?.images).toEqual([{ seed: 100 }, { seed: 101 }, { seed: 102 }]);
  });

  it('sends prompt images to /images/edits', async () => {
    const result = await generateImage({ model: provider().image(KLEIN_MODEL_ID), prompt: { text: 'make it blue', images: [PNG] }, maxRetries: 0 });
    expect(posts()[0]?.path).toBe('/v1/images/edits');
    const form = await formDataOf(posts()[0] as Seen);
    expect(form.get('prompt')).toBe('make it blue');
    expect(new Uint8Array(await (form.get('image[]') as File).arrayBuffer())).toEqual(PNG);
    expect(result.image.uint8Array).toEqual(PNG);
  });
});
