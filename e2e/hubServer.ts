/**
 * A hub-like static file server for the e2e tests: `/<folder>/<path>` (and the hub's
 * `/<folder>/resolve/<revision>/<path>`) serves `<root>/<folder>/<path>`, so `/model-a/...` is the
 * golden tiny model. Behaves like huggingface.co where the loader cares:
 * - `*.safetensors` answer with a 302 to `/cdn/<folder>/<path>` (the hub redirects LFS files to its
 *   CDN), carrying X-Linked-Size / X-Linked-ETag as the hub does;
 * - HEAD, `Range: bytes=a-b | a- | -n` → 206 + Content-Range (416 when unsatisfiable),
 *   Accept-Ranges, strong ETag (sha256 of the content), Content-Length, If-None-Match → 304;
 * - CORS: `Access-Control-Allow-Origin: *`, exposed Content-Range/Content-Length/ETag/Accept-Ranges,
 *   preflight allowing Range;
 * - 404 with X-Error-Code: EntryNotFound for missing files.
 * Extra folders can be mounted beside the root (`mounts`: first path segment → directory), e.g. a
 * pack made by `npm run pack` (its `chunks/*.bin` redirect to the CDN like LFS files).
 * `/model-a-base/…` is the base (non-distilled) variant of the golden model: model-a's files with a
 * model_index.json lacking `"is_distilled": true` (as src/testing/golden.ts makeGoldenBaseModelDir
 * builds it for the CLI tests), served from a temporary folder of links removed on close.
 * Tests script faults through `/__control/` (setFaults, servedLog below): a dropped connection
 * after N body bytes, an error status (429/503 with Retry-After), corrupted bytes, a throttled
 * transfer; every answered GET is logged with the body bytes actually sent.
 * Standalone: `node scripts/run.mjs e2e/hubServer.ts [--port 4180] [--root DIR]`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, open, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { GOLDEN_DIR, HUB_PORT, REPO_DIR } from './env';

export interface HubServer {
  url: string;
  /** Every request seen, as "METHOD /path [Range]" (for debugging failed tests). */
  log: string[];
  close(): Promise<void>;
}

/** One scripted fault: applies to GETs whose repo path (`pack-a/chunks/00003.bin`) contains `match`. */
export interface FaultRule {
  match: string;
  /** Which of the matching GETs (1-based, counted from setFaults); default every one. */
  requests?: number[];
  /** drop: send `afterBytes` body bytes, then destroy the connection; status: answer `status` (+ headers) instead; corrupt: flip every bit of the body's first byte. */
  action: { drop: { afterBytes: number } } | { status: number; headers?: Record<string, string> } | { corrupt: true };
}

export interface Faults {
  rules?: FaultRule[];
  /** Bodies of matching GETs are sent at this rate (16 KiB pieces). */
  throttle?: { match: string; bytesPerSec: number };
}

/** One answered GET: its repo path, Range header, status and the body bytes actually sent. */
export interface Served {
  path: string;
  range: string | null;
  status: number;
  bytes: number;
}

/**
 * Chunk GETs of pack `pack` in a served log: chunk path (`chunks/NNNNN.bin`) → body bytes sent
 * (summed over requests) and request count.
 */
export function chunkTraffic(log: readonly Served[], pack: string): Map<string, { bytes: number; requests: number }> {
  const prefix = `${pack}/chunks/`;
  const out = new Map<string, { bytes: number; requests: number }>();
  for (const s of log) {
    if (!s.path.startsWith(prefix)) continue;
    const path = s.path.slice(pack.length + 1);
    const e = out.get(path) ?? { bytes: 0, requests: 0 };
    out.set(path, { bytes: e.bytes + s.bytes, requests: e.requests + 1 });
  }
  return out;
}

interface ServerState {
  faults: Faults;
  /** Matching GETs seen per rule (same order as faults.rules). */
  counts: number[];
  served: Served[];
}

const CDN_PREFIX = '/cdn/';
const EXPOSED = 'Content-Range, Content-Length, ETag, Accept-Ranges, X-Linked-Size, X-Linked-ETag, X-Error-Code';

const etags = new Map<string, { key: string; etag: string }>();

/** Strong ETag = quoted sha256 of the file (the hub's LFS ETag), cached per (path, size, mtime). */
async function etagOf(file: string, size: number, mtimeMs: number): Promise<string> {
  const key = `${size}:${mtimeMs}`;
  const hit = etags.get(file);
  if (hit?.key === key) return hit.etag;
  const etag = `"${createHash('sha256').update(await readFile(file)).digest('hex')}"`;
  etags.set(file, { key, etag });
  return etag;
}

/** Parses one `bytes=` range against `size`; null = no/ignored Range, 'bad' = unsatisfiable. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // multi-range or another unit: serve the whole file, as RFC 9110 allows
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'bad';
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'bad';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return 'bad';
  return { start, end };
}

function contentType(path: string): string {
  if (path.endsWith('.json')) return 'application/json; charset=utf-8';
  if (path.endsWith('.png')) return 'image/png';
  return 'application/octet-stream';
}

/** `/model-a/resolve/main/x/y` and `/model-a/x/y` → `model-a/x/y`; null for `..` tricks. */
function repoPath(pathname: string): string | null {
  let parts: string[];
  try {
    parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return null; // malformed percent-encoding
  }
  if (parts.some((p) => p === '..' || p === '.' || p.includes('\\') || p.includes('\0'))) return null;
  if (parts[1] === 'resolve' && parts.length > 3) parts = [parts[0] as string, ...parts.slice(3)];
  return parts.join('/');
}

/** `/__control/faults` (PUT JSON Faults, DELETE) and `/__control/served` (GET, DELETE). */
async function control(state: ServerState, req: IncomingMessage, res: ServerResponse, what: string): Promise<void> {
  if (what === 'faults' && req.method === 'PUT') {
    let body = '';
    for await (const part of req) body += String(part);
    state.faults = JSON.parse(body) as Faults;
    state.counts = (state.faults.rules ?? []).map(() => 0);
  } else if (what === 'faults' && req.method === 'DELETE') {
    [state.faults, state.counts] = [{}, []];
  } else if (what === 'served' && req.method === 'DELETE') {
    state.served = [];
  } else if (what === 'served' && req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(state.served));
    return;
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(204).end();
}

/** The fault of the first rule matching this GET of `rel`, counting the request for every matching rule. */
function faultFor(state: ServerState, rel: string): FaultRule['action'] | null {
  let hit: FaultRule['action'] | null = null;
  (state.faults.rules ?? []).forEach((r, i) => {
    if (!rel.includes(r.match)) return;
    const n = (state.counts[i] = (state.counts[i] ?? 0) + 1);
    if (!hit && (!r.requests || r.requests.includes(n))) hit = r.action;
  });
  return hit;
}

/** Writes `body` (throttled when asked), or its first `dropAfter` bytes then destroys the connection; resolves with the bytes sent. */
async function sendBody(res: ServerResponse, body: Buffer, dropAfter: number | null, bytesPerSec: number | null): Promise<number> {
  const end = dropAfter === null ? body.length : Math.min(dropAfter, body.length);
  const piece = bytesPerSec === null ? end : 16 * 1024;
  let sent = 0;
  while (sent < end && !res.destroyed) {
    const n = Math.min(piece, end - sent);
    await new Promise<void>((ok) => res.write(body.subarray(sent, sent + n), () => ok()));
    sent += n;
    if (bytesPerSec !== null && sent < end) await new Promise((ok) => setTimeout(ok, (n / bytesPerSec) * 1000));
  }
  if (dropAfter === null) res.end();
  else setTimeout(() => res.destroy(), 20); // let the bytes reach the client, then cut
  return sent;
}

async function handle(root: string, mounts: Readonly<Record<string, string>>, state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED);
  if (req.method === 'OPTIONS') {
    const asked = req.headers['access-control-request-headers'];
    res.writeHead(204, {
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': asked ? `Range, ${asked}` : 'Range',
      'Access-Control-Max-Age': '600',
    });
    res.end();
    return;
  }
  if (req.url?.startsWith('/__control/')) return control(state, req, res, req.url.slice('/__control/'.length));
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD, OPTIONS' }).end();
    return;
  }
  const url = new URL(req.url ?? '/', 'http://hub.invalid');
  const viaCdn = url.pathname.startsWith(CDN_PREFIX);
  const rel = repoPath(viaCdn ? url.pathname.slice(CDN_PREFIX.length - 1) : url.pathname);
  const [top = '', ...rest] = (rel ?? '').split('/');
  const base = mounts[top] ?? root;
  const file = rel === null ? null : top in mounts ? resolve(base, ...rest) : resolve(root, rel);
  const st = file && (file + sep).startsWith(resolve(base) + sep) ? await stat(file).catch(() => null) : null;
  if (!file || !st?.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Error-Code': 'EntryNotFound' });
    res.end(req.method === 'HEAD' ? undefined : `Entry not found: ${url.pathname}`);
    return;
  }
  const etag = await etagOf(file, st.size, st.mtimeMs);
  if (!viaCdn && /\.(safetensors|bin)$/.test(file)) {
    res.writeHead(302, {
      Location: `${CDN_PREFIX}${rel}`,
      'X-Linked-Size': String(st.size),
      'X-Linked-ETag': etag,
      'Content-Length': '0',
    });
    res.end();
    return;
  }
  const common = { ETag: etag, 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store', 'Content-Type': contentType(file) };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, common).end();
    return;
  }
  const fault = req.method === 'GET' ? faultFor(state, rel as string) : null;
  const log = (status: number, bytes: number) => {
    if (req.method === 'GET') state.served.push({ path: rel as string, range: req.headers.range ?? null, status, bytes });
  };
  if (fault && 'status' in fault) {
    res.writeHead(fault.status, { 'Content-Type': 'text/plain', ...fault.headers }).end(`scripted ${fault.status}`);
    return log(fault.status, 0);
  }
  const range = parseRange(req.headers.range, st.size);
  if (range === 'bad') {
    res.writeHead(416, { ...common, 'Content-Range': `bytes */${st.size}`, 'Content-Length': '0' }).end();
    return log(416, 0);
  }
  const { start, end } = range ?? { start: 0, end: st.size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...common,
    'Content-Length': String(end - start + 1),
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${st.size}` } : {}),
  });
  if (req.method === 'HEAD' || st.size === 0) {
    res.end();
    return;
  }
  const body = Buffer.alloc(end - start + 1);
  const fh = await open(file, 'r');
  try {
    await fh.read(body, 0, body.length, start);
  } finally {
    await fh.close();
  }
  if (fault && 'corrupt' in fault) body[0] = (body[0] as number) ^ 0xff;
  const t = state.faults.throttle;
  const rate = t && (rel as string).includes(t.match) ? t.bytesPerSec : null;
  log(range ? 206 : 200, await sendBody(res, body, fault && 'drop' in fault ? fault.drop.afterBytes : null, rate));
}

/** Sets the scripted faults of the server at `hubUrl` (replacing earlier ones; counts restart). */
export async function setFaults(hubUrl: string, faults: Faults): Promise<void> {
  const res = await fetch(`${hubUrl}/__control/faults`, { method: 'PUT', body: JSON.stringify(faults) });
  if (res.status !== 204) throw new Error(`setFaults: HTTP ${res.status}`);
}

/** Removes every scripted fault. */
export const clearFaults = async (hubUrl: string): Promise<void> => void (await fetch(`${hubUrl}/__control/faults`, { method: 'DELETE' }));

/** The GETs answered since the last `reset` (then forgets them when `reset`). */
export async function servedLog(hubUrl: string, reset = false): Promise<Served[]> {
  const log = (await (await fetch(`${hubUrl}/__control/served`)).json()) as Served[];
  if (reset) await fetch(`${hubUrl}/__control/served`, { method: 'DELETE' });
  return log;
}

/** The test image classifier (test/fixtures/safety-classifier, transformers.js layout), served as `/safety-classifier/`. */
export const SAFETY_CLASSIFIER = 'safety-classifier';

/** The folder served as `/model-a-base/`. */
export const MODEL_A_BASE = 'model-a-base';

/**
 * A temporary folder holding the base variant of `<root>/model-a`: links to its subfolders and a
 * model_index.json without `is_distilled` (diffusers reads a missing key as false); null when the
 * root has no model-a.
 */
async function baseVariantDir(root: string): Promise<string | null> {
  const modelA = join(root, 'model-a');
  const index = await readFile(join(modelA, 'model_index.json'), 'utf8').catch(() => null);
  if (index === null) return null;
  const { is_distilled: _, ...rest } = JSON.parse(index) as Record<string, unknown>;
  const dir = await mkdtemp(join(tmpdir(), 'kleinbild-e2e-model-a-base-'));
  for (const e of await readdir(modelA, { withFileTypes: true })) {
    if (e.isDirectory()) await symlink(join(modelA, e.name), join(dir, e.name), 'dir');
  }
  await writeFile(join(dir, 'model_index.json'), JSON.stringify(rest, null, 2));
  return dir;
}

/** Starts the server on 127.0.0.1:`port` (0 = any free port); `mounts` adds folders beside `root` (and /model-a-base/ and /safety-classifier/, see above). */
export async function startHubServer(root: string = GOLDEN_DIR, port: number = HUB_PORT, extraMounts: Readonly<Record<string, string>> = {}): Promise<HubServer> {
  const baseDir = MODEL_A_BASE in extraMounts ? null : await baseVariantDir(root);
  const withFixtures = { [SAFETY_CLASSIFIER]: join(REPO_DIR, 'test', 'fixtures', 'safety-classifier'), ...extraMounts };
  const mounts = baseDir ? { [MODEL_A_BASE]: baseDir, ...withFixtures } : withFixtures;
  const log: string[] = [];
  const state: ServerState = { faults: {}, counts: [], served: [] };
  const server = createServer((req, res) => {
    log.push(`${req.method} ${req.url}${req.headers.range ? ` [${req.headers.range}]` : ''}`);
    handle(root, mounts, state, req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(e));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    log,
    close: async () => {
      await new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      });
      if (baseDir) await rm(baseDir, { recursive: true, force: true }); // the links, not model-a
    },
  };
}

/** CLI entry for scripts/run.mjs: serves until interrupted. */
export async function main(args: string[]): Promise<number> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const root = resolve(opt('--root') ?? GOLDEN_DIR);
  const hub = await startHubServer(root, Number(opt('--port') ?? HUB_PORT));
  console.log(`serving ${root} at ${hub.url} (e.g. ${hub.url}/model-a); Ctrl-C to stop`);
  await new Promise<void>((done) => process.once('SIGINT', done));
  await hub.close();
  return 0;
}
