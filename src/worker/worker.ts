/**
 * The engine worker: implements GeneratorApi (./api.ts) on WebGPU and exposes it with Comlink.
 * The only worker-side file that knows Comlink. Errors cross to the UI with their `name`
 * (WebGpuUnavailable, DeviceLost, InvalidInput, Cancelled, …) and `message`; Comlink rebuilds
 * them as `Error` objects carrying both.
 */
import * as Comlink from 'comlink';
import type { Capabilities, GenerateProgress, GenerateRequest, GenerateResult, GeneratorApi, LoadProgress, ModelInfo, ModelSource } from './api';
import { GpuContext, type GpuTensor } from '../gpu/context';
import { type AdapterReport, requestDevice } from '../gpu/device';
import { Cancelled, DeviceLost, InvalidInput } from '../gpu/errors';
import { GpuOps } from '../ops/gpuOps';
import { Pipeline } from '../pipeline/generate';
import { openSource } from '../weights/source';

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
let running: AbortController | null = null;
/** Set when the device went away under a loaded model; generate() reports it until the next load. */
let lostError: DeviceLost | null = null;

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
      throw err;
    });
    lost.catch(() => {}); // observed by whoever races it; no unhandled rejection otherwise
    return { ops: new GpuOps(new GpuContext(device, report.isCpu)), report, lost };
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

const api: GeneratorApi = {
  async capabilities(): Promise<Capabilities> {
    try {
      const { report } = await acquireGpu();
      return {
        error: null,
        adapter: {
          vendor: report.vendor,
          architecture: report.architecture,
          description: report.description,
          features: report.features,
          limits: report.limits,
        },
      };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      return { error: err.message, adapter: null };
    }
  },

  async load(source: ModelSource, onProgress: (p: LoadProgress) => void): Promise<ModelInfo> {
    if (running) throw new InvalidInput('A generation is running; cancel it before loading another model.');
    pipeline?.dispose();
    pipeline = null;
    const state = await acquireGpu();
    pipeline = await raceLoss(state, Pipeline.load(state.ops, openSource(source), throttleLoad(onProgress)));
    lostError = null;
    return pipeline.info;
  },

  async generate(req: GenerateRequest, onProgress: (p: GenerateProgress) => void): Promise<GenerateResult> {
    if (lostError) throw lostError;
    if (!pipeline) throw new InvalidInput('No model is loaded: press Load first.');
    const state = await acquireGpu();
    if (running) throw new InvalidInput('A generation is already running.');
    const abort = new AbortController();
    running = abort;
    try {
      const result = await raceLoss(state, pipeline.generate(req, { onProgress, signal: abort.signal }));
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
};

Comlink.expose(api);
