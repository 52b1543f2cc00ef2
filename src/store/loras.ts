/**
 * The LoRA files of the app, stored beside the models in `kleinbild-models` (db.ts, version 2): a
 * record per name in `loras` (what the panel lists, with its switch and strength) and the bytes in
 * `loraFiles`, written and deleted together in one transaction, so a record never lacks its file.
 * The engine gets the bytes again after every model load (GeneratorApi.addLora), so LoRAs work
 * offline and survive reloads. Changes are announced to the other tabs on the store's channel.
 */
import { InvalidInput } from '../errors';
import { type LoraRecord, openModelsDb, writeOrFull } from './db';

export type { LoraRecord };

/** The strengths the panel offers; requests may go further (pipeline/loras.ts LORA_STRENGTH_MAX). */
export const LORA_STRENGTH_MIN = -2;
export const LORA_STRENGTH_LIMIT = 2;
/** The panel's strength step. */
export const LORA_STRENGTH_STEP = 0.05;

const CHANNEL = 'kleinbild-loras';

const listeners = new Set<() => void>();
let channel: BroadcastChannel | null = null;

function broadcast(): BroadcastChannel | null {
  if (channel === null && typeof BroadcastChannel !== 'undefined') {
    channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = () => {
      for (const cb of listeners) cb();
    };
    (channel as { unref?: () => void }).unref?.(); // Node (tests): do not keep the process alive
  }
  return channel;
}

function changed(): void {
  for (const cb of listeners) cb();
  broadcast()?.postMessage('changed');
}

/** Called after any change of the stored LoRAs, also in other tabs; returns an unsubscribe function. */
export function onLorasChange(cb: () => void): () => void {
  listeners.add(cb);
  broadcast();
  return () => {
    listeners.delete(cb);
  };
}

/** A strength the panel can show: a finite number clamped to −2…2, to two decimals (not a number: 1). */
export function clampStrength(s: number): number {
  if (!Number.isFinite(s)) return 1;
  return Number(Math.min(LORA_STRENGTH_LIMIT, Math.max(LORA_STRENGTH_MIN, s)).toFixed(2));
}

/** Every stored LoRA, oldest first (no bytes read). */
export async function listLoras(): Promise<LoraRecord[]> {
  const db = await openModelsDb();
  const all = await db.getAll('loras');
  return all.sort((a, b) => a.addedAt - b.addedAt || (a.name < b.name ? -1 : 1));
}

/** The stored file of `name`; InvalidInput when there is none. */
export async function loraBytes(name: string): Promise<Uint8Array> {
  const bytes = await (await openModelsDb()).get('loraFiles', name);
  if (!bytes) throw new InvalidInput(`LoRA "${name}" is not stored in this browser`);
  return new Uint8Array(bytes);
}

/**
 * Stores (or replaces) a LoRA and its bytes in one transaction. StorageFull when the quota is
 * exceeded; nothing of it is kept then (a replaced LoRA stays as it was).
 */
export async function putLora(record: LoraRecord, bytes: Uint8Array): Promise<void> {
  const db = await openModelsDb();
  const copy = bytes.slice().buffer;
  await writeOrFull(`LoRA "${record.name}"`, 'the file', async () => {
    const tx = db.transaction(['loras', 'loraFiles'], 'readwrite');
    await Promise.all([tx.objectStore('loras').put(record, record.name), tx.objectStore('loraFiles').put(copy, record.name), tx.done]);
  });
  changed();
}

/** Changes a stored LoRA's switch or strength (the bytes stay); a missing name does nothing. */
export async function updateLora(name: string, patch: Partial<Pick<LoraRecord, 'enabled' | 'strength'>>): Promise<void> {
  const db = await openModelsDb();
  const tx = db.transaction('loras', 'readwrite');
  const r = await tx.store.get(name);
  if (r) await tx.store.put({ ...r, ...patch }, name);
  await tx.done;
  if (r) changed();
}

/** Sets every stored LoRA's switch and strength at once (History → Reopen): `uses` on, the rest off. */
export async function selectLoras(uses: readonly { name: string; strength: number }[]): Promise<void> {
  const db = await openModelsDb();
  const tx = db.transaction('loras', 'readwrite');
  const byName = new Map(uses.map((u) => [u.name, u.strength]));
  for (const r of await tx.store.getAll()) {
    const s = byName.get(r.name);
    await tx.store.put({ ...r, enabled: s !== undefined, strength: s === undefined ? r.strength : clampStrength(s) }, r.name);
  }
  await tx.done;
  changed();
}

/** Deletes a LoRA's record and its bytes (their space is freed); a missing name does nothing. */
export async function deleteLora(name: string): Promise<void> {
  const db = await openModelsDb();
  const tx = db.transaction(['loras', 'loraFiles'], 'readwrite');
  await Promise.all([tx.objectStore('loras').delete(name), tx.objectStore('loraFiles').delete(name), tx.done]);
  changed();
}

/** Bytes held by the stored LoRA files (for the storage figures). */
export async function loraUsage(): Promise<number> {
  return (await listLoras()).reduce((n, r) => n + r.size, 0);
}
