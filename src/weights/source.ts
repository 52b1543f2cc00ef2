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
