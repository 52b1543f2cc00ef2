/**
 * The VAE encoder of a stored model, fetched the first time a reference image is encoded: a download
 * leaves out the chunks that hold only the encoder (packFormat.ts encoderOnlyChunks; download.ts
 * `deferEncoder`), and storeSource.ts calls fetchDeferred when one of them is read.
 *
 * The recipe is planned again from the network (planPack reads only headers; the ETags seen by the
 * download are checked), each deferred chunk is produced by the job (a copied pack's chunk is checked
 * against its known SHA-256), and written together with its manifest update (hash filled in, path
 * removed from `deferred`) in one transaction: a failure at any point leaves the model as it was,
 * complete and loadable, with the chunks not yet written still deferred.
 *
 * Locks (models.ts): the model's lock is held `shared` while fetching, so no tab deletes or
 * re-downloads the model meanwhile, and other loads and fetches go on. When this realm already holds
 * it (a loaded model, whose reads await this: the usual case), it is not asked for again: an
 * exclusive request queued behind that hold (another tab's list in an older version of the app)
 * would make a second request wait on it for ever (or, `ifAvailable`, be refused). One fetch per model runs at a time: in this realm the same promise is
 * shared, across tabs the lock `<model lock>:deferred` makes the second wait, then find them stored.
 */
import { planPack, sha256Hex } from '../weights/convert';
import { neededTensors } from '../model/tensorList';
import type { PackJob } from '../weights/packJob';
import type { FileSource } from '../weights/source';
import { type OpenSourceOptions, openSource } from '../weights/httpSource';
import { type ManifestRecord, type ModelRecord, type ModelsDb, checkSpace, isQuotaError, openModelsDb } from './db';
import { InvalidInput, IntegrityFailure, StorageFull } from '../errors';
import { CONCURRENCY, chunkDeps, samePlan } from './download';
import { announce, deferredBytes, modelRecord } from './models';
import { holdsModelLock, lockName, withModelLock } from './locks';
import { formatBytes } from '../util/bytes';

export interface DeferredOptions {
  /** Passed to openSource for every source of the recipe (hubUrl, fetch, retry). */
  sourceOptions?: OpenSourceOptions;
}

/** The fetch running in this realm per model id. */
const inflight = new Map<string, Promise<ManifestRecord>>();


/**
 * Fetches and stores every deferred chunk of complete model `id`; resolves with its manifest record
 * (then with no `deferred` left). Concurrent calls share one fetch. Errors: InvalidInput saying that
 * editing needs the VAE encoder and to connect to the network (offline, network or HTTP failure), or
 * to download the model again (the source changed its layout, answers 404 or serves a broken
 * manifest), or that the model is gone or busy (deleted or downloaded in another tab);
 * IntegrityFailure (a chunk that fails its SHA-256, a source file whose ETag changed); StorageFull.
 */
export function fetchDeferred(id: string, opts: DeferredOptions = {}): Promise<ManifestRecord> {
  const running = inflight.get(id);
  if (running) return running;
  const work = () => navigator.locks.request(`${lockName(id)}:deferred`, () => fetchAll(id, opts));
  const p = holdsModelLock(id) ? work() : withModelLock(id, 'shared', 'fetch the VAE encoder of', work);
  inflight.set(id, p);
  const clear = () => {
    if (inflight.get(id) === p) inflight.delete(id);
  };
  p.then(clear, clear);
  return p;
}

/** The manifest record of `id`, or InvalidInput when the model is no longer complete. */
async function completeRecord(db: ModelsDb, id: string): Promise<ManifestRecord> {
  const rec = await db.get('manifests', id);
  if (!rec) throw new InvalidInput(`Model ${id} is no longer completely stored (deleted or damaged meanwhile): download it again from the Storage panel.`);
  return rec;
}

async function fetchAll(id: string, opts: DeferredOptions): Promise<ManifestRecord> {
  const db = await openModelsDb();
  const rec = await completeRecord(db, id);
  const todo = rec.deferred ?? [];
  if (todo.length === 0) return rec; // fetched meanwhile (another tab)
  const model = await modelRecord(db, id);
  const name = rec.manifest.name;
  const need = `Editing needs the VAE encoder of ${name} (${formatBytes(deferredBytes(rec))}), which is downloaded the first time a reference image is used`;
  if (navigator.onLine === false) throw new InvalidInput(`${need}; this browser is offline: connect to the network and try again.`);
  await checkSpace(name, deferredBytes(rec));

  const stop = new AbortController();
  /**
   * Source errors with what is needed: network and HTTP failures say to connect and try again; a
   * definite answer of the source (InvalidInput: HTTP 404, a manifest or file it must not serve)
   * says that trying again will not help.
   */
  const unreachable = (e: unknown): unknown => {
    if (e instanceof StorageFull || stop.signal.aborted) return e;
    if (e instanceof IntegrityFailure) {
      return new IntegrityFailure(`${need}: ${e.message}. Try again; if this persists, the model changed on the server: delete it and download it again.`, e.path);
    }
    if (e instanceof InvalidInput) {
      return new InvalidInput(`${need}, but ${model.recipe.base} no longer serves it as it was stored (${e.message}): delete the model and download it again.`, { cause: e });
    }
    return new InvalidInput(`${need}; connect to the network and try again (${e instanceof Error ? e.message : String(e)}).`, { cause: e });
  };
  const open = (source: string): FileSource => openSource(source, { ...opts.sourceOptions, etags: new Map(Object.entries(model.etags[source] ?? {})) });
  let job: PackJob;
  try {
    job = await planPack(model.recipe, open, neededTensors, { chunkBytes: rec.manifest.chunkBytes, signal: stop.signal });
  } catch (e) {
    throw unreachable(e);
  }
  if (!samePlan(model.plan, job.plan)) {
    throw new InvalidInput(`${need}, but ${model.recipe.base} is not the model that was stored any more: delete it and download it again.`);
  }

  const index = new Map(rec.manifest.chunks.map((c, i) => [c.path, i]));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < todo.length && !stop.signal.aborted) {
      const path = todo[next++] as string;
      const i = index.get(path);
      if (i === undefined) throw new InvalidInput(`Model ${id}: deferred ${path} is not a chunk of its manifest`);
      let bytes: Uint8Array;
      try {
        bytes = await job.chunk(i, stop.signal);
      } catch (e) {
        throw unreachable(e);
      }
      await storeChunk(db, model, path, bytes, rec.manifest.chunks[i]?.sha256 ?? '');
    }
  };
  // The first failure stops the other lanes; the call settles only once every lane has (a chunk
  // still being written when it rejected would change the store after the caller was told it failed).
  let failure: { error: unknown } | null = null;
  try {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, () => lane().catch((e: unknown) => {
      failure ??= { error: e };
      stop.abort(e);
    })));
  } finally {
    announce({ type: 'changed' }); // the panels show the encoder stored (or what is left)
  }
  if (failure) throw (failure as { error: unknown }).error;
  return completeRecord(db, id);
}

/**
 * Checks one fetched chunk against `want` (a copied pack's known hash; '' converted) and writes it
 * with its manifest update in one transaction. Writes nothing when the manifest is gone meanwhile.
 */
async function storeChunk(db: ModelsDb, model: ModelRecord, path: string, bytes: Uint8Array, want: string): Promise<void> {
  const { id } = model;
  const sha256 = await sha256Hex(bytes);
  if (want && sha256 !== want) throw new IntegrityFailure(`${path} of model ${id}: SHA-256 ${sha256} does not match the manifest's ${want} (corrupted in transfer or changed on the server); try again.`, path);
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
  let gone = false;
  try {
    const tx = db.transaction(['chunks', 'manifests'], 'readwrite');
    const cur = await tx.objectStore('manifests').get(id);
    if (!cur) {
      gone = true;
      await tx.done;
    } else {
      const manifest = { ...cur.manifest, chunks: cur.manifest.chunks.map((c) => (c.path === path ? { ...c, sha256 } : c)) };
      await Promise.all([
        tx.objectStore('chunks').put({ id, path, bytes: buffer, sha256, deps: chunkDeps(id, model.recipe, path, want) }, [id, path]),
        tx.objectStore('manifests').put({ ...cur, manifest, deferred: (cur.deferred ?? []).filter((p) => p !== path) }, id),
        tx.done,
      ]);
    }
  } catch (e) {
    if (!isQuotaError(e)) throw e;
    throw new StorageFull(
      `Storage is full: writing ${path} (the VAE encoder, for editing) of model ${id} failed (QuotaExceededError); nothing of it was kept. ` +
        'Free disk space or delete stored models, then try again.',
    );
  }
  if (gone) await completeRecord(db, id); // throws its message
}
