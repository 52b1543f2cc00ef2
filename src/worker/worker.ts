/**
 * The engine worker: implements GeneratorApi (./api.ts) on WebGPU and exposes it with Comlink.
 * The only worker-side file that knows Comlink. Errors cross to the UI with their `name`
 * (WebGpuUnavailable, DeviceLost, InvalidInput, Cancelled, …) and `message`; Comlink rebuilds
 * them as `Error` objects carrying both.
 */
import * as Comlink from 'comlink';
import type { Capabilities, GeneratePreview, GenerateProgress, GenerateRequest, GenerateResult, GeneratorApi, LoadOptions, LoadProgress, LoraInfo, ModelInfo, ModelSource } from './api';
import { GpuContext, type GpuTensor } from '../gpu/context';
import { type AdapterReport, requestDevice } from '../gpu/device';
import { Cancelled, DeviceLost, InvalidInput } from '../errors';
import { GpuOps } from '../ops/gpuOps';
import { Pipeline, resolvePrecision } from '../pipeline/generate';
import { type PlanOptions, type PlanResult, checkRequestFits, plannedPipelines } from '../pipeline/plan';
import { gpuFit } from '../pipeline/gpuFit';
import { kleinConfigs } from '../catalog/choices';
import { openSource } from '../weights/httpSource';
import { downloadModel, planDownload } from '../store/download';
import { importFolder, planImport } from '../store/importFolder';
import { type ModelHold, deleteModel, holdModel, storageReport } from '../store/models';
import { STORE_PREFIX, storeSource } from '../store/storeSource';
import type { PackRecipe } from '../weights/packJob';

/** Load progress is forwarded at most this often (plus every file change and the last byte). */
const LOAD_PROGRESS_INTERVAL_MS = 100;

interface Gpu {
  ops: GpuOps;
  report: AdapterReport;
  /** Rejects with DeviceLost when the device goes away; never resolves. */
  lost: Promise<never>;
}

let gpu: Promise<Gpu> | null = null;
let pipeline: Pipeline<GpuTensor> | null = null;
/** Plans of the loaded pipeline by request size (checkRequestFits), dropped with it. */
let plans = new Map<string, PlanResult>();
let running: AbortController | null = null;
let downloading: AbortController | null = null;
/** Set when the device went away under a loaded model; generate() reports it until the next load. */
let lostError: DeviceLost | null = null;
/**
 * The loaded stored model's lock, held shared for as long as its pipeline is loaded: generate() reads
 * token embedding rows (and, for references, the VAE encoder) from the store, so no tab may delete it
 * meanwhile. Let go by unload() (another load) and when the device is lost; by the browser when the
 * worker ends.
 */
let loadedHold: ModelHold | null = null;

/** Drops the loaded pipeline and lets go of its stored model. */
function unload(): void {
  pipeline?.dispose();
  pipeline = null;
  loadedHold?.release();
  loadedHold = null;
}

/** The current device, or a new one when there is none yet or the last one was lost. */
function acquireGpu(): Promise<Gpu> {
  if (gpu) return gpu;
  const next = (async (): Promise<Gpu> => {
    const { device, report } = await requestDevice(navigator.gpu);
    const lost = device.lost.then((info): never => {
      const err = new DeviceLost(info.reason ?? 'unknown', info.message);
      if (gpu === next) gpu = null;
      if (pipeline) lostError = err;
      pipeline = null; // its weights lived on the lost device
      loadedHold?.release();
      loadedHold = null;
      throw err;
    });
    lost.catch(() => {}); // observed by whoever races it; no unhandled rejection otherwise
    return { ops: new GpuOps(new GpuContext(device, report.isCpu, report.subgroupReductions)), report, lost };
  })();
  // A failed request (no adapter) is retried on the next call instead of being cached.
  next.catch(() => {
    if (gpu === next) gpu = null;
  });
  gpu = next;
  return next;
}

/** Runs `work`, rejecting with DeviceLost as soon as the device is lost (work may never settle then). */
function raceLoss<R>(state: Gpu, work: Promise<R>): Promise<R> {
  return Promise.race([work, state.lost]);
}

/** Calls `send` at most every LOAD_PROGRESS_INTERVAL_MS, always on a new file and at 100 %. */
function throttleLoad(send: (p: LoadProgress) => void): (p: LoadProgress) => void {
  let last = 0;
  let lastFile = '';
  return (p) => {
    const now = performance.now();
    if (p.file !== lastFile || p.loadedBytes >= p.totalBytes || now - last >= LOAD_PROGRESS_INTERVAL_MS) {
      last = now;
      lastFile = p.file;
      send(p);
    }
  };
}

/**
 * Pipeline.load from `store:<id>` (the browser's model store; the caller holds the model's lock, see
 * loadedHold) or from a hub id / URL.
 */
function loadPipeline(ops: GpuOps, source: ModelSource, onProgress: (p: LoadProgress) => void, options: LoadOptions): Promise<Pipeline<GpuTensor>> {
  // the kernels a 512² run dispatches, planned and compiled while the weights are read
  const precision = resolvePrecision(ops, options.precision) ? 'f16' : 'f32'; // Pipeline.load resolves it the same way
  const precompile = (m: Pick<PlanOptions, 'configs' | 'formats' | 'lowMemory'>) =>
    void plannedPipelines({ ...m, width: 512, height: 512, steps: 1, precision, cpuAdapter: ops.ctx.cpuAdapter })
      .then((specs) => ops.ctx.precompile(specs))
      .catch(() => {}); // a failed plan only means the kernels compile at their first dispatch
  if (!source.startsWith(STORE_PREFIX)) return Pipeline.load(ops, openSource(source), onProgress, options, precompile);
  return storeSource(source.slice(STORE_PREFIX.length)).then((src) => Pipeline.load(ops, src, onProgress, options, precompile));
}

/** Runs one download or import at a time; cancelDownload() aborts its signal. */
async function storing<R>(work: (signal: AbortSignal) => Promise<R>): Promise<R> {
  if (downloading) throw new InvalidInput('A download or import is already running in this tab; wait for it or cancel it.');
  const abort = new AbortController();
  downloading = abort;
  try {
    return await work(abort.signal);
  } finally {
    downloading = null;
  }
}

const api: GeneratorApi = {
  async capabilities(): Promise<Capabilities> {
    try {
      const { report } = await acquireGpu();
      return { error: null, adapter: { ...report } };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      return { error: err.message, adapter: null };
    }
  },

  async gpuFit(quant, width, height, groups = {}) {
    const { report } = await acquireGpu();
    const memory = (navigator as { deviceMemory?: number }).deviceMemory;
    return gpuFit(kleinConfigs(), quant === 'none' ? undefined : quant, width, height, report, typeof memory === 'number' && memory > 0 ? memory : null, groups);
  },

  async load(source: ModelSource, onProgress: (p: LoadProgress) => void, options: LoadOptions = {}): Promise<ModelInfo> {
    if (running) throw new InvalidInput('A generation is running; cancel it before loading another model.');
    unload();
    // a stored model is held from before its first read until it is unloaded (InvalidInput when busy)
    const hold = source.startsWith(STORE_PREFIX) ? await holdModel(source.slice(STORE_PREFIX.length)) : null;
    try {
      const state = await acquireGpu();
      pipeline = await raceLoss(state, loadPipeline(state.ops, source, throttleLoad(onProgress), options));
    } catch (e) {
      hold?.release();
      throw e;
    }
    loadedHold?.release(); // a load that overlapped this one
    loadedHold = hold;
    plans = new Map();
    lostError = null;
    return pipeline.info;
  },

  async generate(req: GenerateRequest, onProgress: (p: GenerateProgress) => void, onPreview?: (p: GeneratePreview) => void): Promise<GenerateResult> {
    if (lostError) throw lostError;
    if (!pipeline) throw new InvalidInput('No model is loaded: press Load first.');
    const state = await acquireGpu();
    if (running) throw new InvalidInput('A generation is already running.');
    const abort = new AbortController();
    running = abort;
    try {
      // previews move to the UI thread without a copy
      const preview = onPreview && ((p: GeneratePreview) => void onPreview(Comlink.transfer(p, [p.rgba.buffer])));
      await checkRequestFits(state.ops, pipeline, req, plans); // a request this GPU cannot hold is refused before any work
      const result = await raceLoss(state, pipeline.generate(req, { onProgress, signal: abort.signal, ...(preview ? { preview } : {}) }));
      return Comlink.transfer(result, [result.rgba.buffer]);
    } catch (e) {
      // However the pipeline noticed the abort, the UI sees one error name for it.
      if (abort.signal.aborted && !(e instanceof DeviceLost)) throw new Cancelled();
      throw e;
    } finally {
      running = null;
    }
  },

  cancel(): void {
    running?.abort();
  },

  async addLora(name: string, bytes: Uint8Array): Promise<LoraInfo> {
    if (!pipeline) throw new InvalidInput('No model is loaded: load one before adding a LoRA.');
    return pipeline.addLora(name, bytes);
  },

  async removeLora(name: string): Promise<void> {
    pipeline?.removeLora(name);
  },

  storage: () => storageReport(),

  planDownload: (recipe: PackRecipe) => planDownload(recipe),

  download: (recipe, onProgress) => storing((signal) => downloadModel(recipe, { signal, onProgress })),

  planImport: (files, quant) => planImport(files, quant),

  importFolder: (files, quant, onProgress) => storing((signal) => importFolder(files, quant, { signal, onProgress })),

  cancelDownload(): void {
    downloading?.abort();
  },

  deleteModel: (id: string) => deleteModel(id),

  async unload(): Promise<void> {
    if (running) throw new InvalidInput('A generation is running; cancel it before unloading the model.');
    unload();
    lostError = null;
  },
};

Comlink.expose(api);
