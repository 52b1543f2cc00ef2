/**
 * Where model files come from. A `FileSource` reads byte ranges, sizes and JSON files by their path
 * inside a model repo (`transformer/diffusion_pytorch_model.safetensors`), so the safetensors loader
 * never holds a whole multi-GB file.
 *
 * Implemented with plain `fetch`, not `@huggingface/hub`: its `downloadFile` returns a lazily
 * sliced Blob that speaks the Xet reconstruction protocol for Xet-backed files, which hides the
 * HTTP status behind library errors and adds a token round trip. A `resolve/` URL already answers
 * Range requests (302 → CDN, which fetch follows), which is all the loader needs.
 *
 * This module is the leaf every reader imports; the HTTP source and `openSource` are in
 * httpSource.ts, the Node folder source in folderSource.ts.
 */
import { InvalidInput } from '../errors';

/**
 * Read access to one model's files; `path` is relative to the repo root. Every method takes an
 * optional AbortSignal: when it fires, the call rejects with the signal's reason (an AbortError by
 * default) and no retry is made. Sources that cannot be interrupted may ignore it.
 */
export interface FileSource {
  /** For messages: the repo id, URL or folder. */
  readonly id: string;
  /** File size in bytes. */
  size(path: string, signal?: AbortSignal): Promise<number>;
  /** Bytes [start, end) of a file; `end` ≤ size. */
  range(path: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Whole file parsed as JSON. */
  json<T>(path: string, signal?: AbortSignal): Promise<T>;
  /** Whether the file exists (false only for "not found"; other failures throw). */
  exists(path: string, signal?: AbortSignal): Promise<boolean>;
}

export type SourceKind = 'hub' | 'url' | 'path';

/** `owner/name` or `owner/name@revision` (revision may hold `/`, e.g. `refs/pr/1`). */
export const HUB_REPO_ID = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)(?:@(.+))?$/;

/** Whether `s` looks like a hub repo id (`owner/name[@revision]`). */
export function isHubRepoId(s: string): boolean {
  return HUB_REPO_ID.test(s) && !s.startsWith('.');
}

/**
 * Classifies a model location: `http(s)://…` → 'url'; `owner/name[@rev]` → 'hub'; anything else
 * (absolute, `./`-relative, deeper paths) → 'path'. A relative folder spelled `a/b` looks like a hub
 * id: Node callers that accept both should check the folder exists before calling this.
 */
export function classifySource(s: string): SourceKind {
  if (/^https?:\/\//i.test(s)) return 'url';
  if (isHubRepoId(s)) return 'hub';
  return 'path';
}

/**
 * Why `path` is not a plain relative path inside a model, or null: the paths a FileSource accepts
 * come from manifests, index files and picked folders, i.e. from whoever made the model, so none may
 * leave the model's root. Refused: empty, absolute (`/x`, `C:x`), backslashes, NUL and other control
 * characters, and empty, `.` or `..` segments (`a//b`, `./a`, `../x`).
 */
export function modelPathError(path: string): string | null {
  if (typeof path !== 'string') return 'is not a string';
  if (path === '') return 'is empty';
  if (path.length > 1024) return `is ${path.length} characters long (at most 1024)`;
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'holds a control character (NUL, newline, …)';
  if (path.includes('\\')) return 'holds a backslash (paths use /)';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'is absolute';
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return `has a "${seg}" segment`;
  }
  return null;
}

/** `path` unchanged, or InvalidInput naming `where` (the source or file) and what is wrong with it. */
export function checkModelPath(path: string, where: string): string {
  const why = modelPathError(path);
  if (why !== null) throw new InvalidInput(`${where}: path ${JSON.stringify(path)} ${why}; a model's files are named by plain relative paths inside it`);
  return path;
}

const MiB = 1024 * 1024;
/**
 * Largest JSON file a source parses, by name, checked on the file's size before it is read: the
 * tokenizer (Qwen3's tokenizer.json is 11.4 MB) 64 MiB, configs (≈ 1 KB) 1 MiB, anything else
 * (kleinbild-pack.json ≈ 0.3 MB for klein 4B, *.safetensors.index.json, tokenizer_config.json) 16 MiB.
 */
export function jsonLimit(path: string): number {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (name === 'tokenizer.json') return 64 * MiB;
  if (name === 'config.json' || name === 'model_index.json' || name === 'scheduler_config.json') return MiB;
  return 16 * MiB;
}

/** InvalidInput unless a JSON file of `bytes` (`atLeast`: a body still arriving) may be read (jsonLimit). */
export function checkJsonSize(path: string, bytes: number, where: string, atLeast = false): void {
  const limit = jsonLimit(path);
  if (!(bytes <= limit)) {
    throw new InvalidInput(`${where}: ${path} is ${atLeast ? 'over ' : ''}${bytes} bytes; a JSON file of a model may hold at most ${limit} (${limit / MiB} MiB)`);
  }
}
