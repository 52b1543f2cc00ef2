/**
 * Where model files come from. A `FileSource` reads byte ranges, sizes and JSON files by their path
 * inside a model repo (`transformer/diffusion_pytorch_model.safetensors`), so the safetensors loader
 * never holds a whole multi-GB file. This module is browser-safe (fetch only); the Node folder
 * source lives in folderSource.ts.
 *
 * Implemented with plain `fetch`, not `@huggingface/hub`: its `downloadFile` returns a lazily
 * sliced Blob that speaks the Xet reconstruction protocol for Xet-backed files, which hides the
 * HTTP status behind library errors and adds a token round trip. A `resolve/` URL already answers
 * Range requests (302 → CDN, which fetch follows), which is all the loader needs.
 */
import { InvalidInput } from '../gpu/errors';

/** Read access to one model's files; `path` is relative to the repo root. */
export interface FileSource {
  /** For messages: the repo id, URL or folder. */
  readonly id: string;
  /** File size in bytes. */
  size(path: string): Promise<number>;
  /** Bytes [start, end) of a file; `end` ≤ size. */
  range(path: string, start: number, end: number): Promise<Uint8Array>;
  /** Whole file parsed as JSON. */
  json<T>(path: string): Promise<T>;
  /** Whether the file exists (false only for "not found"; other failures throw). */
  exists(path: string): Promise<boolean>;
}

export interface OpenSourceOptions {
  /** Replaces the global fetch (tests, auth headers, proxies). */
  fetch?: typeof fetch;
  /** Hub origin for repo ids; default https://huggingface.co. */
  hubUrl?: string;
}

export type SourceKind = 'hub' | 'url' | 'path';

/** `owner/name` or `owner/name@revision` (revision may hold `/`, e.g. `refs/pr/1`). */
const HUB_REPO_ID = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)(?:@(.+))?$/;

/** Whether `s` looks like a hub repo id (`owner/name[@revision]`). */
export function isHubRepoId(s: string): boolean {
  return HUB_REPO_ID.test(s) && !s.startsWith('.');
}

/**
 * Classifies a model location: `http(s)://…` → 'url'; `owner/name[@rev]` → 'hub'; anything else
 * (absolute, `./`-relative, deeper paths) → 'path'. A relative folder spelled `a/b` looks like a hub
 * id: Node callers that accept both should check the folder exists before calling this.
 */
export function classifySource(s: string): SourceKind {
  if (/^https?:\/\//i.test(s)) return 'url';
  if (isHubRepoId(s)) return 'hub';
  return 'path';
}

/**
 * A FileSource over HTTP: a hub repo id → `${hubUrl}/${repo}/resolve/${revision ?? 'main'}/${path}`,
 * or an http(s) base URL → `${base}/${path}`. Local folders are not handled here (Node: folderSource).
 * Throws InvalidInput for anything else.
 */
export function openSource(source: string, opts: OpenSourceOptions = {}): FileSource {
  const kind = classifySource(source);
  if (kind === 'url') return new HttpSource(source, source.replace(/\/+$/, ''), opts.fetch);
  if (kind === 'hub') {
    const m = HUB_REPO_ID.exec(source);
    const repo = m?.[1] as string;
    const revision = encodeURIComponent(m?.[2] ?? 'main');
    const hub = (opts.hubUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
    return new HttpSource(source, `${hub}/${repo}/resolve/${revision}`, opts.fetch);
  }
  throw new InvalidInput(
    `model source "${source}" is neither a hub repo id (owner/name[@revision]) nor an http(s) URL; ` +
      'local folders need folderSource (Node only)',
  );
}

/** fetch-based source; `base` has no trailing slash. */
class HttpSource implements FileSource {
  private readonly fetchFn: typeof fetch;

  constructor(
    readonly id: string,
    private readonly base: string,
    fetchFn: typeof fetch | undefined,
  ) {
    // Bound so that a plain `fetch` keeps its `this` (browsers throw "Illegal invocation").
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
  }

  private url(path: string): string {
    return `${this.base}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    const url = this.url(path);
    let res: Response;
    try {
      res = await this.fetchFn(url, init);
    } catch (e) {
      throw new Error(`${init.method ?? 'GET'} ${url} failed (model ${this.id}): ${(e as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new InvalidInput(`file not found in model ${this.id}: ${path} (HTTP 404 from ${url})`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status} ${res.statusText} (model ${this.id})`);
    }
    return res;
  }

  /**
   * HEAD; hub LFS/Xet files redirect to a CDN whose Content-Length is the file size (X-Linked-Size
   * is accepted too). Falls back to a 1-byte Range GET and its Content-Range total.
   */
  async size(path: string): Promise<number> {
    const head = await this.request(path, { method: 'HEAD', headers: { 'Accept-Encoding': 'identity' } });
    for (const h of ['X-Linked-Size', 'Content-Length']) {
      const v = head.headers.get(h);
      if (v !== null && /^\d+$/.test(v)) return Number(v);
    }
    const probe = await this.request(path, { headers: { Range: 'bytes=0-0' } });
    const total = /\/(\d+)\s*$/.exec(probe.headers.get('Content-Range') ?? '')?.[1];
    await probe.body?.cancel();
    if (total === undefined) throw new Error(`${this.url(path)}: no Content-Length, X-Linked-Size or Content-Range total`);
    return Number(total);
  }

  /**
   * One `Range: bytes=start-(end-1)` GET. A 206 must carry exactly end − start bytes. A server
   * that ignores Range and answers 200 sends the whole file, which is then sliced: correct, but it
   * downloads the entire file for every call.
   */
  async range(path: string, start: number, end: number): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end)) {
      throw new Error(`${this.url(path)}: invalid byte range [${start}, ${end})`);
    }
    if (start === end) return new Uint8Array(0);
    const url = this.url(path);
    const res = await this.request(path, { headers: { Range: `bytes=${start}-${end - 1}` } });
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 206) {
      const cr = /^bytes (\d+)-(\d+)\//.exec(res.headers.get('Content-Range') ?? '');
      if ((cr && Number(cr[1]) !== start) || body.length !== end - start) {
        throw new Error(
          `${url}: HTTP 206 for bytes [${start}, ${end}) returned ${body.length} bytes` +
            ` (Content-Range ${res.headers.get('Content-Range') ?? 'missing'})`,
        );
      }
      return body;
    }
    if (res.status === 200) {
      if (body.length < end) throw new Error(`${url}: file has ${body.length} bytes, range [${start}, ${end}) requested`);
      return body.subarray(start, end);
    }
    throw new Error(`${url}: HTTP ${res.status} to a Range request (expected 206 or 200)`);
  }

  async json<T>(path: string): Promise<T> {
    const res = await this.request(path, {});
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new Error(`${this.url(path)}: invalid JSON (${(e as Error).message})`);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.request(path, { method: 'HEAD' });
      return true;
    } catch (e) {
      if (e instanceof InvalidInput) return false;
      throw e;
    }
  }
}
