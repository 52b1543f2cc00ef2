/**
 * Node-only FileSource over a local model folder (a `huggingface-cli download` snapshot or the golden
 * model-a). Ranges are positioned reads, so a multi-GB safetensors file is never loaded whole.
 * Never import this from browser code: it pulls in node:fs.
 */
import { open, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { InvalidInput } from '../errors';
import { type FileSource, checkJsonSize, checkModelPath } from './source';

/**
 * The file `path` (a model path: relative, `/`-separated, no `..`; source.ts modelPathError) inside
 * folder `root`, or InvalidInput naming `root` when it is not one or would resolve outside `root`.
 * The check is on the path as written: symbolic links inside the folder are followed (a hub cache
 * snapshot is made of links into its blobs folder).
 */
export function pathInFolder(root: string, path: string): string {
  const base = resolve(root);
  checkModelPath(path, base);
  const full = join(base, ...path.split('/'));
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new InvalidInput(`${base}: path ${JSON.stringify(path)} resolves outside the folder`);
  return full;
}

/** A FileSource reading `dir/<path>`; errors name the folder and the path. */
export function folderSource(dir: string): FileSource {
  const root = resolve(dir);
  const full = (path: string): string => pathInFolder(root, path);
  const notFound = (path: string): InvalidInput => new InvalidInput(`file not found in model ${root}: ${path}`);
  const rethrow = (path: string, e: unknown): never => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(path);
    throw e;
  };
  /** Bytes [start, end) of `path`, or the whole file when `end` is undefined; `limit` bounds a whole read. */
  const read = async (path: string, start: number, end: number | undefined, limit?: (size: number) => void): Promise<Uint8Array> => {
    const fh = await open(full(path), 'r').catch((e: unknown) => rethrow(path, e));
    try {
      const size = (await fh.stat()).size;
      limit?.(size);
      const stop = end ?? size;
      if (!(Number.isSafeInteger(start) && Number.isSafeInteger(stop) && 0 <= start && start <= stop && stop <= size)) {
        throw new Error(`${full(path)}: byte range [${start}, ${stop}) outside the file (${size} bytes)`);
      }
      const out = new Uint8Array(stop - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`${full(path)}: unexpected end of file at byte ${start + done}`);
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  };

  return {
    id: root,

    async size(path) {
      try {
        return (await stat(full(path))).size;
      } catch (e) {
        return rethrow(path, e);
      }
    },

    range: (path, start, end) => read(path, start, end),

    async json<T>(path: string): Promise<T> {
      const bytes = await read(path, 0, undefined, (size) => checkJsonSize(path, size, root));
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as T;
      } catch (e) {
        throw new Error(`${full(path)}: invalid JSON (${(e as Error).message})`);
      }
    },

    async exists(path) {
      try {
        return (await stat(full(path))).isFile();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
    },
  };
}
