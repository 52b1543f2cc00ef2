/**
 * A hub-like HTTP server in memory for the store's Node tests, reached through the `fetch` option
 * of openSource (src/weights/httpSource.ts): HEAD with Content-Length, Range GETs answered 206 with
 * Content-Range, an ETag per file version (a new version of a file gets a new ETag, as on the hub's
 * CDN), 404 for a missing file. `fault` answers chosen requests itself (an error status, other
 * bytes, a body that breaks off) and `log` lists every request, so tests count what was fetched.
 */

/** One request as the server saw it. */
export interface HubRequest {
  method: string;
  /** Path under the origin, e.g. `pack/chunks/00003.bin`. */
  path: string;
  /** [start, end) asked for by a Range header, or null. */
  range: [number, number] | null;
}

interface HubFile {
  bytes: Uint8Array;
  version: number;
}

const asBytes = (v: Uint8Array | object): Uint8Array => (v instanceof Uint8Array ? v : new TextEncoder().encode(JSON.stringify(v)));

export class FakeHub {
  readonly files = new Map<string, HubFile>();
  readonly log: HubRequest[] = [];
  /** Answers a request instead of the server when it returns a Response; undefined: served normally. */
  fault: ((r: HubRequest) => Response | undefined) | null = null;

  constructor(readonly origin = 'https://hub.test') {}

  /** The URL of folder `dir` (a model source string). */
  url(dir: string): string {
    return `${this.origin}/${dir}`;
  }

  /** Publishes `files` (path → bytes, or an object served as JSON) under `dir`, each as a new version. */
  publish(dir: string, files: ReadonlyMap<string, Uint8Array | object>): void {
    for (const [path, v] of files) this.set(`${dir}/${path}`, asBytes(v));
  }

  /** Replaces one file (a new version: a new ETag). */
  set(path: string, bytes: Uint8Array | object): void {
    this.files.set(path, { bytes: asBytes(bytes), version: (this.files.get(path)?.version ?? 0) + 1 });
  }

  etag(path: string): string | null {
    const f = this.files.get(path);
    return f ? `"v${f.version}-${f.bytes.length}"` : null;
  }

  /** GET requests whose path starts with `prefix`, with the bytes they asked for. */
  gets(prefix: string): HubRequest[] {
    return this.log.filter((r) => r.method === 'GET' && r.path.startsWith(prefix));
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (`${url.protocol}//${url.host}` !== this.origin) throw new TypeError(`fetch failed: ${url.href} is not on ${this.origin}`);
    if (init?.signal?.aborted) throw init.signal.reason;
    const path = decodeURIComponent(url.pathname.slice(1));
    const method = init?.method ?? 'GET';
    const header = new Headers(init?.headers).get('Range');
    const m = header ? /^bytes=(\d+)-(\d+)$/.exec(header) : null;
    const req: HubRequest = { method, path, range: m ? [Number(m[1]), Number(m[2]) + 1] : null };
    this.log.push(req);
    const faulty = this.fault?.(req);
    if (faulty) return faulty;
    const f = this.files.get(path);
    if (!f) return new Response('not found', { status: 404 });
    const etag = this.etag(path) as string;
    if (method === 'HEAD') return new Response(null, { status: 200, headers: { 'Content-Length': String(f.bytes.length), ETag: etag } });
    if (!req.range) return new Response(f.bytes.slice(), { status: 200, headers: { ETag: etag } });
    const [a, b] = req.range;
    const end = Math.min(b, f.bytes.length);
    if (a >= f.bytes.length) return new Response(null, { status: 416 });
    return new Response(f.bytes.slice(a, end), { status: 206, headers: { 'Content-Range': `bytes ${a}-${end - 1}/${f.bytes.length}`, ETag: etag } });
  };
}

/** A 206 whose body sends the first `keep` bytes of `bytes`, then breaks off (a dropped connection). */
export function brokenBody(bytes: Uint8Array, keep: number, headers: Record<string, string>): Response {
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (!sent) {
        sent = true;
        c.enqueue(bytes.slice(0, keep));
      } else c.error(new TypeError('terminated'));
    },
  });
  return new Response(body, { status: 206, headers });
}
