/**
 * React hooks over the history store: the live entry list, object URLs of thumbnails, and the
 * saver that puts every finished image of the session into the history.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Output } from '../useGenerator';
import { errorText, saveOutput } from './save';
import { historyImage, listHistory, onHistoryChange, type HistoryEntry } from './store';

export interface HistoryList {
  /** Newest first; null until the first read finished (or when it failed). */
  entries: readonly HistoryEntry[] | null;
  /** Why the history could not be read, or null. */
  error: string | null;
}

/** The stored entries, re-read after every change in this or another tab. */
export function useHistoryEntries(): HistoryList {
  const [state, setState] = useState<HistoryList>({ entries: null, error: null });
  useEffect(() => {
    let alive = true;
    let generation = 0;
    const refresh = () => {
      const mine = ++generation;
      listHistory().then(
        (entries) => alive && mine === generation && setState({ entries, error: null }),
        (e: unknown) => alive && mine === generation && setState({ entries: null, error: `Could not read the history: ${errorText(e)}.` }),
      );
    };
    const unsubscribe = onHistoryChange(refresh);
    refresh();
    return () => {
      alive = false;
      unsubscribe();
    };
  }, []);
  return state;
}

/** Object URLs of the entries' thumbnails by id, created as entries appear and revoked as they go. */
export function useThumbnailUrls(entries: readonly HistoryEntry[] | null): { urls: ReadonlyMap<string, string>; error: string | null } {
  const owned = useRef(new Map<string, string>());
  const [urls, setUrls] = useState<ReadonlyMap<string, string>>(() => new Map());
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    const want = new Set(entries?.map((e) => e.id));
    for (const [id, url] of owned.current) {
      if (want.has(id)) continue;
      URL.revokeObjectURL(url);
      owned.current.delete(id);
    }
    setUrls(new Map(owned.current));
    const missing = [...want].filter((id) => !owned.current.has(id));
    if (missing.length === 0) return;
    Promise.all(missing.map(async (id) => [id, await historyImage(id, 'thumbnail')] as const)).then(
      (loaded) => {
        if (!alive) return;
        for (const [id, blob] of loaded) if (blob && !owned.current.has(id)) owned.current.set(id, URL.createObjectURL(blob));
        setUrls(new Map(owned.current));
        setError(null);
      },
      (e: unknown) => alive && setError(`Could not read the thumbnails: ${errorText(e)}.`),
    );
    return () => {
      alive = false;
    };
  }, [entries]);
  useEffect(
    () => () => {
      for (const url of owned.current.values()) URL.revokeObjectURL(url);
      owned.current.clear();
    },
    [],
  );
  return { urls, error };
}

/** An image of this session that could not be stored, with the reason. */
export interface SaveFailure {
  output: Output;
  message: string;
}

export interface HistorySaver {
  /** Images not in the history, oldest first; they stay shown in the output panel. */
  failures: readonly SaveFailure[];
  /** Tries to store every failed image again. */
  retry(): void;
  /** Forgets the failures (the images stay out of the history). */
  dismiss(): void;
}

/** Stores each new output once, as it arrives (never one the safety checker flagged); a failed save is kept in `failures` instead of thrown. */
export function useHistorySaver(outputs: readonly Output[]): HistorySaver {
  const attempted = useRef(new Set<number>());
  const [failures, setFailures] = useState<readonly SaveFailure[]>([]);

  const save = useCallback((output: Output) => {
    saveOutput(output).catch((e: unknown) =>
      setFailures((f) => [...f, { output, message: `Could not save image #${output.id} (seed ${output.result.seed}) to the history: ${errorText(e)}.` }]),
    );
  }, []);

  useEffect(() => {
    for (const o of outputs) {
      if (attempted.current.has(o.id) || o.flagged) continue; // flagged by the safety checker: never stored
      attempted.current.add(o.id);
      save(o);
    }
  }, [outputs, save]);

  // Read at click time; a state updater must stay free of side effects (StrictMode runs it twice).
  const current = useRef(failures);
  current.current = failures;
  const retry = useCallback(() => {
    const again = current.current;
    setFailures([]);
    for (const { output } of again) save(output);
  }, [save]);
  const dismiss = useCallback(() => setFailures([]), []);
  return { failures, retry, dismiss };
}
