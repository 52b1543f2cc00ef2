/**
 * The safety worker: transformers.js `pipeline('image-classification')` on onnxruntime-web (WASM,
 * one thread without cross-origin isolation). ONNX Runtime's .wasm/.mjs files come from this
 * origin (Vite `?url` assets), never from a CDN. Model files go through transformers.js' browser
 * cache (Cache Storage `transformers-cache`), so a classifier fetched once works offline.
 */
import * as Comlink from 'comlink';
import { env, pipeline, RawImage, type ImageClassificationPipeline } from '@huggingface/transformers';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { InvalidInput } from '../../errors';
import { validateSafetyConfig, type SafetyConfig } from '../config';
import type { BrowserSafetyResult, SafetyWorkerApi } from './api';
import { locateBrowserModel } from './locate';

env.allowLocalModels = false;
env.useBrowserCache = true;
// false: ORT loads its factory from our URL (script-src 'self'); true would import it from a blob: URL.
env.useWasmCache = false;
const onnx = env.backends.onnx as { wasm?: { wasmPaths?: unknown; numThreads?: number; proxy?: boolean } };
if (onnx.wasm) {
  onnx.wasm.wasmPaths = { mjs: new URL(ortMjs, self.location.href).href, wasm: new URL(ortWasm, self.location.href).href };
  onnx.wasm.numThreads = 1;
}

/**
 * Offline, transformers.js still asks the network for files it only probes for (e.g.
 * tokenizer_config.json, processor_config.json: a 404 is never cached): a network error becomes a 404, so a probe reads as
 * "missing" and a cached model loads; a file that is needed and not cached then fails as not found,
 * and load() names the unreachable URLs.
 */
const networkFetch = env.fetch;
let unreachable: string[] = [];
env.fetch = async (input: string | URL, init?: RequestInit) => {
  try {
    return await networkFetch(input, init);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e; // fetch's network errors are TypeErrors
    unreachable.push(String(input));
    return new Response(`unreachable: ${e.message}`, { status: 404, statusText: 'Not Found (unreachable)' });
  }
};

let classifier: ImageClassificationPipeline | null = null;
let current: SafetyConfig | null = null;

const api: SafetyWorkerApi = {
  async load(config) {
    const c = validateSafetyConfig(config);
    const where = locateBrowserModel(c.model);
    const t0 = performance.now();
    unreachable = [];
    await classifier?.dispose();
    classifier = null;
    env.remoteHost = where.host;
    env.remotePathTemplate = where.pathTemplate;
    let p: ImageClassificationPipeline;
    try {
      p = (await pipeline('image-classification', where.id, {
        device: 'wasm',
        ...(c.dtype !== undefined && c.dtype !== 'auto' ? { dtype: c.dtype } : {}),
      })) as ImageClassificationPipeline;
    } catch (e) {
      const offline = unreachable.length ? ` (not cached, and the network could not be reached for ${unreachable.join(', ')})` : '';
      throw new Error(`safety model ${c.model} could not be loaded: ${e instanceof Error ? e.message : String(e)}${offline}`, { cause: e });
    }
    const id2label = (p.model.config as { id2label?: Record<string, string> }).id2label ?? {};
    const labels = Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((k) => id2label[k] as string);
    const unknown = c.flaggedLabels.filter((l) => !labels.includes(l));
    if (labels.length === 0 || unknown.length) {
      await p.dispose();
      throw new InvalidInput(`safety model ${c.model}: label(s) ${unknown.join(', ') || '(none)'} not among its labels (${labels.join(', ') || 'config.json has no id2label'})`);
    }
    classifier = p;
    current = c;
    return { labels, ms: performance.now() - t0 };
  },
  async check(rgba, width, height): Promise<BrowserSafetyResult> {
    if (!classifier || !current) throw new Error('safety check: no classifier is loaded (load() first)');
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || rgba.length !== width * height * 4) {
      throw new InvalidInput(`safety check: an RGBA image of ${width}×${height} needs ${width * height * 4} bytes, got ${rgba.length}`);
    }
    const t0 = performance.now();
    const image = new RawImage(rgba, width, height, 4).rgb();
    const out = (await classifier(image, { top_k: null })) as { label: string; score: number }[];
    const scores: Record<string, number> = {};
    for (const { label, score } of out) scores[label] = score;
    const c = current;
    const flagged = c.flaggedLabels.some((l) => (scores[l] ?? 0) >= c.threshold);
    return { flagged, scores, ms: performance.now() - t0 };
  },
};

Comlink.expose(api);
