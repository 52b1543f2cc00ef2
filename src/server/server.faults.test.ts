/**
 * The server under load and faults, on the golden tiny model: a burst beyond the queue gets 429s
 * and nothing else fails; a client that goes away cancels its queued or running work; the
 * per-request timeout; an engine failure is a 500; loading and failed models are 503s on /healthz
 * and the image routes; a lost GPU device is reported and the model reloaded (Dawn); CORS; and
 * SIGTERM lets the running image finish, refuses new requests and exits 0 (`npm run serve` as a
 * child process).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_MODEL, goldenServer, waitFor } from '../testing/server';
import { startServer, type RunningServer } from './serve';

const post = (url: string, body: object, signal?: AbortSignal) =>
  fetch(`${url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a lighthouse', size: '64x64', steps: 1, ...body }), ...(signal ? { signal } : {}) });
const health = async (url: string) => (await fetch(`${url}/healthz`)).json() as Promise<{ status: string; reason: string | null; queue: { running: number; waiting: number } }>;

describe('queue, cancellation, timeout and engine failure (CPU backend, --queue 1)', () => {
  let s: RunningServer & { lines: string[] };
  beforeAll(async () => {
    s = await goldenServer({ queue: 1, cors: ['https://app.example'] });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a burst of 4 gets 2 images and 2 × 429 with Retry-After, nothing else', async () => {
    const rs = await Promise.all([1, 2, 3, 4].map((seed) => post(s.url, { seed })));
    const statuses = rs.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    for (const r of rs.filter((r) => r.status === 429)) {
      expect(r.headers.get('retry-after')).toBe('5');
      expect((await r.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
    }
    for (const r of rs.filter((r) => r.status === 200)) expect((await r.json()).data).toHaveLength(1);
  });

  it('a client that disconnects cancels its queued and its running work', async () => {
    const running = new AbortController();
    const queued = new AbortController();
    const a = post(s.url, { n: 10, steps: 4 }, running.signal).catch((e: unknown) => e); // ≥ 60 s of work
    expect(await waitFor(async () => (await health(s.url)).queue.running === 1, 10_000)).toBe(true);
    const b = post(s.url, {}, queued.signal).catch((e: unknown) => e);
    expect(await waitFor(async () => (await health(s.url)).queue.waiting === 1, 10_000)).toBe(true);
    queued.abort();
    expect(await waitFor(async () => (await health(s.url)).queue.waiting === 0, 1000)).toBe(true);
    running.abort();
    const t0 = Date.now();
    expect(await waitFor(async () => (await health(s.url)).queue.running === 0, 10_000)).toBe(true); // stops at the next stage or step
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await a).toBeInstanceOf(Error);
    expect(await b).toBeInstanceOf(Error);
    const c = await post(s.url, { seed: 9 }); // the GPU is free again at once
    expect(c.status).toBe(200);
  });

  it('an engine failure is a 500 in OpenAI shape; the next request works', async () => {
    const engine = s.engine as unknown as { pipeline: { generate: (...a: unknown[]) => Promise<unknown> } };
    const real = engine.pipeline.generate;
    engine.pipeline.generate = async () => {
      throw new Error('kernel exploded');
    };
    try {
      const r = await post(s.url, {});
      expect(r.status).toBe(500);
      expect((await r.json()).error).toEqual({ message: 'kernel exploded', type: 'server_error', param: null, code: 'engine_error' });
    } finally {
      engine.pipeline.generate = real;
    }
    expect(s.lines.some((l) => / POST \/v1\/images\/generations 500 /.test(l))).toBe(true);
  });

  it('CORS: the configured origin is allowed, with the request id exposed', async () => {
    const pre = await fetch(`${s.url}/v1/images/generations`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const r = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://app.example' } });
    expect(r.headers.get('access-control-expose-headers')).toContain('x-request-id');
    const other = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('timeout', () => {
  it('a request past --timeout is cancelled with a 504', async () => {
    const s = await goldenServer({ timeoutMs: 1000 });
    try {
      const r = await post(s.url, { steps: 4 });
      expect(r.status).toBe(504);
      expect((await r.json()).error).toMatchObject({ type: 'server_error', code: 'timeout' });
      expect((await health(s.url)).queue.running).toBe(0);
    } finally {
      await s.close();
    }
  });
});

describe('model loading and load failure', () => {
  let hub: Server;
  let hubUrl = '';
  const held: Socket[] = [];
  const hold = new Set<string>();
  beforeAll(async () => {
    hub = createServer((req, res) => {
      if (hold.has(req.url?.split('/')[1] ?? '')) {
        held.push(req.socket); // never answered: the model stays loading
        return;
      }
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    hubUrl = `http://127.0.0.1:${(hub.address() as { port: number }).port}`;
  });
  afterAll(() => hub.close());

  it('while loading: /healthz 503 "loading", images 503 model_loading with Retry-After', async () => {
    hold.add('slow');
    const s = await startServer({ model: `${hubUrl}/slow`, backend: 'cpu', port: 0, log: () => {} });
    try {
      const h = await fetch(`${s.url}/healthz`);
      expect(h.status).toBe(503);
      expect((await h.json()).status).toBe('loading');
      const r = await post(s.url, {});
      expect([r.status, r.headers.get('retry-after')]).toEqual([503, '5']);
      expect((await r.json()).error.code).toBe('model_loading');
    } finally {
      hold.delete('slow'); // retries get a 404 now
      for (const sock of held) sock.destroy(); // the load fails; close() waits for it
      await s.close();
    }
  });

  it('a model that cannot be loaded: /healthz 503 "failed" with the reason; images 503', async () => {
    const s = await startServer({ model: `${hubUrl}/missing`, backend: 'cpu', port: 0, waitForModel: true, log: () => {} });
    try {
      const h = await health(s.url);
      expect(h.status).toBe('failed');
      expect(h.reason).toMatch(/404|not found|model_index/i);
      const r = await post(s.url, {});
      expect(r.status).toBe(503);
      expect((await r.json()).error.code).toBe('model_unavailable');
    } finally {
      await s.close();
    }
  });
});

describe('lost GPU device (Dawn)', () => {
  it('is reported on /healthz and recovered by reloading the model', async () => {
    const s = await goldenServer({ backend: 'gpu', precision: 'f32' });
    try {
      expect((await health(s.url)).status).toBe('ready');
      const before = s.engine.readyAt;
      s.engine.loseDevice();
      expect(await waitFor(async () => (await health(s.url)).status === 'lost', 5000, 5)).toBe(true);
      expect(await waitFor(async () => (await health(s.url)).status === 'ready', 60_000)).toBe(true);
      expect(s.lines.some((l) => l.includes('GPU device lost; reloading the model'))).toBe(true);
      expect(s.lines.filter((l) => l.includes('model ready')).length).toBe(2);
      expect(s.engine.readyAt).toBeGreaterThanOrEqual(before);
    } finally {
      await s.close();
    }
  });
});

describe('SIGTERM (npm run serve as a child process)', () => {
  it('finishes the running image, refuses new requests and exits 0', async () => {
    const child = spawn(process.execPath, ['scripts/run.mjs', 'src/server/serve.ts', '--model', GOLDEN_MODEL, '--backend', 'cpu', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      expect(await waitFor(() => /listening on (http:\/\/\S+) /.test(log), 60_000, 100)).toBe(true);
      const url = (/listening on (http:\/\/\S+) /.exec(log) as RegExpExecArray)[1] as string;
      expect(await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 60_000, 100)).toBe(true);
      const running = post(url, { n: 3, seed: 11 });
      expect(await waitFor(async () => (await health(url)).queue.running === 1, 10_000)).toBe(true);
      child.kill('SIGTERM');
      expect(await waitFor(() => log.includes('SIGTERM: finishing the running image'), 5000)).toBe(true);
      const refused = await post(url, {}).then((r) => r.status, () => 'refused');
      expect([503, 'refused']).toContain(refused);
      const r = await running;
      expect(r.status).toBe(200);
      const body = await r.json();
      expect(body.data.length).toBeGreaterThanOrEqual(1); // the image running at SIGTERM, not the rest
      expect(body.data.length).toBeLessThan(3);
      expect(await exited).toBe(0);
      expect(log).toContain('stopped');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
