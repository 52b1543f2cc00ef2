/**
 * Downloads a model into the store (db.ts), in the engine worker: planPack(recipe) → every chunk not
 * stored yet, CONCURRENCY at a time, each written with its SHA-256 in its own transaction → the small
 * files → the manifest, last. Resumes across reloads: the recipe always maps to the same id and the
 * stored chunks are skipped. Holds the model's Web Lock for the whole run. The chunks that hold only
 * the VAE encoder (packFormat.ts encoderOnlyChunks) are left out unless `deferEncoder` is false: the
 * manifest lists them as `deferred` and deferred.ts fetches them when editing is first used.
 *
 * Failures keep what is stored and leave a partial model: a full disk throws StorageFull (nothing of
 * the failing chunk is kept), a cancel throws Cancelled, network errors that outlast the source's
 * retries are rethrown. A file that changed on the server (ETag) invalidates the chunks made from it
 * (a copied pack: that chunk file; a converted pack: every chunk, since converted row blocks are
 * shared between chunks): they are deleted and the download re-plans, at most MAX_REPLANS times.
 */
import { planPack, sha256Hex } from '../weights/convert';
import { neededTensors } from '../model/tensorList';
import { type PackManifest, encoderOnlyChunks } from '../weights/packFormat';
import type { PackJob, PackRecipe } from '../weights/packJob';
import type { FileSource } from '../weights/source';
import { type OpenSourceOptions, openSource } from '../weights/httpSource';
import { Cancelled, InvalidInput, IntegrityFailure } from '../errors';
import { type ManifestRecord, type ModelRecord, type ModelsDb, checkSpace, depKey, modelKeys, openModelsDb, writeOrFull } from './db';
import { announce, deferredBytes, modelId, packBytes, removeModel, storedBytesOf } from './models';
import { withModelLock } from './locks';
import { RateMeter, etaSeconds } from './progress';
import type { DownloadPlan, DownloadProgress, StoredModel } from './types';

/** Chunks in flight at once: enough to hide a round trip, few enough for memory (3 × 32 MiB). */
export const CONCURRENCY = 3;
/** Extra attempts for a chunk whose bytes fail their SHA-256 check (a corrupted transfer). */
const CHUNK_RETRIES = 2;
const MAX_REPLANS = 2;
const PROGRESS_INTERVAL_MS = 250;
/** What finish() gets for a deferred chunk's hash (it accepts hex digests only); never stored. */
const DEFERRED_STAND_IN = '0'.repeat(64);

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  concurrency?: number;
  /** Chunk size of a converted pack (a copied pack keeps its own). */
  chunkBytes?: number;
  /** Passed to openSource for every source of the recipe (hubUrl, fetch, retry). */
  sourceOptions?: OpenSourceOptions;
  /**
   * Opens the recipe's sources instead of openSource (e.g. files the user picked from a local
   * folder, src/weights/fileListSource.ts). ETag checks and retries are then the source's business.
   */
  open?: (source: string) => FileSource;
  /**
   * Leave the VAE encoder's chunks to be fetched when editing is first used (default true). false
   * stores every chunk now: for sources that are gone later (an imported local folder).
   */
  deferEncoder?: boolean;
}

/** Whether two plans describe the same pack bytes (same layout, sizes, tensors, source hashes). */
export function samePlan(a: ModelRecord['plan'], b: ModelRecord['plan']): boolean {
  const shape = (m: ModelRecord['plan']) => JSON.stringify([m.chunkBytes, m.totalBytes, m.chunks, m.files, m.components]);
  return shape(a) === shape(b);
}

/** Plans `recipe` and says how much is stored already; reads only headers from the network. */
export async function planDownload(recipe: PackRecipe, opts: DownloadOptions = {}): Promise<DownloadPlan> {
  const id = await modelId(recipe);
  const db = await openModelsDb();
  const done = await db.get('manifests', id);
  if (done) {
    const total = packBytes(done.manifest);
    return { id, name: done.manifest.name, totalBytes: total, storedBytes: total - deferredBytes(done), deferredBytes: deferredBytes(done) };
  }
  const job = await planPack(recipe, opts.open ?? ((s) => openSource(s, opts.sourceOptions)), neededTensors, planOptions(opts.chunkBytes, opts.signal));
  const rec = await db.get('models', id);
  const have = rec && samePlan(rec.plan, job.plan) ? await storedBytesOf(db, id, job.plan) : { bytes: 0, chunks: new Set<string>() };
  const deferred = deferredChunks(job.plan, opts.deferEncoder, have.chunks);
  return { id, name: job.plan.name, totalBytes: packBytes(job.plan), storedBytes: have.bytes, deferredBytes: chunkBytesOf(job.plan, deferred) };
}

/** Paths of the encoder-only chunks of `plan` not in `stored`, when deferral is on (`defer` not false). */
function deferredChunks(plan: PackManifest, defer: boolean | undefined, stored: ReadonlySet<string>): Set<string> {
  if (defer === false) return new Set();
  return new Set(encoderOnlyChunks(plan).map((i) => plan.chunks[i]?.path as string).filter((p) => !stored.has(p)));
}

/** Bytes of the chunks of `plan` named in `paths`. */
function chunkBytesOf(plan: PackManifest, paths: ReadonlySet<string>): number {
  return plan.chunks.reduce((s, c) => s + (paths.has(c.path) ? c.bytes : 0), 0);
}

/**
 * Downloads (or resumes) `recipe` into the store; resolves with the complete model. A model already
 * complete resolves at once, without its lock: it may be loaded (held shared) in this tab or another.
 */
export async function downloadModel(recipe: PackRecipe, opts: DownloadOptions = {}): Promise<StoredModel> {
  const id = await modelId(recipe);
  const done = await (await openModelsDb()).get('manifests', id);
  if (done) return completeModel(id, recipe, done);
  return withModelLock(id, 'exclusive', 'download', async () => {
    try {
      return await new Download(id, recipe, opts).run();
    } finally {
      announce({ type: 'ended', id });
      announce({ type: 'changed' });
    }
  });
}

/**
 * The `deps` of a stored chunk (db.ts StoredBytes): a copied pack's chunk (`want`, its source hash,
 * known) comes from the same path of the base, a converted one from any source file.
 */
export function chunkDeps(id: string, recipe: PackRecipe, path: string, want: string): string[] {
  return [want ? depKey(id, recipe.base, path) : depKey(id, '*', '*')];
}

/** planPack's options without undefined members (exactOptionalPropertyTypes). */
function planOptions(chunkBytes: number | undefined, signal: AbortSignal | undefined): { chunkBytes?: number; signal?: AbortSignal } {
  return { ...(chunkBytes === undefined ? {} : { chunkBytes }), ...(signal ? { signal } : {}) };
}

class Download {
  private readonly db: Promise<ModelsDb> = openModelsDb();
  private readonly outer: AbortSignal | undefined;
  /** Source string → path → ETag, persisted in the record so a resume checks across sessions. */
  private readonly etags = new Map<string, Map<string, string>>();
  private etagsSaved = '';
  /** Source files whose ETag changed during this pass, as `source\nfile`. */
  private readonly changed = new Set<string>();
  private readonly meter = new RateMeter();
  private progress: DownloadProgress;
  private lastReport = 0;

  constructor(
    private readonly id: string,
    private readonly recipe: PackRecipe,
    private readonly opts: DownloadOptions,
  ) {
    this.outer = opts.signal;
    this.progress = {
      id, name: recipe.name, doneBytes: 0, totalBytes: 0, resumedBytes: 0, fetchedBytes: 0,
      bytesPerSec: null, etaSeconds: null, chunksDone: 0, chunks: 0, retries: 0, lastRetry: null,
    };
  }

  async run(): Promise<StoredModel> {
    const db = await this.db;
    for (let replans = 0; ; replans++) {
      try {
        return await this.pass(db);
      } catch (e) {
        if (this.outer?.aborted) throw new Cancelled();
        if (!(e instanceof IntegrityFailure) || this.changed.size === 0 || replans >= MAX_REPLANS) throw e;
        await this.invalidate(db);
      }
    }
  }

  /** Deletes the chunks made from changed files and forgets those files' ETags (next pass re-plans). */
  private async invalidate(db: ModelsDb): Promise<void> {
    const tx = db.transaction(['chunks', 'models'], 'readwrite');
    const chunks = tx.objectStore('chunks');
    for (const key of [...this.changed, '*\n*']) {
      for (const k of await chunks.index('deps').getAllKeys(`${this.id}\n${key}`)) await chunks.delete(k);
      const [source = '', file = ''] = key.split('\n');
      this.etags.get(source)?.delete(file);
    }
    const rec = await tx.objectStore('models').get(this.id);
    if (rec) await tx.objectStore('models').put({ ...rec, etags: this.etagRecord() }, this.id);
    await tx.done;
    this.changed.clear();
  }

  /** The recipe's sources, with this download's ETags, byte and retry counters; notes ETag changes. */
  private open(source: string, prior: ModelRecord['etags']): FileSource {
    let etags = this.etags.get(source);
    if (!etags) {
      etags = new Map(Object.entries(prior[source] ?? {}));
      this.etags.set(source, etags);
    }
    if (this.opts.open) return this.counted(this.opts.open(source));
    const inner = openSource(source, {
      ...this.opts.sourceOptions,
      etags,
      onRetry: (e) => {
        this.progress.retries++;
        this.progress.lastRetry = `${e.reason} (${e.url}); retrying in ${(e.delayMs / 1000).toFixed(1)} s`;
        this.report(true);
      },
      onBytes: (n) => this.fetched(n),
    });
    const note = <R>(signal: AbortSignal | undefined, call: (s: AbortSignal | undefined) => Promise<R>): Promise<R> =>
      call(signal ?? this.outer).catch((e: unknown) => {
        if (e instanceof IntegrityFailure) this.changed.add(`${source}\n${e.path}`);
        throw e;
      });
    return {
      id: inner.id,
      size: (p, s) => note(s, (sig) => inner.size(p, sig)),
      range: (p, a, b, s) => note(s, (sig) => inner.range(p, a, b, sig)),
      json: <T>(p: string, s?: AbortSignal) => note(s, (sig) => inner.json<T>(p, sig)),
      exists: (p, s) => note(s, (sig) => inner.exists(p, sig)),
    };
  }

  /** Counts `n` bytes received from a source (speed and time left). */
  private fetched(n: number): void {
    this.progress.fetchedBytes += n;
    this.meter.add(performance.now(), this.progress.fetchedBytes);
    this.report(false);
  }

  /** A caller-opened source whose range() bytes count as fetched. */
  private counted(inner: FileSource): FileSource {
    return {
      id: inner.id,
      size: (p, s) => inner.size(p, s ?? this.outer),
      range: async (p, a, b, s) => {
        const bytes = await inner.range(p, a, b, s ?? this.outer);
        this.fetched(bytes.length);
        return bytes;
      },
      json: <T>(p: string, s?: AbortSignal) => inner.json<T>(p, s ?? this.outer),
      exists: (p, s) => inner.exists(p, s ?? this.outer),
    };
  }

  private etagRecord(): ModelRecord['etags'] {
    return Object.fromEntries([...this.etags].map(([s, m]) => [s, Object.fromEntries(m)]));
  }

  private async pass(db: ModelsDb): Promise<StoredModel> {
    const done = await db.get('manifests', this.id);
    if (done) return this.summary(done);
    const prior = await db.get('models', this.id);
    const job = await planPack(this.recipe, (s) => this.open(s, prior?.etags ?? {}), neededTensors, planOptions(this.opts.chunkBytes, this.outer));
    const plan = job.plan;
    const resumable = prior !== undefined && samePlan(prior.plan, plan);
    if (prior && !resumable) await removeModel(db, this.id); // another version: start over
    const have = resumable ? await storedBytesOf(db, this.id, plan) : { bytes: 0, chunks: new Set<string>(), files: new Set<string>() };
    const deferred = deferredChunks(plan, this.opts.deferEncoder, have.chunks);
    const total = packBytes(plan) - chunkBytesOf(plan, deferred); // what this download stores
    await checkSpace(plan.name, total - have.bytes);
    const record: ModelRecord = { id: this.id, recipe: this.recipe, plan, etags: this.etagRecord(), createdAt: prior?.createdAt ?? Date.now() };
    await db.put('models', record, this.id);
    announce({ type: 'changed' }); // other tabs list it now (busy: our lock)
    this.etagsSaved = JSON.stringify(record.etags);
    Object.assign(this.progress, {
      name: plan.name, totalBytes: total, doneBytes: have.bytes, resumedBytes: have.bytes,
      chunks: plan.chunks.length - deferred.size, chunksDone: have.chunks.size,
    });
    this.report(true);

    const todo = plan.chunks.map((c, i) => ({ c, i })).filter(({ c }) => !have.chunks.has(c.path) && !deferred.has(c.path));
    await this.pool(todo.map(({ c, i }) => (signal) => this.fetchChunk(db, job, i, c.path, c.sha256, signal)));
    for (const f of plan.files) {
      if (have.files.has(f.path)) continue;
      const bytes = await job.file(f.path, this.outer);
      await this.write(db, 'files', f.path, bytes, []);
    }

    // The manifest, last: from here on the model is complete.
    const chunkSha = new Map<string, string>();
    // a key cursor on the index reads [id, path, sha256] without loading any chunk's bytes
    let cur = await db.transaction('chunks').store.index('hash').openKeyCursor(IDBKeyRange.bound([this.id], [this.id, []]));
    for (; cur; cur = await cur.continue()) chunkSha.set(cur.key[1], cur.key[2]);
    const files = await db.getAll('files', modelKeys(this.id));
    const fileSha = new Map(files.map((f) => [f.path, f.sha256]));
    for (const path of chunkSha.keys()) deferred.delete(path); // stored meanwhile (editing in another tab)
    const missing = [...plan.chunks, ...plan.files].filter((c) => !chunkSha.has(c.path) && !fileSha.has(c.path) && !deferred.has(c.path)).map((c) => c.path);
    if (missing.length) throw new InvalidInput(`Download of ${plan.name}: ${missing.length} parts missing after the run (${missing.slice(0, 3).join(', ')}…); deleted in another tab?`);
    // finish() takes hex digests only: a deferred chunk gets a stand-in, then what the plan knows of it
    // ('' converted, the source manifest's hash copied) until deferred.ts stores it
    const finished = job.finish(plan.chunks.map((c) => chunkSha.get(c.path) ?? DEFERRED_STAND_IN), plan.files.map((f) => fileSha.get(f.path) as string));
    const manifest = { ...finished, chunks: finished.chunks.map((c, i) => (deferred.has(c.path) ? { ...c, sha256: plan.chunks[i]?.sha256 ?? '' } : c)) };
    const complete: ManifestRecord = { id: this.id, manifest, completedAt: Date.now(), deferred: plan.chunks.filter((c) => deferred.has(c.path)).map((c) => c.path) };
    await writeOrFull(plan.name, 'the manifest', async () => {
      await db.put('manifests', complete, this.id);
    });
    this.report(true);
    return this.summary(complete);
  }

  /**
   * One chunk: fetch (again after a failed SHA-256 check), write with the source files it came from:
   * a copied pack (`want` known) reads the same path of the base, a converted one any file.
   */
  private async fetchChunk(db: ModelsDb, job: PackJob, i: number, path: string, want: string, signal: AbortSignal): Promise<void> {
    const deps = chunkDeps(this.id, this.recipe, path, want);
    for (let attempt = 0; ; attempt++) {
      try {
        const bytes = await job.chunk(i, signal);
        if (want) {
          const got = await sha256Hex(bytes);
          if (got !== want) throw new IntegrityFailure(`${path}: SHA-256 ${got} does not match the source manifest's ${want}`, path);
        }
        await this.write(db, 'chunks', path, bytes, deps);
        this.progress.chunksDone++;
        return;
      } catch (e) {
        if (!isCorrupted(e) || this.changed.size > 0 || attempt >= CHUNK_RETRIES || signal.aborted) throw e;
        this.progress.retries++;
        this.progress.lastRetry = `${(e as Error).message}; fetching it again`;
      }
    }
  }

  /** Writes one chunk or file (and the ETags seen, when new) in one transaction. */
  private async write(db: ModelsDb, store: 'chunks' | 'files', path: string, bytes: Uint8Array, deps: string[]): Promise<void> {
    const sha256 = await sha256Hex(bytes);
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
    const etags = JSON.stringify(this.etagRecord());
    await writeOrFull(this.progress.name, path, async () => {
      const tx = db.transaction([store, 'models'], 'readwrite');
      const rec = etags !== this.etagsSaved ? await tx.objectStore('models').get(this.id) : undefined;
      await Promise.all([
        tx.objectStore(store).put({ id: this.id, path, bytes: buffer, sha256, deps }, [this.id, path]),
        rec ? tx.objectStore('models').put({ ...rec, etags: JSON.parse(etags) as ModelRecord['etags'] }, this.id) : null,
        tx.done,
      ]);
    });
    this.etagsSaved = etags;
    this.progress.doneBytes += bytes.length;
    this.report(false);
  }

  /** Runs the tasks CONCURRENCY at a time; the first failure aborts the others and is rethrown. */
  private async pool(tasks: Array<(signal: AbortSignal) => Promise<void>>): Promise<void> {
    const stop = new AbortController();
    const signal = this.outer ? AbortSignal.any([this.outer, stop.signal]) : stop.signal;
    let next = 0;
    let first: unknown = null;
    const lane = async (): Promise<void> => {
      while (next < tasks.length && !signal.aborted) {
        const task = tasks[next++] as (s: AbortSignal) => Promise<void>;
        try {
          await task(signal);
        } catch (e) {
          first ??= e;
          stop.abort(e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? CONCURRENCY, tasks.length) }, lane));
    if (this.outer?.aborted) throw new Cancelled();
    if (first !== null) throw first;
  }

  private report(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastReport < PROGRESS_INTERVAL_MS) return;
    this.lastReport = now;
    const p = this.progress;
    p.bytesPerSec = this.meter.rate();
    p.etaSeconds = etaSeconds(p.totalBytes - p.doneBytes, p.bytesPerSec, p.fetchedBytes, p.doneBytes - p.resumedBytes);
    const copy = { ...p };
    this.opts.onProgress?.(copy);
    announce({ type: 'progress', progress: copy });
  }

  private summary(done: ManifestRecord): StoredModel {
    return completeModel(this.id, this.recipe, done);
  }
}

/** The StoredModel of a complete model. */
function completeModel(id: string, recipe: PackRecipe, done: ManifestRecord): StoredModel {
  const m = done.manifest;
  const total = packBytes(m);
  const deferred = deferredBytes(done);
  return {
    id, name: m.name, source: recipe.base, recipe, quant: m.quant,
    totalBytes: total, storedBytes: total - deferred, deferredBytes: deferred, complete: true, busy: false,
  };
}

/**
 * A chunk whose bytes failed their SHA-256 check. convert.ts's copy job reports it as a plain Error
 * ("… SHA-256 … does not match the manifest's …"), hence the message test beside IntegrityFailure.
 */
function isCorrupted(e: unknown): boolean {
  return e instanceof IntegrityFailure;
}
