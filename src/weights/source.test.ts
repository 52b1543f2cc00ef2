import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { openComponent } from './safetensors';
import { classifySource, isHubRepoId } from './source';
import { type RetryEvent, normalizeEtag, openSource, parseRetryAfter } from './httpSource';
import { IntegrityFailure } from '../errors';

const MODEL_DIR = join(GOLDEN_DIR, 'model-a');
const TRANSFORMER = 'transformer/diffusion_pytorch_model.safetensors';

/** Requests seen by the server: method, url, Range header. */
let log: { method: string; url: string; range: string | undefined }[] = [];
/**
 * Scripted faults of the /faulty/ route, reset before each test. Requests are counted per route
 * (1-based); `status(n)` answers request n with a status and headers instead of the file,
 * `dropAfter(n)` sends that many body bytes of request n then destroys the connection,
 * `etag(n)` is request n's ETag, `hang` never answers.
 */
let faults: {
  status?: (n: number) => { code: number; headers?: Record<string, string> } | null;
  dropAfter?: (n: number) => number | null;
  etag?: (n: number) => string;
  hang?: boolean;
} = {};
let faultyRequests = 0;
let server: Server;
let origin = '';

/**
 * Routes: /files/<path> serves model-a with Range → 206 (HEAD: Content-Length);
 * /hop/<path> → 302 to /files/<path>; /<owner>/<name>/resolve/<rev>/<path> → 302 (with X-Linked-Size,
 * like the hub) for rev main or refs/pr/1; /norange/ ignores Range (200, whole file);
 * /short/ sends a 206 one byte short; /nolen/ answers HEAD without Content-Length; /broken/ → 500.
 */
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = decodeURIComponent(req.url ?? '');
  log.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range });
  const hub = /^\/owner\/model-a\/resolve\/(main|refs\/pr\/1)\/(.*)$/.exec(url);
  if (hub) {
    const size = (await readFile(join(MODEL_DIR, hub[2] as string)).catch(() => null))?.length;
    if (size === undefined) return void res.writeHead(404).end('Entry not found');
    return void res.writeHead(302, { Location: `/files/${hub[2]}`, 'X-Linked-Size': String(size) }).end();
  }
  const faulty = /^\/faulty\/(.*)$/.exec(url);
  if (faulty) return serveFaulty(faulty[1] as string, req, res);
  const m = /^\/(files|hop|norange|short|nolen|broken)\/(.*)$/.exec(url);
  if (!m) return void res.writeHead(404).end();
  const [, mode, path] = m as unknown as [string, string, string];
  if (mode === 'hop') return void res.writeHead(302, { Location: `/files/${path}` }).end();
  if (mode === 'broken') return void res.writeHead(500).end('boom');
  const body = await readFile(join(MODEL_DIR, path)).catch(() => null);
  if (!body) return void res.writeHead(404).end('not found');
  if (req.method === 'HEAD') {
    return void res.writeHead(200, mode === 'nolen' ? {} : { 'Content-Length': body.length }).end();
  }
  const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (!r || mode === 'norange') return void res.writeHead(200, { 'Content-Length': body.length }).end(body);
  const [s, e] = [Number(r[1]), Math.min(Number(r[2]), body.length - 1)];
  const part = body.subarray(s, mode === 'short' ? e : e + 1);
  res.writeHead(206, { 'Content-Range': `bytes ${s}-${e}/${body.length}`, 'Content-Length': part.length }).end(part);
}

async function serveFaulty(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const n = ++faultyRequests;
  if (faults.hang) return; // never answered: only an abort ends the request
  const st = faults.status?.(n);
  if (st) return void res.writeHead(st.code, st.headers).end('fault');
  const body = await readFile(join(MODEL_DIR, path));
  const etag = faults.etag?.(n) ?? '"v1"';
  if (req.method === 'HEAD') return void res.writeHead(200, { 'Content-Length': body.length, ETag: etag }).end();
  const r = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const [s, e] = r ? [Number(r[1]), Number(r[2])] : [0, body.length - 1];
  const part = body.subarray(s, e + 1);
  res.writeHead(r ? 206 : 200, { ETag: etag, 'Content-Length': part.length, ...(r ? { 'Content-Range': `bytes ${s}-${e}/${body.length}` } : {}) });
  const drop = faults.dropAfter?.(n);
  if (drop === null || drop === undefined) return void res.end(part);
  res.write(part.subarray(0, drop), () => setTimeout(() => res.destroy(), 50));
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res).catch((e) => res.writeHead(599).end(String(e))));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});
beforeEach(() => {
  log = [];
  faults = {};
  faultyRequests = 0;
});

/** Retries without real waiting, and the retry events seen. */
function fastRetry(attempts = 4): { opts: { retry: { attempts: number; baseDelayMs: number; maxDelayMs: number }; onRetry: (e: RetryEvent) => void }; events: RetryEvent[] } {
  const events: RetryEvent[] = [];
  return { opts: { retry: { attempts, baseDelayMs: 1, maxDelayMs: 300 }, onRetry: (e) => events.push(e) }, events };
}

describe('classifySource', () => {
  it('tells hub ids, URLs and paths apart', () => {
    expect(isHubRepoId('black-forest-labs/FLUX.2-klein-4B')).toBe(true);
    expect(isHubRepoId('black-forest-labs/FLUX.2-klein-4B@refs/pr/1')).toBe(true);
    expect(isHubRepoId('FLUX.2-klein-4B')).toBe(false);
    expect(isHubRepoId('./models/x')).toBe(false);
    expect(classifySource('https://example.com/m')).toBe('url');
    expect(classifySource('owner/name@abc123')).toBe('hub');
    expect(classifySource('/data/kleinbild/golden/model-a')).toBe('path');
    expect(classifySource('a/b/c')).toBe('path');
    expect(() => openSource('/tmp/model')).toThrow(/neither a hub repo id.*folderSource/);
  });
});

describe('openSource over a base URL', () => {
  it('range: one Range request, 206 bytes equal the file bytes', async () => {
    const src = openSource(`${origin}/files/`);
    const want = (await readFile(join(MODEL_DIR, TRANSFORMER))).subarray(100, 1100);
    const got = await src.range(TRANSFORMER, 100, 1100);
    expect(Buffer.from(got).equals(want)).toBe(true);
    expect(log).toEqual([{ method: 'GET', url: `/files/${TRANSFORMER}`, range: 'bytes=100-1099' }]);
    expect((await src.range(TRANSFORMER, 5, 5)).length).toBe(0);
    expect(log.length).toBe(1); // an empty range makes no request
  });

  it('follows a 302 hop; HEAD gives the size; json and exists work', async () => {
    const src = openSource(`${origin}/hop`);
    expect(await src.size(TRANSFORMER)).toBe(3332960);
    expect(log.map((r) => `${r.method} ${r.url}`)).toEqual([`HEAD /hop/${TRANSFORMER}`, `HEAD /files/${TRANSFORMER}`]);
    expect((await src.json<{ num_layers: number }>('transformer/config.json')).num_layers).toBe(2);
    expect(await src.exists('vae/config.json')).toBe(true);
    expect(await src.exists('vae/nope.json')).toBe(false);
  });

  it('404 names the model and the path; other statuses name the URL and status', async () => {
    const src = openSource(`${origin}/files`);
    await expect(src.range('transformer/missing.safetensors', 0, 8)).rejects.toThrow(
      `file not found in model ${origin}/files: transformer/missing.safetensors`,
    );
    const { opts } = fastRetry(2);
    await expect(openSource(`${origin}/broken`, opts).size('x.json')).rejects.toThrow(
      `HEAD ${origin}/broken/x.json: HTTP 500 Internal Server Error (model ${origin}/broken); gave up after 2 attempts`,
    );
    await expect(openSource(`${origin}/broken`, opts).exists('x.json')).rejects.toThrow(/HTTP 500/);
  });

  it('a 206 of the wrong length is an error; a 200 to a Range request is sliced', async () => {
    await expect(openSource(`${origin}/short`).range(TRANSFORMER, 0, 64)).rejects.toThrow(
      `${origin}/short/${TRANSFORMER}: HTTP 206 for bytes [0, 64) returned 63 bytes (Content-Range bytes 0-63/3332960)`,
    );
    const got = await openSource(`${origin}/norange`).range(TRANSFORMER, 8, 16);
    expect(Buffer.from(got).equals((await readFile(join(MODEL_DIR, TRANSFORMER))).subarray(8, 16))).toBe(true);
  });

  it('size falls back to a 1-byte Range GET when HEAD has no length', async () => {
    expect(await openSource(`${origin}/nolen`).size(TRANSFORMER)).toBe(3332960);
    expect(log.map((r) => `${r.method} ${r.range ?? ''}`)).toEqual(['HEAD ', 'GET bytes=0-0']);
  });

  it('uses opts.fetch', async () => {
    let calls = 0;
    const src = openSource(`${origin}/files`, { fetch: (i, init) => (calls++, fetch(i, init)) });
    await src.json('model_index.json');
    expect(calls).toBe(1);
  });
});

describe('openSource over a hub repo id (hubUrl = local server)', () => {
  it('resolves /<owner>/<name>/resolve/main/<path> through a 302 and loads a component', async () => {
    const src = openSource('owner/model-a', { hubUrl: origin });
    expect(src.id).toBe('owner/model-a');
    const ckpt = await openComponent(src, 'vae');
    expect(ckpt.tensors.size).toBe(183);
    const mean = await ckpt.read('bn.running_mean');
    expect(mean.length).toBe(256);
    expect(log.some((r) => r.url === '/owner/model-a/resolve/main/vae/diffusion_pytorch_model.safetensors')).toBe(true);
    await expect(src.json('vae/absent.json')).rejects.toThrow('file not found in model owner/model-a: vae/absent.json');
  });

  it('honours @revision (URL-encoded like the hub client)', async () => {
    const src = openSource('owner/model-a@refs/pr/1', { hubUrl: `${origin}/` });
    expect((await src.json<{ _class_name: string }>('model_index.json'))._class_name).toBe('Flux2KleinPipeline');
    expect(log[0]?.url).toBe('/owner/model-a/resolve/refs%2Fpr%2F1/model_index.json');
  });
});

describe('HttpSource robustness (scripted faults)', () => {
  const body = async (s: number, e: number) => (await readFile(join(MODEL_DIR, TRANSFORMER))).subarray(s, e);
  const faultyLog = () => log.filter((r) => r.url.startsWith('/faulty/')).map((r) => `${r.method} ${r.range ?? ''}`);

  it('a body dropped mid-transfer resumes after the bytes received: nothing is fetched twice', async () => {
    faults.dropAfter = (n) => (n === 1 ? 40_000 : null);
    const { opts, events } = fastRetry();
    let received = 0;
    const got = await openSource(`${origin}/faulty`, { ...opts, onBytes: (n) => (received += n) }).range(TRANSFORMER, 1000, 201_000);
    expect(Buffer.from(got).equals(await body(1000, 201_000))).toBe(true);
    expect(received).toBe(200_000);
    expect(faultyLog()).toEqual(['GET bytes=1000-200999', 'GET bytes=41000-200999']);
    expect(events).toHaveLength(1);
    expect(events[0]?.reason).toMatch(/^connection dropped after 40000 of 200000 bytes/);
  });

  it('503 twice, then the file: two retries with growing backoff', async () => {
    faults.status = (n) => (n <= 2 ? { code: 503 } : null);
    const events: RetryEvent[] = [];
    const src = openSource(`${origin}/faulty`, { retry: { baseDelayMs: 20 }, onRetry: (e) => events.push(e) });
    expect(Buffer.from(await src.range(TRANSFORMER, 0, 100)).equals(await body(0, 100))).toBe(true);
    expect(events.map((e) => [e.attempt, e.reason])).toEqual([[1, 'HTTP 503 Service Unavailable'], [2, 'HTTP 503 Service Unavailable']]);
    // jittered backoff: retry k waits in [½, 1]·20·2^(k−1) ms
    expect(events[0]?.delayMs).toBeGreaterThanOrEqual(10);
    expect(events[0]?.delayMs).toBeLessThanOrEqual(20);
    expect(events[1]?.delayMs).toBeGreaterThanOrEqual(20);
    expect(events[1]?.delayMs).toBeLessThanOrEqual(40);
  });

  it('429 honours Retry-After in seconds and as an HTTP date, capped at maxDelayMs', async () => {
    faults.status = (n) =>
      n === 1 ? { code: 429, headers: { 'Retry-After': '0' } }
      : n === 2 ? { code: 429, headers: { 'Retry-After': new Date(Date.now() + 3_600_000).toUTCString() } }
      : null;
    const { opts, events } = fastRetry();
    const t0 = performance.now();
    expect((await openSource(`${origin}/faulty`, opts).json<{ num_layers: number }>('transformer/config.json')).num_layers).toBe(2);
    expect(events.map((e) => [e.reason, e.delayMs])).toEqual([['HTTP 429 Too Many Requests', 0], ['HTTP 429 Too Many Requests', 300]]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT'))).toBe(2000);
    expect(parseRetryAfter('soon')).toBeNull();
  });

  it('gives up after the allowed attempts with the URL, the last reason and the count; 4xx is not retried', async () => {
    faults.status = () => ({ code: 502 });
    const { opts, events } = fastRetry(3);
    await expect(openSource(`${origin}/faulty`, opts).range(TRANSFORMER, 0, 10)).rejects.toThrow(
      `GET ${origin}/faulty/${TRANSFORMER}: HTTP 502 Bad Gateway (model ${origin}/faulty); gave up after 3 attempts`,
    );
    expect(events).toHaveLength(2);
    expect(faultyRequests).toBe(3);
    faults.status = () => ({ code: 403 });
    faultyRequests = 0;
    await expect(openSource(`${origin}/faulty`, opts).range(TRANSFORMER, 0, 10)).rejects.toThrow(/HTTP 403 Forbidden/);
    expect(faultyRequests).toBe(1);
  });

  it('a refused connection is a network error, retried then reported', async () => {
    const { opts, events } = fastRetry(2);
    await expect(openSource('http://127.0.0.1:9/m', opts).json('x.json')).rejects.toThrow(
      /^GET http:\/\/127\.0\.0\.1:9\/m\/x\.json: network error: .+; gave up after 2 attempts$/,
    );
    expect(events[0]?.reason).toMatch(/^network error/);
  });

  it('an ETag change between two ranges of one file is an IntegrityFailure naming the file; a seeded map checks across sessions', async () => {
    faults.etag = (n) => (n === 1 ? '"v1"' : 'W/"v2"');
    const etags = new Map<string, string>();
    const src = openSource(`${origin}/faulty`, { etags });
    await src.range(TRANSFORMER, 0, 10);
    expect(etags.get(TRANSFORMER)).toBe('v1');
    const err = await src.range(TRANSFORMER, 10, 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityFailure);
    expect((err as IntegrityFailure).path).toBe(TRANSFORMER);
    expect((err as Error).message).toContain(`${origin}/faulty/${TRANSFORMER} changed on the server during the download (ETag v1 before, v2 now)`);
    // a new session seeded with the persisted map sees the change at its first request…
    const next = openSource(`${origin}/faulty`, { etags: new Map([[TRANSFORMER, 'v1']]) });
    await expect(next.size(TRANSFORMER)).rejects.toBeInstanceOf(IntegrityFailure);
    // …and accepts the new version once the caller forgets the old ETag
    etags.delete(TRANSFORMER);
    expect((await src.range(TRANSFORMER, 10, 20)).length).toBe(10);
    expect(etags.get(TRANSFORMER)).toBe('v2');
    expect(normalizeEtag(' W/"abc" ')).toBe('abc');
  });

  it('a drop followed by a changed file never mixes versions', async () => {
    faults.dropAfter = (n) => (n === 1 ? 1000 : null);
    faults.etag = (n) => (n === 1 ? '"v1"' : '"v2"');
    await expect(openSource(`${origin}/faulty`, fastRetry().opts).range(TRANSFORMER, 0, 100_000)).rejects.toBeInstanceOf(IntegrityFailure);
  });

  it('an AbortSignal ends a hanging request and a backoff wait at once, with its reason', async () => {
    faults.hang = true;
    const ctl = new AbortController();
    const pending = openSource(`${origin}/faulty`).range(TRANSFORMER, 0, 10, ctl.signal);
    setTimeout(() => ctl.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    faults = { status: () => ({ code: 503 }) };
    const ctl2 = new AbortController();
    const t0 = performance.now();
    const waiting = openSource(`${origin}/faulty`, { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } }).json('model_index.json', ctl2.signal);
    setTimeout(() => ctl2.abort(new Error('stop')), 100);
    await expect(waiting).rejects.toThrow('stop');
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
