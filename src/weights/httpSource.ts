/**
 * The HTTP FileSource (hub repo ids and http(s) folders, openSource below): Range GETs with
 * retries (exponential backoff with jitter, Retry-After), resumption of a body that breaks off, ETag
 * consistency between requests, and AbortSignal support.
 */
import { type FileSource, HUB_REPO_ID, checkJsonSize, checkModelPath, classifySource } from './source';
import { InvalidInput, IntegrityFailure } from '../errors';

/** How an HttpSource retries network errors, HTTP 408/429 and 5xx (except 501/505). */
export interface RetryPolicy {
  /** Attempts per call, the first included; 1 = never retry. */
  attempts: number;
  /** Backoff before retry k is in [½, 1]·baseDelayMs·2^(k−1) (exponential, with jitter). */
  baseDelayMs: number;
  /** Cap of one wait in ms, for the backoff and for a server's Retry-After alike. */
  maxDelayMs: number;
}

/** 6 attempts: waits of about 0.5, 1, 2, 4, 8 s (15 s in all) before a call gives up. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Reported before each retry's wait. `attempt` is the attempt that failed (1-based). */
export interface RetryEvent {
  url: string;
  attempt: number;
  delayMs: number;
  /** e.g. `HTTP 503 Service Unavailable`, `network error: fetch failed`, `connection dropped after 4096 of 65536 bytes: terminated`. */
  reason: string;
}

export interface OpenSourceOptions {
  /** Replaces the global fetch (tests, auth headers, proxies). */
  fetch?: typeof fetch;
  /** Hub origin for repo ids; default https://huggingface.co. */
  hubUrl?: string;
  /** Overrides parts of DEFAULT_RETRY. */
  retry?: Partial<RetryPolicy>;
  onRetry?: (e: RetryEvent) => void;
  /** Called as range() body bytes arrive, with their count (download speed while a range is in flight). */
  onBytes?: (n: number) => void;
  /**
   * File path → ETag (quotes and `W/` stripped) seen by size() and range(). The first response of a
   * file records its ETag; a later one with another ETag throws IntegrityFailure. Pass a map that
   * was filled earlier (and persisted) to check across sessions; the caller may delete an entry to
   * accept a new version. Default: a fresh map.
   */
  etags?: Map<string, string>;
}

/** `"abc"`, `W/"abc"` → `abc`; null when absent. */
export function normalizeEtag(value: string | null): string | null {
  if (value === null) return null;
  const v = value.trim().replace(/^W\//i, '').replace(/^"(.*)"$/, '$1');
  return v === '' ? null : v;
}

/** Retry-After (delay-seconds or an HTTP-date) in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** A failure worth retrying: a network error, a dropped body, HTTP 408/429/5xx. Never leaves this module. */
class Transient {
  constructor(
    readonly reason: string,
    readonly retryAfterMs: number | null = null,
  ) {}
}

const retryableStatus = (s: number): boolean => s === 408 || s === 429 || (s >= 500 && s !== 501 && s !== 505);

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((ok, fail) => {
    if (signal?.aborted) return fail(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      ok();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * fetch-based source; `base` has no trailing slash. Each call retries transient failures (RetryPolicy)
 * and a range() whose body breaks off resumes after the bytes already received. If-Range is not
 * sent: it is not a CORS-safelisted header, so every Range request would need a preflight that the
 * hub's CDN need not allow; the ETag of every size()/range() response is compared instead, which
 * detects the same change one response later and never mixes two versions.
 */
export class HttpSource implements FileSource {
  private readonly fetchFn: typeof fetch;
  private readonly retry: RetryPolicy;
  private readonly onRetry: ((e: RetryEvent) => void) | undefined;
  private readonly onBytes: ((n: number) => void) | undefined;
  /** path → normalized ETag of the first size()/range() response. */
  readonly etags: Map<string, string>;

  constructor(
    readonly id: string,
    private readonly base: string,
    opts: OpenSourceOptions = {},
  ) {
    const f = opts.fetch;
    // Bound so that a plain `fetch` keeps its `this` (browsers throw "Illegal invocation").
    this.fetchFn = f ?? ((input, init) => fetch(input, init));
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.onRetry = opts.onRetry;
    this.onBytes = opts.onBytes;
    this.etags = opts.etags ?? new Map();
  }

  /** The URL of model path `path`; InvalidInput for a path that could leave the base (`..`, `/x`; source.ts modelPathError). */
  private url(path: string): string {
    checkModelPath(path, this.id);
    return `${this.base}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  /**
   * Runs `attempt` until it returns, throws a non-Transient error, the signal aborts, or the
   * attempts are used up (then an Error naming the method, URL, last reason and attempt count).
   */
  private async withRetry<R>(method: string, path: string, signal: AbortSignal | undefined, attempt: () => Promise<R>): Promise<R> {
    const url = this.url(path);
    for (let n = 1; ; n++) {
      let t: Transient;
      try {
        return await attempt();
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        if (!(e instanceof Transient)) throw e;
        t = e;
      }
      if (n >= this.retry.attempts) {
        const tries = n > 1 ? `; gave up after ${n} attempts` : '';
        throw new Error(`${method} ${url}: ${t.reason} (model ${this.id})${tries}`);
      }
      const backoff = this.retry.baseDelayMs * 2 ** (n - 1);
      const wait = t.retryAfterMs ?? backoff * (0.5 + 0.5 * Math.random());
      const delayMs = Math.round(Math.min(this.retry.maxDelayMs, wait));
      this.onRetry?.({ url, attempt: n, delayMs, reason: t.reason });
      await sleep(delayMs, signal);
    }
  }

  /** One fetch. Throws Transient (retry), InvalidInput (404) or Error (any other failure status). */
  private async request(path: string, init: RequestInit): Promise<Response> {
    const url = this.url(path);
    const method = init.method ?? 'GET';
    let res: Response;
    try {
      res = await this.fetchFn(url, init);
    } catch (e) {
      if (init.signal?.aborted) throw init.signal.reason;
      throw new Transient(`network error: ${(e as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new InvalidInput(`file not found in model ${this.id}: ${path} (HTTP 404 from ${url})`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const reason = `HTTP ${res.status} ${res.statusText}`.trim();
      if (retryableStatus(res.status)) throw new Transient(reason, parseRetryAfter(res.headers.get('Retry-After')));
      throw new Error(`${method} ${url}: ${reason} (model ${this.id})`);
    }
    return res;
  }

  /** Records the response's ETag for `path`, or throws IntegrityFailure when it differs from the recorded one. */
  private async checkEtag(path: string, res: Response): Promise<void> {
    const etag = normalizeEtag(res.headers.get('ETag'));
    if (etag === null) return;
    const known = this.etags.get(path);
    if (known === undefined) {
      this.etags.set(path, etag);
    } else if (known !== etag) {
      await res.body?.cancel();
      throw new IntegrityFailure(
        `${this.url(path)} changed on the server during the download (ETag ${known} before, ${etag} now); ` +
          'its bytes must be fetched again',
        path,
      );
    }
  }

  /**
   * HEAD; hub LFS/Xet files redirect to a CDN whose Content-Length is the file size (X-Linked-Size
   * is accepted too). Falls back to a 1-byte Range GET and its Content-Range total.
   */
  size(path: string, signal?: AbortSignal): Promise<number> {
    return this.withRetry('HEAD', path, signal, async () => {
      const head = await this.request(path, { method: 'HEAD', headers: { 'Accept-Encoding': 'identity' }, signal: signal ?? null });
      await this.checkEtag(path, head);
      for (const h of ['X-Linked-Size', 'Content-Length']) {
        const v = head.headers.get(h);
        if (v !== null && /^\d+$/.test(v)) return Number(v);
      }
      const probe = await this.request(path, { headers: { Range: 'bytes=0-0' }, signal: signal ?? null });
      await this.checkEtag(path, probe);
      const total = /\/(\d+)\s*$/.exec(probe.headers.get('Content-Range') ?? '')?.[1];
      await probe.body?.cancel();
      if (total === undefined) throw new Error(`${this.url(path)}: no Content-Length, X-Linked-Size or Content-Range total`);
      return Number(total);
    });
  }

  /**
   * Bytes [start, end) by `Range: bytes=start-(end-1)` GETs. A 206 must carry exactly the bytes
   * asked for. A body that breaks off is resumed from the first missing byte (at most
   * RetryPolicy.attempts requests in all). A server that ignores Range and answers 200 sends the
   * whole file, whose bytes before the range are skipped: correct, but costly.
   */
  range(path: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    let url: string;
    try {
      url = this.url(path);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end)) {
      return Promise.reject(new Error(`${url}: invalid byte range [${start}, ${end})`));
    }
    const out = new Uint8Array(end - start);
    if (start === end) return Promise.resolve(out);
    let filled = 0;
    return this.withRetry('GET', path, signal, async () => {
      const from = start + filled;
      const res = await this.request(path, { headers: { Range: `bytes=${from}-${end - 1}` }, signal: signal ?? null });
      await this.checkEtag(path, res);
      let skip: number;
      if (res.status === 206) {
        const cr = /^bytes (\d+)-(\d+)\//.exec(res.headers.get('Content-Range') ?? '');
        if (cr && Number(cr[1]) !== from) {
          await res.body?.cancel();
          throw new Error(`${url}: HTTP 206 for bytes [${from}, ${end}) starts at byte ${cr[1]}`);
        }
        skip = 0;
      } else if (res.status === 200) {
        skip = from;
      } else {
        await res.body?.cancel();
        throw new Error(`${url}: HTTP ${res.status} to a Range request (expected 206 or 200)`);
      }
      const got = await this.readBody(res, out, filled, skip, signal);
      const before = filled;
      filled = got.filled;
      if (got.error !== null) {
        throw new Transient(`connection dropped after ${filled - before} of ${end - from} bytes: ${got.error}`);
      }
      if (filled === out.length && (res.status === 200 || got.extra === 0)) return out;
      if (res.status === 200) throw new Error(`${url}: file has ${got.seen} bytes, range [${start}, ${end}) requested`);
      throw new Error(
        `${url}: HTTP 206 for bytes [${from}, ${end}) returned ${filled - before + got.extra} bytes` +
          ` (Content-Range ${res.headers.get('Content-Range') ?? 'missing'})`,
      );
    });
  }

  /**
   * Streams a body into out[filled…]: the first `skip` bytes are dropped, bytes past `out` are
   * counted in `extra` (a 200 body is cancelled once `out` is full). A read error other than an
   * abort is returned, not thrown, with the bytes received before it kept.
   */
  private async readBody(
    res: Response,
    out: Uint8Array,
    filled: number,
    skip: number,
    signal: AbortSignal | undefined,
  ): Promise<{ filled: number; extra: number; seen: number; error: string | null }> {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let extra = 0;
    let seen = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { filled, extra, seen, error: null };
        seen += value.length;
        this.onBytes?.(value.length);
        let v = value;
        if (skip > 0) {
          const drop = Math.min(skip, v.length);
          skip -= drop;
          v = v.subarray(drop);
        }
        const take = Math.min(v.length, out.length - filled);
        out.set(v.subarray(0, take), filled);
        filled += take;
        extra += v.length - take;
        if (filled === out.length && res.status === 200) {
          await reader.cancel();
          return { filled, extra: 0, seen, error: null };
        }
      }
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      return { filled, extra, seen, error: (e as Error).message };
    }
  }

  /**
   * The file parsed as JSON, at most jsonLimit(path) bytes (source.ts): a larger Content-Length is
   * refused before the body is read, a body without one is cancelled once it passes the limit.
   */
  json<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.withRetry('GET', path, signal, async () => {
      const res = await this.request(path, { signal: signal ?? null });
      const declared = res.headers.get('Content-Length');
      if (declared !== null && /^\d+$/.test(declared.trim())) {
        try {
          checkJsonSize(path, Number(declared), this.id);
        } catch (e) {
          await res.body?.cancel();
          throw e;
        }
      }
      let text: string;
      try {
        text = await this.boundedText(res, path);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        if (e instanceof InvalidInput) throw e;
        throw new Transient(`connection dropped while reading the body: ${(e as Error).message}`);
      }
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new Error(`${this.url(path)}: invalid JSON (${(e as Error).message})`);
      }
    });
  }

  /** The body as UTF-8 text; InvalidInput (body cancelled) as soon as it passes jsonLimit(path). */
  private async boundedText(res: Response, path: string): Promise<string> {
    if (!res.body) return '';
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      try {
        checkJsonSize(path, n, this.id, true);
      } catch (e) {
        await reader.cancel();
        throw e;
      }
      parts.push(value);
    }
    const all = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder().decode(all);
  }

  async exists(path: string, signal?: AbortSignal): Promise<boolean> {
    checkModelPath(path, this.id); // a bad path throws, it is not "not found"
    try {
      await this.withRetry('HEAD', path, signal, () => this.request(path, { method: 'HEAD', signal: signal ?? null }));
      return true;
    } catch (e) {
      if (e instanceof InvalidInput) return false;
      throw e;
    }
  }
}

/**
 * A FileSource over HTTP: a hub repo id → `${hubUrl}/${repo}/resolve/${revision ?? 'main'}/${path}`,
 * or an http(s) base URL → `${base}/${path}`. Local folders are not handled here (Node: folderSource).
 * Throws InvalidInput for anything else.
 */
export function openSource(source: string, opts: OpenSourceOptions = {}): FileSource {
  const kind = classifySource(source);
  if (kind === 'url') return new HttpSource(source, source.replace(/\/+$/, ''), opts);
  if (kind === 'hub') {
    const m = HUB_REPO_ID.exec(source);
    const repo = m?.[1] as string;
    const revision = encodeURIComponent(m?.[2] ?? 'main');
    const hub = (opts.hubUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
    return new HttpSource(source, `${hub}/${repo}/resolve/${revision}`, opts);
  }
  throw new InvalidInput(
    `model source "${source}" is neither a hub repo id (owner/name[@revision]) nor an http(s) URL; ` +
      'local folders need folderSource (Node only)',
  );
}
