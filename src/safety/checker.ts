/**
 * The safety checker (Node: CLI and server): an off-the-shelf image classifier run by
 * `@huggingface/transformers` (`pipeline('image-classification')`, on onnxruntime-node's CPU
 * provider) on each decoded image. The model is a local folder, a hub repo id or an http(s) URL of a
 * folder laid out like a hub repo; remote files are downloaded once into transformers.js' file cache
 * (`env.cacheDir`, or `cacheDir`) and read from there afterwards, also offline.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { env, pipeline, type ImageClassificationPipeline, type PretrainedModelOptions } from '@huggingface/transformers';
import { InvalidInput } from '../errors';
import { type SafetyConfig, validateSafetyConfig } from './config';
import { type SafetyResult, classifierLabels, classifyRgba } from './classify';

export type { SafetyResult };

export interface SafetyChecker {
  /** The validated config (defaults filled in). */
  readonly config: SafetyConfig;
  /** The model's labels (config.json `id2label`, in id order). */
  readonly labels: string[];
  /**
   * Classifies an RGBA image (`rgba.length === width·height·4`, alpha ignored). Errors: InvalidInput
   * for a buffer of the wrong length or an empty image.
   */
  check(rgba: Uint8ClampedArray, width: number, height: number): Promise<SafetyResult>;
  /** Frees the ONNX Runtime session. */
  dispose(): Promise<void>;
}

export interface SafetyLoadOptions {
  /** Where remote model files are cached (default: transformers.js' `env.cacheDir`). */
  cacheDir?: string;
}

/** Where the model is: transformers.js takes a folder path or a hub id; a URL becomes a hub-like host. */
type ModelLocation = { kind: 'folder'; path: string } | { kind: 'hub'; id: string } | { kind: 'url'; id: string; host: string; pathTemplate: string };

const HUB_ID = /^[\w\-.]+\/[\w\-.]{1,96}$/;

/** Sorts `model` into a local folder, a URL or a hub id. Errors: InvalidInput when it is none of them. */
export function locateModel(model: string): ModelLocation {
  if (/^https?:\/\//i.test(model)) {
    const u = new URL(model);
    const path = u.pathname.replace(/^\/+|\/+$/g, '');
    // the cache key of every file is `${id}/${file}`: one id per URL
    const id = `url/${createHash('sha256').update(model).digest('hex').slice(0, 16)}`;
    return { kind: 'url', id, host: `${u.origin}/`, pathTemplate: path ? `${path}/` : '.' };
  }
  if (existsSync(model) && statSync(model).isDirectory()) return { kind: 'folder', path: resolve(model) };
  if (HUB_ID.test(model) && !model.startsWith('.') && !model.startsWith('/')) return { kind: 'hub', id: model };
  throw new InvalidInput(`safety model ${model}: not a folder here, not an http(s) URL and not a hub repo id (owner/name)`);
}

/** transformers.js' `env` is global: loads that change it run one at a time. */
let loading: Promise<unknown> = Promise.resolve();

async function loadClassifier(where: ModelLocation, config: SafetyConfig, o: SafetyLoadOptions): Promise<ImageClassificationPipeline> {
  const options: PretrainedModelOptions = {
    device: 'cpu',
    ...(config.dtype !== undefined ? { dtype: config.dtype } : {}),
    ...(o.cacheDir !== undefined ? { cache_dir: o.cacheDir } : {}),
    ...(where.kind === 'folder' ? { local_files_only: true } : {}),
  };
  const run = async () => {
    const saved = { remoteHost: env.remoteHost, remotePathTemplate: env.remotePathTemplate };
    if (where.kind === 'url') {
      env.remoteHost = where.host;
      env.remotePathTemplate = where.pathTemplate;
    }
    try {
      return (await pipeline('image-classification', where.kind === 'folder' ? where.path : where.id, options)) as ImageClassificationPipeline;
    } finally {
      env.remoteHost = saved.remoteHost;
      env.remotePathTemplate = saved.remotePathTemplate;
    }
  };
  const p = loading.then(run, run);
  loading = p.catch(() => undefined);
  return p;
}

/**
 * Validates `config` (InvalidInput, before anything is read; device `webgpu` is browser-only), loads the classifier and checks that
 * the flagged labels are among its labels. Errors: InvalidInput (config, unknown label, a folder or
 * repo without an image classifier), or the loader's error with the model named (not found, offline
 * and not cached).
 */
export async function createSafetyChecker(config: SafetyConfig, o: SafetyLoadOptions = {}): Promise<SafetyChecker> {
  const c = validateSafetyConfig(config);
  if (c.device === 'webgpu') throw new InvalidInput('safety device webgpu: the CLI and the server run the classifier on the CPU (onnxruntime-node); use auto or wasm there');
  const where = locateModel(c.model);
  let classifier: ImageClassificationPipeline;
  try {
    classifier = await loadClassifier(where, c, o);
  } catch (e) {
    throw new Error(`safety model ${c.model} could not be loaded: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const labels = await classifierLabels(classifier, c);
  return {
    config: c,
    labels,
    check: (rgba, width, height) => classifyRgba(classifier, c, rgba, width, height),
    dispose: () => classifier.dispose(),
  };
}
