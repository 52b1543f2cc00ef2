/**
 * Conversion of a model into a pack (packFormat.ts), one chunk at a time. Used by the Node pack CLI
 * (chunks written to disk) and by the browser downloader (chunks written to IndexedDB). Every chunk
 * is produced independently from the source (only the source bytes it needs, adjacent ranges
 * coalesced into few requests), so a download resumes at chunk granularity and runs chunks
 * concurrently.
 */
import type { PackManifest, PackQuant } from './packFormat';
import type { Component } from './sourceTensor';

/**
 * What to build a pack from. Configs, tokenizer and every component not overridden come from `base`
 * (a diffusers-layout model, or an existing pack which is then copied chunk by chunk and verified).
 */
export interface PackRecipe {
  /** Display name, e.g. "FLUX.2 [klein] 4B · 4-bit". */
  name: string;
  quant: PackQuant;
  /** Model source string (hub repo id `owner/name[@rev]`, http(s) URL, or a folder in Node). */
  base: string;
  /** Per-component single-file checkpoints in other layouts (GGUF, BFL-named fp8 safetensors). */
  overrides?: Partial<Record<Component, { source: string; path: string; format: 'gguf' | 'safetensors' }>>;
}

export interface PackJob {
  /**
   * The manifest as it will be, except that `chunks[i].sha256` and `files[i].sha256` are '' until
   * produced. Sizes (totalBytes, chunk bytes, file bytes) are exact before any weight byte is read.
   */
  readonly plan: PackManifest;
  /** A small file's bytes (config, tokenizer) by its pack path. */
  file(path: string, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Chunk i's bytes (exactly plan.chunks[i].bytes). Converting source: reads and converts what the
   * chunk needs. Pack source: reads the chunk file and checks its SHA-256 against the source manifest
   * (throws Error naming the chunk on mismatch). Errors from the source propagate (network, 404).
   */
  chunk(i: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** The final manifest, given the SHA-256 (lower-case hex) of every chunk and file in plan order. */
  finish(chunkSha256: readonly string[], fileSha256: readonly string[]): PackManifest;
}
