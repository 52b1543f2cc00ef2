import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../testing/golden';
import { openComponent } from './safetensors';
import { classifySource, isHubRepoId, openSource } from './source';

const MODEL_DIR = join(GOLDEN_DIR, 'model-a');
const TRANSFORMER = 'transformer/diffusion_pytorch_model.safetensors';

/** Requests seen by the server: method, url, Range header. */
let log: { method: string; url: string; range: string | undefined }[] = [];
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
});

describe('classifySource', () => {
  it('tells hub ids, URLs and paths apart', () => {
    expect(isHubRepoId('black-forest-labs/FLUX.2-klein-4B')).toBe(true);
    expect(isHubRepoId('black-forest-labs/FLUX.2-klein-4B@refs/pr/1')).toBe(true);
    expect(isHubRepoId('FLUX.2-klein-4B')).toBe(false);
    expect(isHubRepoId('./models/x')).toBe(false);
    expect(classifySource('https://example.com/m')).toBe('url');
    expect(classifySource('owner/name@abc123')).toBe('hub');
    expect(classifySource('/work/shared/golden/model-a')).toBe('path');
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
    await expect(openSource(`${origin}/broken`).size('x.json')).rejects.toThrow(`HEAD ${origin}/broken/x.json: HTTP 500`);
    await expect(openSource(`${origin}/broken`).exists('x.json')).rejects.toThrow(/HTTP 500/);
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
