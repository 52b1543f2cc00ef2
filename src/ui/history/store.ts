/**
 * The image history in IndexedDB (database 'kleinbild-history', separate from the model store):
 * one entry per finished image with its parameters, the PNG (with the text chunks of ../png.ts)
 * and a small thumbnail (JPEG, ≤ 256 px a side). Every change is announced to this tab's
 * listeners and, through a BroadcastChannel of the same name, to the other tabs of the origin.
 *
 * Schema (version 1), all keyed by the entry id:
 *   entries     HistoryEntry, index 'createdAt'
 *   png         Blob (image/png)
 *   thumbnail   Blob (image/jpeg)
 * An entry and its two images are written and deleted in one transaction, so each exists only
 * with the others. Errors are IndexedDB's own DOMExceptions, passed on unchanged: a write past the
 * origin's storage quota rejects with one named 'QuotaExceededError' and stores nothing.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { StageTimings } from '../../worker/api';

export interface HistoryEntry {
  /** Random UUID. */
  id: string;
  /** Milliseconds since the Unix epoch (Date.now()) when the entry was added. */
  createdAt: number;
  prompt: string;
  /** Image size in pixels. */
  width: number;
  height: number;
  steps: number;
  seed: number;
  /** Classifier-free guidance scale of a base-model image (0–20); absent for a distilled model and in entries made before it was recorded. */
  guidance?: number;
  /** Negative prompt of a base-model image; absent when there was none. */
  negativePrompt?: string;
  /** The model source it was generated with (hub repo id or URL). */
  model: string;
  /** How many reference images the request had (the references themselves are not stored). */
  referenceCount: number;
  timings: StageTimings;
  /** The LoRAs applied, by name and strength; absent in entries without any (and in older entries). */
  loras?: { name: string; strength: number }[];
  /**
   * The safety checker's verdict when it checked the image and let it pass: the classifier (its
   * `SafetyConfig.model`) and every label's softmax score. Absent when no checker ran (off, or entries
   * made before it existed); the kiosk's attract loop leaves such entries out while its checker is on.
   */
  safety?: { model: string; scores: Record<string, number> };
}

export type HistoryImageKind = 'png' | 'thumbnail';

export const HISTORY_DB = 'kleinbild-history';
export const HISTORY_DB_VERSION = 1;

interface HistorySchema extends DBSchema {
  entries: { key: string; value: HistoryEntry; indexes: { createdAt: number } };
  png: { key: string; value: Blob };
  thumbnail: { key: string; value: Blob };
}

let db: Promise<IDBPDatabase<HistorySchema>> | null = null;

function open(): Promise<IDBPDatabase<HistorySchema>> {
  db ??= openDB<HistorySchema>(HISTORY_DB, HISTORY_DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        database.createObjectStore('entries', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
        database.createObjectStore('png');
        database.createObjectStore('thumbnail');
      }
    },
    // A newer version of the app opened in another tab: let it upgrade; the next call reopens.
    blocking() {
      void db?.then((d) => d.close());
      db = null;
    },
    terminated() {
      db = null;
    },
  });
  // A failed open (IndexedDB disabled, private mode) is reported to the caller and retried next time.
  db.catch(() => {
    db = null;
  });
  return db;
}

const listeners = new Set<() => void>();
let channel: BroadcastChannel | null = null;

/** The channel to the other tabs; it does not echo this tab's own messages back to it. */
function broadcast(): BroadcastChannel | null {
  if (channel === null && typeof BroadcastChannel !== 'undefined') {
    channel = new BroadcastChannel(HISTORY_DB);
    channel.onmessage = () => {
      for (const cb of listeners) cb();
    };
  }
  return channel;
}

function changed(): void {
  for (const cb of listeners) cb();
  broadcast()?.postMessage('changed');
}

/** Stores `entry` exactly as given (same id and createdAt), with its images; used to add and to undo a delete. */
export async function putHistory(entry: HistoryEntry, png: Blob, thumbnail: Blob): Promise<void> {
  const d = await open();
  const tx = d.transaction(['entries', 'png', 'thumbnail'], 'readwrite');
  await Promise.all([
    tx.objectStore('entries').put(entry),
    tx.objectStore('png').put(png, entry.id),
    tx.objectStore('thumbnail').put(thumbnail, entry.id),
    tx.done,
  ]);
  changed();
}

/** Adds a new entry with a fresh id and the current time; resolves with it once it is stored. */
export async function addHistory(entry: Omit<HistoryEntry, 'id' | 'createdAt'>, png: Blob, thumbnail: Blob): Promise<HistoryEntry> {
  const stored: HistoryEntry = { ...entry, id: crypto.randomUUID(), createdAt: Date.now() };
  await putHistory(stored, png, thumbnail);
  return stored;
}

/** Every entry, newest first. */
export async function listHistory(): Promise<HistoryEntry[]> {
  const d = await open();
  return (await d.getAllFromIndex('entries', 'createdAt')).reverse();
}

/** One entry, or undefined when there is none with that id. */
export async function getHistory(id: string): Promise<HistoryEntry | undefined> {
  return (await open()).get('entries', id);
}

/** The entry's PNG or thumbnail; undefined when the entry does not exist (any more). */
export async function historyImage(id: string, kind: HistoryImageKind): Promise<Blob | undefined> {
  return (await open()).get(kind, id);
}

/** Deletes an entry and its images; deleting a missing id does nothing (and announces nothing). */
export async function deleteHistory(id: string): Promise<void> {
  const d = await open();
  const tx = d.transaction(['entries', 'png', 'thumbnail'], 'readwrite');
  const existed = (await tx.objectStore('entries').getKey(id)) !== undefined;
  await Promise.all([
    tx.objectStore('entries').delete(id),
    tx.objectStore('png').delete(id),
    tx.objectStore('thumbnail').delete(id),
    tx.done,
  ]);
  if (existed) changed();
}

/** Deletes every entry and image. */
export async function clearHistory(): Promise<void> {
  const d = await open();
  const tx = d.transaction(['entries', 'png', 'thumbnail'], 'readwrite');
  await Promise.all([tx.objectStore('entries').clear(), tx.objectStore('png').clear(), tx.objectStore('thumbnail').clear(), tx.done]);
  changed();
}

/** Called after any change, also from other tabs (BroadcastChannel); returns an unsubscribe function. */
export function onHistoryChange(cb: () => void): () => void {
  listeners.add(cb);
  broadcast();
  return () => {
    listeners.delete(cb);
  };
}
