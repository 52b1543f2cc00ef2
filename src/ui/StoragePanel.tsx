/**
 * Downloads into the browser's model store and what is stored there: the offered choices with their
 * sizes (or any hub id / URL of a diffusers folder or a pack), a progress bar with bytes, speed and
 * time left, Cancel; the stored models (complete → Load, partial → Resume, both → Delete after a
 * confirmation; a model another tab downloads shows that tab's progress); usage, quota and whether
 * storage is persistent; importing a model folder from this computer (FolderImport.tsx). A stored
 * model loads offline (`store:<id>`).
 */
import { useEffect, useRef, useState } from 'react';
import { type ModelChoice, modelChoices } from '../catalog/choices';
import type { DownloadPlan, DownloadProgress, ModelSource, PackRecipe, StoredModel } from '../worker/api';
import type { PackQuant } from '../weights/packFormat';
import { LOCAL_PREFIX, isLocalRecipe } from '../store/types';
import { FolderImport } from './FolderImport';
import { Progress } from './Progress';
import { formatBytes } from './format';
import { useOnline } from './useOnline';
import { ErrorMessage } from './ErrorMessage';
import type { StorageState } from './useStorage';
import './StoragePanel.css';

export interface StoragePanelProps {
  store: StorageState;
  /** Why Load is disabled (engine missing, a run going on), or null. */
  loadBlock: string | null;
  onLoad(source: ModelSource): void;
  /** Unloads the model loaded in this tab (before deleting it). */
  onUnload(): Promise<void>;
}

const CUSTOM = 'custom';

/** What failed, by the storage action that raised the error (UiError.during). */
const STORAGE_HEADINGS: Readonly<Record<string, string>> = {
  download: 'The download stopped',
  import: 'The import stopped',
  delete: 'Deleting the model failed',
  storage: 'Reading the stored models failed',
};

/**
 * "12.3 MiB / 40.0 MiB · 2.1 MiB/s · 13 s left"; offline "12.3 MiB / 40.0 MiB · waiting for the
 * network" (the download retries by itself once the browser is back online); before the list of
 * files is known (total 0) "getting the file list…" or, offline, "waiting for the network".
 */
export function downloadDetail(p: DownloadProgress, online = true): string {
  if (p.totalBytes === 0) return online ? 'getting the file list…' : 'waiting for the network';
  const parts = [`${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)}`];
  if (!online) parts.push('waiting for the network');
  else {
    parts.push(p.bytesPerSec === null ? 'measuring speed…' : `${formatBytes(Math.round(p.bytesPerSec))}/s`);
    if (p.etaSeconds !== null) parts.push(`${formatDuration(p.etaSeconds)} left`);
  }
  if (p.retries > 0) parts.push(`${p.retries} ${p.retries === 1 ? 'retry' : 'retries'}`);
  return parts.join(' · ');
}

function formatDuration(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A recipe for a typed source: name from its last path part. */
function customRecipe(source: string, quant: PackQuant): PackRecipe {
  const name = source.replace(/\/+$/, '').split('/').pop() || source;
  return { name: `${name} · ${quant}`, quant, base: source };
}

const validSource = (s: string): boolean => /^https?:\/\/\S+$/.test(s) || /^[\w.-]+\/[\w.-]+(@\S+)?$/.test(s);

export function StoragePanel({ store, loadBlock, onLoad, onUnload }: StoragePanelProps) {
  const [choices, setChoices] = useState<ModelChoice[] | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const [custom, setCustom] = useState('');
  const [quant, setQuant] = useState<PackQuant>('q4');
  const [plan, setPlan] = useState<{ key: string; plan: DownloadPlan | null; error: string | null } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const importInput = useRef<HTMLInputElement>(null);
  const online = useOnline();

  useEffect(() => {
    modelChoices().then(setChoices, () => setChoices([]));
  }, []);
  const choice = choices?.find((c) => c.id === picked) ?? choices?.find((c) => c.recommended) ?? null;
  const selected = picked ?? choice?.id ?? CUSTOM;
  const customSource = custom.trim();
  const recipe: PackRecipe | null = selected === CUSTOM ? (validSource(customSource) ? customRecipe(customSource, quant) : null) : (choice?.recipe ?? null);

  // The exact size of a typed source, before anything is downloaded (debounced).
  const planKey = selected === CUSTOM && recipe ? JSON.stringify(recipe) : null;
  const { plan: planFn } = store;
  useEffect(() => {
    if (!planKey) return;
    let live = true;
    const t = setTimeout(() => {
      planFn(JSON.parse(planKey) as PackRecipe).then(
        (p) => live && setPlan({ key: planKey, plan: p, error: null }),
        (e: unknown) => live && setPlan({ key: planKey, plan: null, error: e instanceof Error ? e.message : String(e) }),
      );
    }, 400);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [planKey, planFn]);
  const known = plan && plan.key === planKey ? plan : null;

  const dl = store.active;
  let size: string;
  if (selected !== CUSTOM && choice) {
    size = `${choice.approximate ? '≈ ' : ''}${formatBytes(choice.downloadBytes)} download, ${formatBytes(choice.storedBytes)} stored`;
  } else if (known?.plan) {
    const p = known.plan;
    size = p.storedBytes > 0 ? `${formatBytes(p.totalBytes - p.storedBytes)} left of ${formatBytes(p.totalBytes)}` : `${formatBytes(p.totalBytes)} to store`;
  } else {
    size = '';
  }
  const sizeHint =
    selected !== CUSTOM
      ? (choice?.description ?? '')
      : !recipe
        ? 'A hub repo id (owner/name) or an http(s) URL of a diffusers folder or a Kleinbild pack.'
        : known?.error
          ? `Cannot read that model: ${known.error}`
          : known?.plan
            ? `${known.plan.name}: ${size}.`
            : 'Checking its size…';
  const downloadBlock = dl ? 'A download is running.' : !recipe ? 'Pick a model or type a source.' : selected === CUSTOM && !known?.plan ? 'Checking its size…' : null;

  return (
    <section className="panel storage-panel" aria-labelledby="storage-heading">
      <h2 id="storage-heading">Stored models</h2>
      <fieldset className="storage-choices" disabled={dl !== null}>
        <legend>Download a model into this browser</legend>
        <p className="hint" data-testid="storage-recommendation">
          Recommended first: the smallest download that stays faithful (GGUF 4-bit codes kept as they are, ≤ 0.05 % added weight error).
          The 3-bit choice downloads less but loses quality; the 8-bit ones are the closest to the reference and need twice the memory.
          The base model choices (last) are the non-distilled klein: 50 steps with a guidance scale and a negative prompt, much slower.
        </p>
        {(choices ?? []).map((c) => (
          <label key={c.id} className="check">
            <input type="radio" name="storage-choice" checked={selected === c.id} onChange={() => setPicked(c.id)} data-testid={`model-choice-${c.id}`} />
            <span>
              {c.label}{' '}
              <span className="muted">· {c.approximate ? '≈ ' : ''}{formatBytes(c.downloadBytes)} download → {formatBytes(c.storedBytes)} stored</span>
            </span>
          </label>
        ))}
        <label className="check">
          <input type="radio" name="storage-choice" checked={selected === CUSTOM} onChange={() => setPicked(CUSTOM)} data-testid="model-choice-custom" />
          <span>Other source</span>
        </label>
        {selected === CUSTOM ? (
          <div className="row tight">
            <input type="text" className="grow" value={custom} onChange={(e) => setCustom(e.target.value)} placeholder="owner/name or https://…"
              aria-label="Model source to download" spellCheck={false} autoComplete="off" data-testid="model-download-source" />
            <select value={quant} onChange={(e) => setQuant(e.target.value as PackQuant)} aria-label="Weights" data-testid="model-download-quant">
              <option value="q4">4-bit</option>
              <option value="q8">8-bit</option>
              <option value="none">as published</option>
            </select>
          </div>
        ) : null}
      </fieldset>
      <div className="row">
        <button type="button" disabled={downloadBlock !== null} onClick={() => recipe && store.download(recipe)} data-testid="model-download-button">
          Download model{size ? ` (${size})` : ''}
        </button>
        {dl ? (
          <button type="button" onClick={store.cancel} disabled={dl.cancelling} data-testid="model-download-cancel">
            {dl.cancelling ? 'Cancelling…' : dl.kind === 'import' ? 'Cancel import' : 'Cancel download'}
          </button>
        ) : null}
      </div>
      <p className="hint" data-testid="model-download-size">{sizeHint}</p>
      <FolderImport store={store} inputRef={importInput} />
      {dl ? (
        <Progress testId="model-download-progress" label={`${dl.kind === 'import' ? 'Importing' : 'Downloading'} ${dl.name}`}
          fraction={dl.progress && dl.progress.totalBytes > 0 ? dl.progress.doneBytes / dl.progress.totalBytes : null}
          {...(dl.progress ? { detail: downloadDetail(dl.progress, online) } : {})} />
      ) : null}
      {dl?.progress?.lastRetry ? <p className="hint" data-testid="model-download-retry">Retried: {dl.progress.lastRetry}</p> : null}
      {store.error ? (
        <p role="alert" className="storage-error" data-testid="storage-error">
          <ErrorMessage error={store.error} heading={STORAGE_HEADINGS[store.error.during] ?? 'Storage'} />{' '}
          <button type="button" className="link" onClick={store.dismiss} aria-label="Dismiss storage error">×</button>
        </p>
      ) : null}
      {store.notice ? <p className="notice" role="status" data-testid="storage-notice">{store.notice}</p> : null}
      <StoredList models={store.report?.models ?? []} store={store} loadBlock={loadBlock} onLoad={onLoad} onUnload={onUnload} confirming={confirming} setConfirming={setConfirming}
        onChooseFolder={() => importInput.current?.click()} />
      {store.report ? (
        <p className="hint" data-testid="storage-usage">
          This site stores {formatBytes(store.report.usage)} of {formatBytes(store.report.quota)} the browser allows ·{' '}
          {store.report.persisted ? 'persistent storage: granted' : 'persistent storage: not granted (the browser may evict models when disk space runs low)'}
        </p>
      ) : null}
    </section>
  );
}

const percent = (m: StoredModel): number => Math.floor((100 * m.storedBytes) / Math.max(1, m.totalBytes));

/**
 * Why a stored model cannot be deleted now, or null: it is being downloaded (here or in another tab),
 * loaded in another tab (its lock held: that engine reads its chunks while generating), or loaded
 * here while a generation or a load runs (`loadBlock`). Loaded here and idle, Delete unloads it first.
 */
export function deleteBlock(m: StoredModel, downloadingHere: boolean, loadBlock: string | null = null): string | null {
  if (downloadingHere) return 'Downloading in this tab: cancel the download to delete it.';
  if (m.loaded === 'here') return loadBlock ? `Loaded in this tab: ${loadBlock}` : null; // Delete unloads it first (a generation or a load must end)
  if (m.loaded === 'elsewhere') return 'Loaded in another tab: load another model there or close that tab to delete it.';
  if (m.busy) return 'In use by another tab (a download): wait for it to end to delete it.';
  return null;
}

interface StoredListProps {
  models: readonly StoredModel[];
  store: StorageState;
  loadBlock: string | null;
  onLoad(source: ModelSource): void;
  onUnload(): Promise<void>;
  confirming: string | null;
  setConfirming(id: string | null): void;
  /** Opens the folder picker of FolderImport (a partial import resumes from its folder). */
  onChooseFolder(): void;
}

function StoredList({ models, store, loadBlock, onLoad, onUnload, confirming, setConfirming, onChooseFolder }: StoredListProps) {
  if (models.length === 0) return <p className="hint" data-testid="stored-empty">No model is stored in this browser yet.</p>;
  const own = store.active?.id ?? null;
  return (
    <ul className="stored-models" data-testid="stored-models">
      {models.map((m) => {
        const other = store.elsewhere[m.id];
        const mine = own === m.id;
        const state = m.complete ? 'complete' : mine ? 'downloading' : m.busy ? 'elsewhere' : 'partial';
        const blocked = deleteBlock(m, state === 'downloading', loadBlock);
        // said beside the button unless the status line above says it already (a download)
        const why = blocked && (m.complete || m.loaded) ? `stored-delete-why-${m.id}` : null;
        return (
          <li key={m.id} className={`stored ${state}`} data-testid="stored-model" data-model-id={m.id} data-state={state}>
            <div className="stored-title">
              <strong>{m.name}</strong>
              <span className="muted">
                {m.complete ? formatBytes(m.totalBytes) : `${formatBytes(m.storedBytes)} of ${formatBytes(m.totalBytes)}`}
              </span>
            </div>
            <p className="hint" data-testid="stored-status">
              {state === 'complete' ? (m.deferredBytes > 0 ? `Stored: loads offline; the VAE encoder for editing (${formatBytes(m.deferredBytes)}) downloads when first used.` : 'Stored: loads offline.')
                : state === 'downloading' ? `${store.active?.kind === 'import' ? 'Importing' : 'Downloading'} in this tab…`
                : state === 'elsewhere' ? `${other ? `Downloading in another tab: ${downloadDetail(other)}` : 'In use by another tab (a download or a load)'}. This list updates when it ends.`
                : isLocalRecipe(m.recipe) ? `Partial (${percent(m)} %), imported from folder ${m.source.slice(LOCAL_PREFIX.length)}: choose the folder again to finish, or delete.`
                : `Partial (${percent(m)} %): resume or delete.`}
            </p>
            {other && state === 'elsewhere' ? <Progress testId="elsewhere-progress" label="In another tab" fraction={other.doneBytes / Math.max(1, other.totalBytes)} /> : null}
            <div className="row tight">
              {m.complete ? (
                <button type="button" disabled={loadBlock !== null} title={loadBlock ?? undefined} onClick={() => onLoad(`store:${m.id}`)} data-testid="stored-load">Load</button>
              ) : state === 'partial' && isLocalRecipe(m.recipe) ? (
                <button type="button" disabled={store.active !== null} onClick={onChooseFolder} data-testid="stored-choose-folder">Choose the folder…</button>
              ) : state === 'partial' ? (
                <button type="button" disabled={store.active !== null} onClick={() => store.download(m.recipe)} data-testid="stored-resume">Resume</button>
              ) : null}
              {confirming === m.id ? (
                <>
                  <span>{m.loaded === 'here' ? `Unload and delete ${formatBytes(m.storedBytes)}?` : `Delete ${formatBytes(m.storedBytes)}?`}</span>
                  <button type="button" className="danger" data-testid="stored-delete-confirm" onClick={() => {
                    setConfirming(null);
                    // the model loaded here is unloaded first (the engine holds it while loaded)
                    if (m.loaded === 'here') onUnload().then(() => store.remove(m.id), () => store.remove(m.id));
                    else store.remove(m.id);
                  }}>Delete</button>
                  <button type="button" onClick={() => setConfirming(null)} data-testid="stored-delete-keep">Keep</button>
                </>
              ) : (
                <>
                  <button type="button" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setConfirming(m.id)}
                    {...(why ? { 'aria-describedby': why } : {})} data-testid="stored-delete">Delete…</button>
                  {why ? <span className="hint" id={why} data-testid="stored-delete-reason">{blocked}</span> : null}
                </>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
