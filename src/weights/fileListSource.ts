/**
 * A FileSource over files the user picked from a local folder (`<input webkitdirectory>` or a
 * dropped directory): each is a Blob with its path inside the folder, read in ranges with
 * Blob.slice, so a multi-GB safetensors file is never held whole. Browser-safe (Blob only); Node's
 * folder source is folderSource.ts.
 *
 * `localModelRoot` finds the model inside what was picked: the picked folder itself, or one folder
 * down (people pick the parent as often as the folder), by its marker file: `kleinbild-pack.json`
 * (a pack) or `transformer/config.json` (the diffusers layout).
 */
import { InvalidInput } from '../errors';
import { PACK_MANIFEST } from './packFormat';
import { type FileSource, checkJsonSize, checkModelPath } from './source';

/** One picked file: `path` relative to the picked folder with `/` separators (`pack/chunks/00000.bin`). */
export interface LocalFile {
  path: string;
  file: Blob;
}

/** Which layout a local model folder holds. */
export type LocalModelKind = 'pack' | 'diffusers';

export interface LocalModel {
  /** The model folder's name ('folder' when the files came without one): display name and store id. */
  name: string;
  kind: LocalModelKind;
  /** Paths relative to the model root → file. */
  files: Map<string, Blob>;
}

const DIFFUSERS_MARKER = 'transformer/config.json';

/**
 * The model in `picked`: the shallowest folder holding `kleinbild-pack.json` (a pack) or
 * `transformer/config.json` (diffusers), at most two levels down. Paths are taken as given, with
 * `\` turned into `/` and leading `./` or `/` dropped. Throws InvalidInput when there are no files
 * or no model, saying what a model folder looks like.
 */
export function localModelRoot(picked: readonly LocalFile[]): LocalModel {
  if (picked.length === 0) throw new InvalidInput('The folder is empty (or the browser gave no files from it).');
  const all = new Map<string, Blob>();
  for (const f of picked) all.set(f.path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, ''), f.file);
  const roots: Array<{ prefix: string; kind: LocalModelKind }> = [];
  for (const path of all.keys()) {
    const kind: LocalModelKind | null = path.endsWith(PACK_MANIFEST) ? 'pack' : path.endsWith(DIFFUSERS_MARKER) ? 'diffusers' : null;
    if (!kind) continue;
    const prefix = path.slice(0, path.length - (kind === 'pack' ? PACK_MANIFEST : DIFFUSERS_MARKER).length);
    if (prefix !== '' && !prefix.endsWith('/')) continue; // e.g. `my-kleinbild-pack.json`
    if (prefix.split('/').length - 1 > 2) continue;
    roots.push({ prefix, kind });
  }
  // shallowest first; a pack wins over a diffusers folder at the same depth
  roots.sort((a, b) => a.prefix.split('/').length - b.prefix.split('/').length || (a.kind === 'pack' ? -1 : 1));
  const root = roots[0];
  if (!root) {
    throw new InvalidInput(
      `No model in the ${picked.length} picked files: a Kleinbild pack folder holds ${PACK_MANIFEST} (made by \`npm run pack\`), ` +
        `a diffusers model folder holds ${DIFFUSERS_MARKER}, text_encoder/, vae/ and tokenizer/.`,
    );
  }
  const files = new Map<string, Blob>();
  for (const [path, blob] of all) if (path.startsWith(root.prefix)) files.set(path.slice(root.prefix.length), blob);
  return { name: root.prefix.split('/').filter(Boolean).pop() ?? 'folder', kind: root.kind, files };
}

/** A FileSource reading `model.files`; `id` names it in messages (e.g. `local:pack-a`). */
export function localFileSource(id: string, model: LocalModel): FileSource {
  const get = (path: string): Blob => {
    const f = model.files.get(checkModelPath(path, id));
    if (!f) throw new InvalidInput(`file not found in the picked folder ${model.name}: ${path}`);
    return f;
  };
  const read = async (path: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> => {
    signal?.throwIfAborted();
    const f = get(path);
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= f.size)) {
      throw new InvalidInput(`${id}/${path}: byte range [${start}, ${end}) outside the file (${f.size} bytes)`);
    }
    try {
      return new Uint8Array(await f.slice(start, end).arrayBuffer());
    } catch (e) {
      // NotReadableError / NotFoundError: the file changed or was removed on disk after picking
      throw new InvalidInput(`Could not read ${path} from the picked folder ${model.name} (${(e as Error).message}); was it moved or changed? Pick the folder again.`);
    }
  };
  return {
    id,
    size: async (path) => get(path).size,
    range: read,
    async json<T>(path: string, signal?: AbortSignal): Promise<T> {
      const size = get(path).size;
      checkJsonSize(path, size, id);
      const bytes = await read(path, 0, size, signal);
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as T;
      } catch (e) {
        throw new InvalidInput(`${id}/${path}: invalid JSON (${(e as Error).message})`);
      }
    },
    exists: async (path) => model.files.has(checkModelPath(path, id)),
  };
}
