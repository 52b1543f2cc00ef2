/**
 * Listing and deleting stored models, and holding a loaded one (locks.ts: a download holds a model's
 * lock exclusively, a loaded model shared, a delete needs it exclusively, so no tab deletes a model
 * another one still reads). Every change is announced on the BroadcastChannel STORE_CHANNEL so other
 * tabs refresh their list.
 */
import { InvalidInput } from '../errors';
import { sha256Hex } from '../weights/convert';
import type { PackManifest } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import { type ManifestRecord, type ModelRecord, type ModelsDb, modelKeys, openModelsDb } from './db';
import { type ModelHold, acquireModelLock, busyError, heldLocks, loadedWhere, lockName, withModelLock } from './locks';
import { STORE_CHANNEL, type StorageReport, type StoreMessage, type StoredModel } from './types';

export type { ModelHold };

/**
 * A recipe's store id: `<slug of its name>-<first 8 hex of SHA-256(base, quant, overrides)>`, so the
 * same recipe always lands on the same id (a download resumes) and two recipes never share one.
 */
export async function modelId(recipe: PackRecipe): Promise<string> {
  const slug = recipe.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'model';
  const key = JSON.stringify([recipe.base, recipe.quant, recipe.overrides ?? null]);
  return `${slug}-${(await sha256Hex(new TextEncoder().encode(key))).slice(0, 8)}`;
}

/** Total bytes of a pack: chunks plus small files. */
export function packBytes(m: PackManifest): number {
  return m.totalBytes + m.files.reduce((s, f) => s + f.bytes, 0);
}

/** Bytes of a complete model's chunks not stored yet, left for the first edit (ManifestRecord.deferred). */
export function deferredBytes(rec: ManifestRecord): number {
  const deferred = new Set(rec.deferred ?? []);
  return rec.manifest.chunks.reduce((s, c) => s + (deferred.has(c.path) ? c.bytes : 0), 0);
}

/** Bytes of `plan` stored under `id` now, from the stored keys (no value is read). */
export async function storedBytesOf(db: ModelsDb, id: string, plan: PackManifest): Promise<{ bytes: number; chunks: Set<string>; files: Set<string> }> {
  const chunkKeys = await db.getAllKeys('chunks', modelKeys(id));
  const fileKeys = await db.getAllKeys('files', modelKeys(id));
  const chunks = new Set(chunkKeys.map((k) => k[1]));
  const files = new Set(fileKeys.map((k) => k[1]));
  let bytes = 0;
  for (const c of plan.chunks) if (chunks.has(c.path)) bytes += c.bytes;
  for (const f of plan.files) if (files.has(f.path)) bytes += f.bytes;
  return { bytes, chunks, files };
}

/** Every model in the store, complete or partial, oldest first. */
export async function storedModels(): Promise<StoredModel[]> {
  const db = await openModelsDb();
  const [records, manifests, held] = await Promise.all([db.getAll('models'), db.getAll('manifests'), heldLocks()]);
  const done = new Map(manifests.map((m) => [m.id, m]));
  const out: StoredModel[] = [];
  for (const r of records.sort((a, b) => a.createdAt - b.createdAt)) {
    const complete = done.get(r.id);
    const manifest = complete?.manifest;
    const plan = manifest ?? r.plan;
    const total = packBytes(plan);
    const deferred = complete ? deferredBytes(complete) : 0;
    const loaded = loadedWhere(r.id, held);
    out.push({
      id: r.id,
      name: plan.name,
      source: r.recipe.base,
      recipe: r.recipe,
      quant: plan.quant,
      totalBytes: total,
      storedBytes: manifest ? total - deferred : (await storedBytesOf(db, r.id, plan)).bytes,
      deferredBytes: deferred,
      complete: manifest !== undefined,
      busy: held.has(lockName(r.id)),
      ...(loaded ? { loaded } : {}),
    });
  }
  return out;
}

/** Usage, quota and persistence of this origin, with the stored models. */
export async function storageReport(): Promise<StorageReport> {
  const [models, est, persisted] = await Promise.all([storedModels(), navigator.storage.estimate(), navigator.storage.persisted()]);
  return { models, usage: est.usage ?? 0, quota: est.quota ?? 0, persisted };
}

/**
 * Holds model `id`'s lock shared until release(): what a loaded pipeline keeps (the worker lets go
 * when another model is loaded, on dispose, when the device is lost; the browser when the tab
 * closes), so no tab deletes or re-downloads the model while its chunks may still be read. Other
 * loads and reads go on. Announces the change both ways (the lists show it loaded). Throws
 * InvalidInput when the model is being downloaded or deleted.
 */
export async function holdModel(id: string, what = 'load'): Promise<ModelHold> {
  const hold = await acquireModelLock(id, 'shared', what);
  if (!hold) throw await busyError(id, what);
  announce({ type: 'changed' });
  let held = true;
  return {
    id,
    release() {
      if (!held) return;
      held = false;
      hold.release();
      // once the lock manager has let go: a list read on this message must not see it held still
      void hold.gone.then(() => announce({ type: 'changed' }));
    },
  };
}

let channel: BroadcastChannel | null = null;

/** Tells other tabs (and this tab's UI) about the store. */
export function announce(msg: StoreMessage): void {
  channel ??= new BroadcastChannel(STORE_CHANNEL);
  channel.postMessage(msg);
}

/** Removes a model's manifest, chunks, files and record in one transaction; a no-op for an unknown id. */
export async function removeModel(db: ModelsDb, id: string): Promise<void> {
  const tx = db.transaction(['manifests', 'chunks', 'files', 'models'], 'readwrite');
  await Promise.all([
    tx.objectStore('manifests').delete(id),
    tx.objectStore('chunks').delete(modelKeys(id)),
    tx.objectStore('files').delete(modelKeys(id)),
    tx.objectStore('models').delete(id),
    tx.done,
  ]);
}

/**
 * Deletes a model and everything stored for it. Throws InvalidInput while a tab downloads it or has
 * it loaded (this one or another), saying which.
 */
export async function deleteModel(id: string): Promise<void> {
  await withModelLock(id, 'exclusive', 'delete', async () => removeModel(await openModelsDb(), id));
  announce({ type: 'changed' });
}

/** The record of `id`, or an InvalidInput naming it. */
export async function modelRecord(db: ModelsDb, id: string): Promise<ModelRecord> {
  const r = await db.get('models', id);
  if (!r) throw new InvalidInput(`No model "${id}" in this browser's storage (it may have been deleted in another tab).`);
  return r;
}
