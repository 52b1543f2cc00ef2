/**
 * React hook for the model store: the stored models, usage and quota (from the worker), the
 * download this tab runs (progress through a Comlink callback), downloads seen in other tabs (the
 * store's BroadcastChannel), the size a download would fetch before it starts, and imports of
 * local folders (which run like a download: same progress, Cancel and errors).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import * as Comlink from 'comlink';
import type { DownloadPlan, DownloadProgress, GeneratorApi, ImportPlan, LocalFile, PackQuant, PackRecipe, StorageReport, StoredModel } from '../worker/api';
import { STORE_CHANNEL, type StoreMessage } from '../store/types';
import { whenReleased } from '../store/locks';
import type { UiError } from './useGenerator';
import { formatBytes } from './format';

export interface OwnDownload {
  /** A download from the network, or an import of a local folder. */
  kind: 'download' | 'import';
  id: string | null;
  name: string;
  progress: DownloadProgress | null;
  cancelling: boolean;
}

export interface StorageState {
  /** null until the worker answered once. */
  report: StorageReport | null;
  /** The download this tab runs. */
  active: OwnDownload | null;
  /** Downloads running in other tabs, by model id (their last progress). */
  elsewhere: Readonly<Record<string, DownloadProgress>>;
  error: UiError | null;
  notice: string | null;
  /** Plans `recipe` (size and what is stored) without downloading; rejects like planDownload. */
  plan(recipe: PackRecipe): Promise<DownloadPlan>;
  /** Downloads (or resumes) `recipe`; `onStored` runs once it is stored completely. */
  download(recipe: PackRecipe, onStored?: (m: StoredModel) => void): void;
  /** What importing the picked files would store (a pack as it is, diffusers converted to `quant`). */
  planImport(files: LocalFile[], quant: PackQuant): Promise<ImportPlan>;
  /** Imports the picked files into the store (the same progress and Cancel as a download). */
  importFolder(files: LocalFile[], quant: PackQuant, name: string): void;
  cancel(): void;
  remove(id: string): void;
  dismiss(): void;
}

function toUiError(e: unknown, during: string): UiError {
  return e instanceof Error ? { name: e.name, message: e.message, during } : { name: 'Error', message: String(e), during };
}

/**
 * Asks the browser to keep this origin's storage (window only: not available in workers); true when
 * the answer changed it. The panel's usage line says whether it is granted (one place, not a notice too).
 */
async function requestPersistence(): Promise<boolean> {
  if (!navigator.storage?.persist || (await navigator.storage.persisted())) return false;
  return navigator.storage.persist();
}

export function useStorage(engine: { remote: Comlink.Remote<GeneratorApi> } | null): StorageState {
  const [report, setReport] = useState<StorageReport | null>(null);
  const [active, setActive] = useState<OwnDownload | null>(null);
  const [elsewhere, setElsewhere] = useState<Record<string, DownloadProgress>>({});
  const [error, setError] = useState<UiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const ownId = useRef<string | null>(null);
  const api = engine?.remote ?? null;

  // Reports may resolve out of order (each awaits IndexedDB, locks and estimate): only the newest applies.
  const asked = useRef(0);
  const refresh = useCallback(() => {
    const n = ++asked.current;
    api?.storage().then(
      (r) => n === asked.current && setReport(r),
      (e: unknown) => setError(toUiError(e, 'storage')),
    );
  }, [api]);

  useEffect(() => {
    refresh();
    const ch = new BroadcastChannel(STORE_CHANNEL);
    ch.onmessage = (ev: MessageEvent<StoreMessage>) => {
      const m = ev.data;
      if (m.type === 'changed') refresh();
      else if (m.type === 'progress' && m.progress.id !== ownId.current) setElsewhere((e) => ({ ...e, [m.progress.id]: m.progress }));
      else if (m.type === 'ended') {
        setElsewhere(({ [m.id]: _, ...rest }) => rest);
        refresh();
      }
    };
    return () => ch.close();
  }, [refresh]);

  // A model a tab holds (a download, or loaded here or in another tab): wait until a holder lets go,
  // then refresh. Covers a tab that is closed or crashes, which announces nothing. Runs again for every
  // new report: a lock just released may still show as held in the worker's locks.query() for a moment
  // (seen in Chromium 156, ~1 in 8 runs), and the next wait then ends at once. whenReleased waits on
  // the holders' own locks, never on the model's: a request queued there would keep every other tab
  // from loading the model for as long as one has it loaded. (An AbortError on cleanup is expected.)
  const busy = (report?.models ?? []).filter((m) => m.busy && m.id !== ownId.current).map((m) => m.id);
  const busyKey = busy.join('\n');
  useEffect(() => {
    if (!busyKey || !report || !navigator.locks) return;
    const stop = new AbortController();
    for (const id of busyKey.split('\n')) whenReleased(id, stop.signal).then(refresh, () => {});
    return () => stop.abort();
  }, [busyKey, report, refresh]);

  const plan = useCallback((recipe: PackRecipe): Promise<DownloadPlan> => {
    if (!api) return Promise.reject(new Error('The engine is still starting.'));
    return api.planDownload(recipe);
  }, [api]);

  /** Runs a download or an import (`run` calls the worker with the progress callback). */
  const store = useCallback(
    (
      name: string,
      during: 'download' | 'import',
      run: (api: Comlink.Remote<GeneratorApi>, onProgress: (p: DownloadProgress) => void) => Promise<StoredModel>,
      onStored?: (m: StoredModel) => void,
    ) => {
      if (!api || active) return;
      setError(null);
      setNotice(null);
      setActive({ kind: during, id: null, name, progress: null, cancelling: false });
      void requestPersistence().then((changed) => changed && refresh(), () => {});
      const onProgress = (progress: DownloadProgress) => {
        ownId.current = progress.id;
        setActive((d) => (d ? { ...d, id: progress.id, name: progress.name, progress } : d));
      };
      run(api, Comlink.proxy(onProgress)).then(
        (m) => {
          if (onStored) onStored(m);
          else setNotice(`${m.name} is stored (${formatBytes(m.totalBytes)}): press Load.`);
        },
        (e: unknown) => {
          const err = toUiError(e, during);
          if (err.name !== 'Cancelled') setError(err);
          else if (during === 'download') setNotice('Download cancelled; what was stored is kept: press Resume to go on.');
          else setNotice('Import cancelled; what was stored is kept: choose the same folder again to go on.');
        },
      ).finally(() => {
        ownId.current = null;
        setActive(null);
        refresh();
      });
    },
    [api, active, refresh],
  );

  const start = useCallback(
    (recipe: PackRecipe, onStored?: (m: StoredModel) => void) => store(recipe.name, 'download', (a, p) => a.download(recipe, p), onStored),
    [store],
  );

  const planImport = useCallback((files: LocalFile[], quant: PackQuant): Promise<ImportPlan> => {
    if (!api) return Promise.reject(new Error('The engine is still starting.'));
    return api.planImport(files, quant);
  }, [api]);

  const importFolder = useCallback(
    (files: LocalFile[], quant: PackQuant, name: string) => store(name, 'import', (a, p) => a.importFolder(files, quant, p)),
    [store],
  );

  const cancel = useCallback(() => {
    setActive((d) => (d ? { ...d, cancelling: true } : d));
    void api?.cancelDownload();
  }, [api]);

  const remove = useCallback(
    (id: string) => {
      setError(null);
      setNotice(null);
      api?.deleteModel(id).then(refresh, (e: unknown) => setError(toUiError(e, 'delete')));
    },
    [api, refresh],
  );

  const dismiss = useCallback(() => setError(null), []);
  return { report, active, elsewhere, error, notice, plan, download: start, planImport, importFolder, cancel, remove, dismiss };
}
