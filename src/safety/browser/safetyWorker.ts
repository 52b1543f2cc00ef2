/**
 * The safety worker: transformers.js `pipeline('image-classification')` on onnxruntime-web, on its
 * WebGPU execution provider when the browser offers an adapter (config `device`, ./backend.ts), else
 * WASM (one thread without cross-origin isolation); both run from the same asyncify build. ONNX
 * Runtime's .wasm/.mjs files come from this origin (Vite `?url` assets), never from a CDN. Model
 * files are stored beside the models, in IndexedDB `kleinbild-models` store `classifierFiles`
 * (transformers.js' custom cache: src/store/classifierFiles.ts), so a classifier fetched once works
 * offline.
 */
import * as Comlink from 'comlink';
import { env, pipeline, type ImageClassificationPipeline } from '@huggingface/transformers';
import ortMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { classifierCache } from '../../store/classifierFiles';
import { validateSafetyConfig, type SafetyConfig } from '../config';
import { classifierLabels, classifyRgba } from '../classify';
import type { BrowserSafetyResult, SafetyBackend, SafetyWorkerApi } from './api';
import { locateBrowserModel } from './locate';
import { chooseBackend, fallbackAfter } from './backend';

env.allowLocalModels = false;
env.useBrowserCache = false;
env.useCustomCache = true;
env.customCache = classifierCache();
// The Cache Storage that earlier versions kept the classifier in: its files are fetched again, once.
if (typeof caches !== 'undefined') caches.delete('transformers-cache').catch(() => undefined);
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

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Why WebGPU cannot be used here, or null when the browser offers an adapter. */
async function webgpuMissing(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser offers no WebGPU in workers';
  try {
    return (await gpu.requestAdapter()) ? null : 'no WebGPU adapter';
  } catch (e) {
    return `requestAdapter failed: ${message(e)}`;
  }
}

/**
 * Loads the pipeline on `device`; on WebGPU also runs it once on a small grey image, so an op it
 * cannot run fails here, not at the first check. `fetched` collects the files read (from the store
 * or the network).
 */
async function loadOn(id: string, c: SafetyConfig, device: SafetyBackend, fetched: Set<string>): Promise<ImageClassificationPipeline> {
  const p = (await pipeline('image-classification', id, {
    device,
    progress_callback: (info: { status: string; file?: string }) => {
      if (info.status === 'done' && info.file) fetched.add(info.file);
    },
    ...(c.dtype !== undefined && c.dtype !== 'auto' ? { dtype: c.dtype } : {}),
  })) as ImageClassificationPipeline;
  if (device === 'webgpu') {
    try {
      await classifyRgba(p, c, new Uint8ClampedArray(WARMUP_SIDE * WARMUP_SIDE * 4).fill(128), WARMUP_SIDE, WARMUP_SIDE);
    } catch (e) {
      await p.dispose();
      throw e;
    }
  }
  return p;
}

/** Side of the warm-up image (pixels): any size works, the processor resizes it. */
const WARMUP_SIDE = 8;

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
    const wanted = c.device ?? 'auto';
    let choice = chooseBackend(wanted, wanted === 'wasm' ? null : await webgpuMissing());
    let p: ImageClassificationPipeline;
    const fetched = new Set<string>();
    try {
      try {
        p = await loadOn(where.id, c, choice.device, fetched);
      } catch (e) {
        const retry = fallbackAfter(wanted, choice.device, e, [...fetched].some((f) => f.endsWith('.onnx')));
        if (!retry) throw e;
        choice = retry;
        p = await loadOn(where.id, c, choice.device, fetched);
      }
    } catch (e) {
      const offline = unreachable.length ? ` (not stored in this browser, and the network could not be reached for ${unreachable.join(', ')})` : '';
      throw new Error(`safety model ${c.model} could not be loaded (${choice.device === 'webgpu' ? 'WebGPU' : 'WASM'}): ${message(e)}${offline}`, { cause: e });
    }
    const labels = await classifierLabels(p, c);
    classifier = p;
    current = c;
    return { labels, ms: performance.now() - t0, ...choice };
  },
  async check(rgba, width, height): Promise<BrowserSafetyResult> {
    if (!classifier || !current) throw new Error('safety check: no classifier is loaded (load() first)');
    return classifyRgba(classifier, current, rgba, width, height);
  },
};

Comlink.expose(api);
