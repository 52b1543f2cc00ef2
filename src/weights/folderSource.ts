/**
 * Node-only FileSource over a local model folder (a `huggingface-cli download` snapshot or the golden
 * model-a). Ranges are positioned reads, so a multi-GB safetensors file is never loaded whole.
 * Never import this from browser code: it pulls in node:fs.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidInput } from '../errors';
import type { FileSource } from './source';

/** A FileSource reading `dir/<path>`; errors name the folder and the path. */
export function folderSource(dir: string): FileSource {
  const root = resolve(dir);
  const full = (path: string): string => join(root, ...path.split('/'));
  const notFound = (path: string): InvalidInput => new InvalidInput(`file not found in model ${root}: ${path}`);
  const rethrow = (path: string, e: unknown): never => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(path);
    throw e;
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

    async range(path, start, end) {
      const fh = await open(full(path), 'r').catch((e: unknown) => rethrow(path, e));
      try {
        const size = (await fh.stat()).size;
        if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= size)) {
          throw new Error(`${full(path)}: byte range [${start}, ${end}) outside the file (${size} bytes)`);
        }
        const out = new Uint8Array(end - start);
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
    },

    async json<T>(path: string): Promise<T> {
      const text = await readFile(full(path), 'utf8').catch((e: unknown) => rethrow(path, e));
      try {
        return JSON.parse(text) as T;
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
