/**
 * Importing a model from a folder on this computer into the browser's store, without the network
 * (for kiosks, self-hosting and slow links): choose the folder (a directory picker) or drop it here;
 * the worker reads what it is — a Kleinbild pack (`npm run pack`) is copied as it is, a diffusers
 * model folder converted to 4-bit/8-bit — and its size is shown before anything is written. The
 * import then runs like a download: the storage panel's progress bar, Cancel, errors.
 */
import { type RefObject, useEffect, useState } from 'react';
import type { ImportPlan, LocalFile, PackQuant } from '../worker/api';
import { formatBytes } from './format';
import { droppedEntries, entryFiles, pickedFiles } from './localFolder';
import { useFileDrop } from './useFileDrop';
import type { StorageState } from './useStorage';

const QUANT_LABEL: Readonly<Record<PackQuant, string>> = { q4: '4-bit', q8: '8-bit', none: 'as published' };

interface Picked {
  files: LocalFile[];
  quant: PackQuant;
  plan: ImportPlan | null;
  error: string | null;
}

export interface FolderImportProps {
  store: StorageState;
  /** The folder input, for other controls that open the picker (a partial import's "Choose the folder…"). */
  inputRef: RefObject<HTMLInputElement | null>;
}

export function FolderImport({ store, inputRef: input }: FolderImportProps) {
  const [picked, setPicked] = useState<Picked | null>(null);
  const busy = store.active !== null;

  useEffect(() => {
    if (input.current) input.current.webkitdirectory = true; // not a React prop
  }, []);

  const { planImport } = store;
  const examine = (files: LocalFile[], quant: PackQuant): void => {
    const mine: Picked = { files, quant, plan: null, error: null };
    setPicked(mine);
    const same = (p: Picked | null) => p?.files === files && p.quant === quant;
    planImport(files, quant).then(
      (plan) => setPicked((p) => (same(p) ? { ...mine, plan } : p)),
      (e: unknown) => setPicked((p) => (same(p) ? { ...mine, error: e instanceof Error ? e.message : String(e) } : p)),
    );
  };

  const drop = useFileDrop((dt) => {
    const entries = droppedEntries(dt); // now: the items are gone once the event returns
    entryFiles(entries).then(
      (files) => examine(files, picked?.quant ?? 'q4'),
      (err: unknown) => setPicked({ files: [], quant: 'q4', plan: null, error: err instanceof Error ? err.message : String(err) }),
    );
  }, !busy);

  const plan = picked?.plan ?? null;
  const size = plan ? (plan.storedBytes > 0 ? `${formatBytes(plan.totalBytes - plan.storedBytes)} left of ${formatBytes(plan.totalBytes)}` : `${formatBytes(plan.totalBytes)} to store`) : '';
  let summary = '';
  if (picked?.error) summary = `Cannot import that folder: ${picked.error}`;
  else if (plan?.kind === 'pack') summary = `${plan.name}: a Kleinbild pack (${QUANT_LABEL[plan.quant]}) from folder ${plan.folder}, ${size}.`;
  else if (plan) summary = `${plan.name}: a diffusers model from folder ${plan.folder}, converted to ${QUANT_LABEL[plan.quant]} while importing, ${size}.`;
  else if (picked) summary = `Reading the ${picked.files.length} files…`;

  return (
    <div className={drop.dragging ? 'folder-import dragging' : 'folder-import'} data-testid="model-import" {...drop.props}>
      <p className="hint">
        Or import a model folder from this computer, with no download: a Kleinbild pack (made with <code>npm run pack</code>)
        or a diffusers model folder. Choose it, or drop it here.
      </p>
      <div className="row tight">
        <button type="button" disabled={busy} onClick={() => input.current?.click()} data-testid="model-import-button">Choose a folder…</button>
        <input ref={input} type="file" multiple hidden aria-label="Model folder to import" data-testid="model-import-input"
          onChange={(e) => {
            const files = pickedFiles(e.target.files);
            e.target.value = ''; // the same folder can be chosen again
            if (files.length > 0) examine(files, picked?.quant ?? 'q4');
          }} />
      </div>
      {picked ? (
        <div className="row tight">
          <p className="hint grow" role="status" data-testid="model-import-plan">{summary}</p>
          {plan?.kind === 'diffusers' ? (
            <select value={picked.quant} aria-label="Import weights as" data-testid="model-import-quant"
              onChange={(e) => examine(picked.files, e.target.value as PackQuant)}>
              {(Object.keys(QUANT_LABEL) as PackQuant[]).map((q) => <option key={q} value={q}>{QUANT_LABEL[q]}</option>)}
            </select>
          ) : null}
          <button type="button" disabled={!plan || busy} data-testid="model-import-start"
            onClick={() => {
              if (!plan) return;
              store.importFolder(picked.files, picked.quant, plan.name);
              setPicked(null);
            }}>
            Import{plan ? ` (${size})` : ''}
          </button>
          <button type="button" onClick={() => setPicked(null)} data-testid="model-import-dismiss">Cancel</button>
        </div>
      ) : null}
    </div>
  );
}
