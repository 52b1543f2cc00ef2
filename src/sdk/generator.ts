/**
 * The engine as a small public API for other web apps: one engine worker (src/worker/worker.ts,
 * GeneratorApi over Comlink) per Generator, one model per Generator, loaded once.
 *
 *   import { createGenerator } from 'kleinbild/sdk';
 *   const generator = createGenerator({ model: 'black-forest-labs/FLUX.2-klein-4B' });
 *   const { rgba, width, height } = await generator.generate({ prompt: 'a red fox', width: 512, height: 512, steps: 4, seed: 1 });
 *   await generator.addLora('style', loraBytes); // then: generate({ …, loras: [{ name: 'style', strength: 0.8 }] })
 *
 * The worker is created with `new Worker(new URL('../worker/worker.ts', import.meta.url), …)`: the
 * consuming app's bundler (Vite) emits it as a same-origin file, so nothing is loaded from a CDN.
 */
import * as Comlink from 'comlink';
import { Cancelled } from '../errors';
import type {
  Capabilities,
  GeneratePreview,
  GenerateProgress,
  GenerateRequest,
  GenerateResult,
  GeneratorApi,
  LoadOptions,
  LoadProgress,
  LoraInfo,
  ModelInfo,
  ModelSource,
} from '../worker/api';

export type {
  AdapterCapabilities,
  Capabilities,
  GeneratePreview,
  GenerateProgress,
  GenerateRequest,
  GenerateResult,
  LoadOptions,
  LoadProgress,
  LoraInfo,
  LoraUse,
  ModelInfo,
  ModelSource,
  Precision,
  ReferenceImage,
  Stage,
  StageTimings,
} from '../worker/api';

export type GeneratorOptions = {
  /** A hub repo id (`owner/name`), an http(s) base URL of a model folder, or `store:<id>` (a model stored in this browser). */
  model: ModelSource;
  /** Quantization, low-memory mode, activation precision (LoadOptions); default: the engine's defaults. */
  load?: LoadOptions;
};

/** Per-call hooks of Generator.generate. */
export type GenerateCallOptions = {
  /** Stage and step progress, fraction in [0, 1]. */
  onProgress?: (progress: GenerateProgress) => void;
  /** A live preview after every denoising step (W/8 × H/8 RGBA8); asking for it costs one preview fit per model. */
  onPreview?: (preview: GeneratePreview) => void;
  /** Aborting cancels the generation (or drops it while it waits for the model or an earlier call); rejects with an error named 'Cancelled'. */
  signal?: AbortSignal;
};

export interface Generator {
  /**
   * Loads the model (downloads what it needs, uploads the weights to the GPU). Runs once: later calls,
   * and generate(), share the same load; `onProgress` is called only by the call that starts it.
   * After a failed load or a DeviceLost, the next call loads again. Rejects with the engine's errors
   * by name: WebGpuUnavailable, WeightMismatch, IntegrityFailure, network errors, …
   */
  load(onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo>;
  /**
   * Renders one image: `rgba` [height, width, 4] RGBA8 plus the seed and stage timings. Loads the
   * model first when load() was not called. Calls run one at a time in call order (the engine runs
   * one generation at a time). The request's pixel buffers are copied, not transferred. Rejects with
   * InvalidInput (size, steps, seed, references), Cancelled (signal aborted), DeviceLost, ….
   */
  generate(request: GenerateRequest, options?: GenerateCallOptions): Promise<GenerateResult>;
  /**
   * Parses a LoRA `.safetensors` file (ai-toolkit, kohya or diffusers/PEFT naming) for the model and
   * keeps it under `name` (replacing one of that name); requests select it with
   * `loras: [{ name, strength }]`. Loads the model first; runs in turn with generate() calls. The
   * Generator keeps the bytes and adds the file again after a reload (a lost device), so a LoRA stays
   * until removeLora() or dispose(). Rejects with InvalidInput naming the file and the problem (not
   * safetensors, another model's LoRA, a text-encoder LoRA, DoRA/LoKr, shapes that do not fit).
   */
  addLora(name: string, bytes: Uint8Array | ArrayBuffer): Promise<LoraInfo>;
  /** Forgets the LoRA `name` (no-op when unknown); runs in turn with generate() calls. */
  removeLora(name: string): Promise<void>;
  /** The LoRAs added (and not removed), in the order they were added. */
  loras(): LoraInfo[];
  /** The WebGPU adapter report, or `{error}` with the reason WebGPU cannot be used here. */
  capabilities(): Promise<Capabilities>;
  /** Terminates the worker (freeing its GPU memory); pending and later calls reject with an error named 'Cancelled'. */
  dispose(): void;
}

/** Rejects with an error named 'WorkerError' when the worker script fails to load or throws at the top level. */
function workerFailure(worker: Worker): Promise<never> {
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (ev) => {
      const err = new Error(`the engine worker failed: ${ev.message || 'it could not start (see the browser console)'}`);
      err.name = 'WorkerError';
      reject(err);
    });
  });
  failed.catch(() => {}); // observed by whoever races it
  return failed;
}

/** Rejects with Cancelled when `signal` aborts (at once when it already has); `off` removes the listener. */
function abortion(signal: AbortSignal | undefined): { aborted: Promise<never>; off: () => void } {
  if (!signal) return { aborted: new Promise<never>(() => {}), off: () => {} };
  let off = () => {};
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(new Cancelled());
    const onAbort = () => reject(new Cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    off = () => signal.removeEventListener('abort', onAbort);
  });
  aborted.catch(() => {});
  return { aborted, off };
}

/**
 * A Generator for `options.model`. Nothing starts until the first call: the worker is created then
 * (so a Generator can be made where there is no `Worker`, e.g. during server-side rendering).
 */
export function createGenerator(options: GeneratorOptions): Generator {
  let engine: { worker: Worker; remote: Comlink.Remote<GeneratorApi>; failed: Promise<never> } | null = null;
  let disposed = false;
  let rejectDisposed: (e: Error) => void = () => {};
  const disposedPromise = new Promise<never>((_, reject) => (rejectDisposed = reject));
  disposedPromise.catch(() => {});
  let loading: Promise<ModelInfo> | null = null;
  /** The tail of the generate() queue: each call starts after the previous one settled. */
  let queue: Promise<unknown> = Promise.resolve();
  /** The LoRAs added, with their bytes: added again to every newly loaded model. */
  const held = new Map<string, { bytes: Uint8Array; info: LoraInfo }>();
  /** `work` after the calls before it settled (one engine, one thing at a time); `aborted` drops it while it waits. */
  const inTurn = <R>(work: () => Promise<R>, aborted?: Promise<never>): Promise<R> => {
    const previous = queue;
    const mine = (async () => {
      await (aborted ? Promise.race([previous, aborted]) : previous);
      return work();
    })();
    queue = Promise.allSettled([previous, mine]);
    return mine;
  };

  const started = () => {
    if (disposed) throw new Cancelled();
    if (!engine) {
      const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'kleinbild-engine' });
      engine = { worker, remote: Comlink.wrap<GeneratorApi>(worker), failed: workerFailure(worker) };
    }
    return engine;
  };
  /** `work` raced with the worker failing and with dispose(). */
  const guarded = <R>(failed: Promise<never>, work: Promise<R>): Promise<R> => Promise.race([work, failed, disposedPromise]);

  const load = (onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> => {
    if (loading) return loading;
    const attempt = (async () => {
      const { remote, failed } = started();
      const info = await guarded(failed, remote.load(options.model, Comlink.proxy(onProgress ?? (() => {})), options.load ?? {}));
      for (const [name, l] of held) await guarded(failed, remote.addLora(name, l.bytes)); // a reload starts without them
      return info;
    })();
    loading = attempt;
    attempt.catch(() => {
      if (loading === attempt) loading = null; // the next call tries again
    });
    return attempt;
  };

  /** One generation, once the earlier ones settled; `aborted` rejects when the caller's signal aborts. */
  const run = async (request: GenerateRequest, call: GenerateCallOptions, aborted: Promise<never>): Promise<GenerateResult> => {
    try {
      const { remote, failed } = started();
      await Promise.race([load(), aborted]);
      const onProgress = Comlink.proxy(call.onProgress ?? (() => {}));
      const onPreview = call.onPreview && Comlink.proxy(call.onPreview);
      const result = guarded(failed, onPreview ? remote.generate(request, onProgress, onPreview) : remote.generate(request, onProgress));
      result.catch(() => {});
      // The worker cancels the running generation, which is this one (calls run one at a time); it then
      // rejects with Cancelled, which is what this call answers with.
      aborted.catch(() => void remote.cancel());
      return await result;
    } catch (e) {
      if (e instanceof Error && e.name === 'DeviceLost') loading = null; // the next call reloads on a new device
      throw e;
    }
  };

  return {
    load,
    generate(request: GenerateRequest, call: GenerateCallOptions = {}): Promise<GenerateResult> {
      if (disposed) return Promise.reject(new Cancelled());
      const { aborted, off } = abortion(call.signal);
      // an abort while queued drops the call at once; the next call waits for the engine to be free
      return inTurn(() => run(request, call, aborted), aborted).finally(off);
    },
    addLora(name: string, bytes: Uint8Array | ArrayBuffer): Promise<LoraInfo> {
      if (disposed) return Promise.reject(new Cancelled());
      const copy = new Uint8Array(bytes instanceof ArrayBuffer ? bytes.slice(0) : bytes.slice()); // the caller may reuse its buffer
      return inTurn(async () => {
        const { remote, failed } = started();
        await load();
        const info = await guarded(failed, remote.addLora(name, copy));
        held.delete(name); // re-added at the end: the order they were added in
        held.set(name, { bytes: copy, info });
        return info;
      });
    },
    removeLora(name: string): Promise<void> {
      if (disposed) return Promise.reject(new Cancelled());
      return inTurn(async () => {
        if (!held.delete(name) || !engine) return;
        await guarded(engine.failed, engine.remote.removeLora(name));
      });
    },
    loras(): LoraInfo[] {
      return [...held.values()].map((l) => l.info);
    },
    async capabilities(): Promise<Capabilities> {
      const { remote, failed } = started();
      return guarded(failed, remote.capabilities());
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      rejectDisposed(new Cancelled());
      if (!engine) return;
      engine.remote[Comlink.releaseProxy]();
      engine.worker.terminate();
      engine = null;
    },
  };
}
