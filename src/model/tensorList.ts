/**
 * Which checkpoint tensors the engine reads, derived once from the model loaders themselves: each
 * loader (loadQwen3, loadTransformer, loadDecoder, loadEncoder) runs against a recorder that notes
 * every (name, shape) it asks for. Pipeline.load (bytes per stage), the pack converter (which
 * tensors a pack holds; weights/convert.ts) and the download catalog (sizes before a download;
 * catalog/choices.ts) all use this list, so they cannot disagree with what loading reads.
 */
import type { FileSource } from '../weights/source';
import type { Component, NeededTensors } from '../weights/sourceTensor';
import type { TokenEmbedding, WeightGetter } from '../weights/weightGetter';
import { type Configs, readConfigs } from './config';
import { loadQwen3 } from './qwen3';
import { loadTransformer } from './transformer';
import { loadDecoder } from './vae';
import { loadEncoder } from './vaeEncoder';

/** The loader that reads a tensor: one per pipeline stage (the VAE encoder only for editing). */
export type LoaderStage = 'textEncoder' | 'transformer' | 'vaeDecoder' | 'vaeEncoder';

/** One tensor the engine reads: component folder, checkpoint name, shape, the stage that reads it. */
export interface TensorSpec {
  component: Component;
  name: string;
  shape: number[];
  stage: LoaderStage;
  /** A token embedding table: only a prompt's rows are read, on the host (never uploaded whole). */
  hostRows?: true;
}

/** Records the (name, shape) requests of a model loader; returns placeholders. */
class ShapeRecorder implements WeightGetter<null> {
  readonly specs: TensorSpec[] = [];
  readonly loadedBytes = 0;
  constructor(
    private readonly component: Component,
    private readonly stage: LoaderStage,
  ) {}
  async get(name: string, shape: readonly number[]): Promise<null> {
    this.specs.push({ component: this.component, name, shape: [...shape], stage: this.stage });
    return null;
  }
  tokenEmbedding(name: string, shape: readonly [number, number]): TokenEmbedding {
    this.specs.push({ component: this.component, name, shape: [...shape], stage: this.stage, hostRows: true });
    return { shape, rows: async () => new Float32Array(0) };
  }
}

/**
 * Every tensor the engine reads for `configs`, in loader order: text encoder (layers 0…26, then the
 * embedding), transformer, VAE decoder, VAE encoder. The decoder and the encoder share the BatchNorm
 * statistics `bn.*`: they are listed once, under the decoder.
 */
export async function tensorList(configs: Configs): Promise<TensorSpec[]> {
  const te = new ShapeRecorder('text_encoder', 'textEncoder');
  await loadQwen3(te, configs.textEncoder);
  const tr = new ShapeRecorder('transformer', 'transformer');
  await loadTransformer(tr, configs.transformer);
  const dec = new ShapeRecorder('vae', 'vaeDecoder');
  await loadDecoder(dec, configs.vae);
  const enc = new ShapeRecorder('vae', 'vaeEncoder');
  await loadEncoder(enc, configs.vae);
  const seen = new Set<string>();
  return [...te.specs, ...tr.specs, ...dec.specs, ...enc.specs].filter((s) => {
    const key = `${s.component}/${s.name}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** The names in `specs` per component. */
export function neededOf(specs: readonly TensorSpec[]): NeededTensors {
  const out: Record<Component, Set<string>> = { text_encoder: new Set(), transformer: new Set(), vae: new Set() };
  for (const s of specs) out[s.component].add(s.name);
  return out;
}

/**
 * The tensors the engine reads from the model at `src` (its three config.json files decide the
 * shapes and layer counts). What planPack takes as `needed`. Errors: readConfigs'.
 */
export async function neededTensors(src: FileSource): Promise<NeededTensors> {
  return neededOf(await tensorList(await readConfigs(src)));
}
