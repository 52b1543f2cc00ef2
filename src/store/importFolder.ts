/**
 * Importing a model from a local folder into the store, in the engine worker: the files the user
 * picked or dropped (src/weights/fileListSource.ts) become the recipe's only source, and the
 * downloader (download.ts) copies a pack chunk by chunk with its SHA-256 checks, or converts a
 * diffusers folder to q4/q8 as it would from the hub. Nothing touches the network.
 *
 * The recipe's base is `local:<folder name>`, so the same folder (by name) and quant map to the same
 * store id: an interrupted import resumes when that folder is picked again. The whole model is
 * copied (no part is left to fetch later: the picked files are gone after a reload).
 */
import { InvalidInput } from '../errors';
import { readPackManifest } from '../weights/pack';
import type { PackQuant } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import { type LocalFile, type LocalModel, type LocalModelKind, localFileSource, localModelRoot } from '../weights/fileListSource';
import type { FileSource } from '../weights/source';
import { type DownloadOptions, downloadModel, planDownload } from './download';
import { type DownloadPlan, LOCAL_PREFIX, type StoredModel } from './types';

/** What importing a folder would store, before it starts. */
export interface ImportPlan extends DownloadPlan {
  /** 'pack': copied as it is (its own quant); 'diffusers': converted to the asked quant. */
  kind: LocalModelKind;
  quant: PackQuant;
  /** The folder's name. */
  folder: string;
}

interface Opened {
  recipe: PackRecipe;
  model: LocalModel;
  open: (source: string) => FileSource;
}

/**
 * The recipe of a picked folder: a pack keeps its name and quant, a diffusers folder is named
 * `<folder> · <quant>`. Errors: InvalidInput (no model in the files, a broken manifest).
 */
async function openFolder(files: readonly LocalFile[], quant: PackQuant): Promise<Opened> {
  const model = localModelRoot(files);
  const base = `${LOCAL_PREFIX}${model.name}`;
  const src = localFileSource(base, model);
  const open = (source: string): FileSource => {
    if (source !== base) throw new InvalidInput(`an imported folder has no other sources (asked for ${source})`);
    return src;
  };
  if (model.kind === 'pack') {
    const m = await readPackManifest(src);
    return { model, open, recipe: { name: m.name, quant: m.quant, base } };
  }
  return { model, open, recipe: { name: `${model.name} · ${quant}`, quant, base } };
}

/** Size and kind of the model in `files` (reads its manifest or headers only). */
export async function planImport(files: readonly LocalFile[], quant: PackQuant): Promise<ImportPlan> {
  const { recipe, model, open } = await openFolder(files, quant);
  const plan = await planDownload(recipe, { open, deferEncoder: false });
  return { ...plan, kind: model.kind, quant: recipe.quant, folder: model.name };
}

/**
 * Imports (or resumes importing) the model in `files` into the store; errors as downloadModel
 * (StorageFull, Cancelled, IntegrityFailure for a chunk that fails its SHA-256) plus InvalidInput for
 * a folder without a model.
 */
export async function importFolder(files: readonly LocalFile[], quant: PackQuant, opts: Omit<DownloadOptions, 'open'> = {}): Promise<StoredModel> {
  const { recipe, open } = await openFolder(files, quant);
  return downloadModel(recipe, { ...opts, open, deferEncoder: false });
}
