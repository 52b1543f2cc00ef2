/** What the model store reports to the UI (re-exported by src/worker/api.ts, the contract). */
import type { PackQuant } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';

/** A model in the browser's store; load it with the model source `store:<id>`. */
export interface StoredModel {
  /** `<name slug>-<8 hex of the recipe's SHA-256>`, stable for a recipe (so a download resumes). */
  id: string;
  /** The pack's display name. */
  name: string;
  /** Where it is downloaded from (the recipe's base). */
  source: string;
  /** What it was downloaded with: Resume downloads this again. */
  recipe: PackRecipe;
  quant: PackQuant;
  /** Chunk and small-file bytes of the whole pack. */
  totalBytes: number;
  /** Of those, bytes stored now. */
  storedBytes: number;
  /**
   * Of those, bytes not stored that a complete model fetches when editing is first used (its VAE
   * encoder chunks, store/deferred.ts); 0 once fetched, for a partial model and for an import.
   */
  deferredBytes: number;
  /** The manifest is written: the model loads. false = partial (resume or delete). */
  complete: boolean;
  /** Held by a download or a load, in this tab or another (Web Locks). */
  busy: boolean;
  /**
   * Where the model is loaded (its lock held shared, models.ts holdModel): in this tab's engine
   * ('here') or in another tab ('elsewhere'); absent when nowhere. It cannot be deleted meanwhile.
   */
  loaded?: 'here' | 'elsewhere';
}

export interface StorageReport {
  models: StoredModel[];
  /** navigator.storage.estimate() of this origin, bytes (everything it stores, not only models). */
  usage: number;
  quota: number;
  /** navigator.storage.persisted(): the browser will not evict this origin's data under pressure. */
  persisted: boolean;
}

/** What a download would fetch, before it starts. */
export interface DownloadPlan {
  id: string;
  name: string;
  totalBytes: number;
  /** Already stored (a partial download resumes after these). */
  storedBytes: number;
  /**
   * Of totalBytes, what the download leaves to fetch when editing is first used (the VAE encoder's
   * chunks, store/deferred.ts); 0 when nothing is deferred.
   */
  deferredBytes: number;
}

export interface DownloadProgress {
  id: string;
  name: string;
  /** Pack bytes stored (chunks and small files), including those stored before this session. */
  doneBytes: number;
  totalBytes: number;
  /** Stored before this session started (resume). */
  resumedBytes: number;
  /** Bytes received from the network in this session. */
  fetchedBytes: number;
  /** Stored bytes per second over the last few seconds; null until measurable. */
  bytesPerSec: number | null;
  /** Seconds left at that rate; null when unknown. */
  etaSeconds: number | null;
  chunksDone: number;
  chunks: number;
  /** Requests retried in this session (network errors, 429, 5xx) and the last reason. */
  retries: number;
  lastRetry: string | null;
}

/** Tabs tell each other about the store on this BroadcastChannel. */
export const STORE_CHANNEL = 'kleinbild-models';

export type StoreMessage = { type: 'changed' } | { type: 'progress'; progress: DownloadProgress } | { type: 'ended'; id: string };

/** Recipe bases of models imported from a local folder start with this (store/importFolder.ts). */
export const LOCAL_PREFIX = 'local:';

/** Whether a stored model came from a local folder: it resumes only when that folder is chosen again. */
export function isLocalRecipe(recipe: PackRecipe): boolean {
  return recipe.base.startsWith(LOCAL_PREFIX);
}
