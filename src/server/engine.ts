/**
 * The server's model: one `Pipeline` (the CLI's, src/cli/generate.ts), loaded once at start, one
 * generation on the GPU at a time behind a bounded FIFO queue, and reloaded by itself when the GPU
 * device is lost. Requests carry an AbortSignal (client gone, timeout, shutdown): a queued request
 * leaves the queue, a running one stops at the next stage or step (Pipeline.generate).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cancelled, DeviceLost } from '../errors';
import { GpuOps } from '../ops/gpuOps';
import type { Ops } from '../ops/ops';
import { Pipeline } from '../pipeline/generate';
import { checkRequestFits, type PlanResult } from '../pipeline/plan';
import type { GeneratePreview, GenerateRequest, GenerateResult, LoadOptions, LoraInfo, ModelInfo } from '../pipeline/types';
import { createOps } from '../cli/backend';
import { resolveSource } from '../cli/generate';
import { ApiError } from './apiError';

export type EngineStatus = 'loading' | 'ready' | 'lost' | 'failed';

export interface EngineOptions {
  /** Pack folder, diffusers folder, hub id or URL (as `npm run generate -- --model`). */
  model: string;
  backend: 'gpu' | 'cpu';
  load: LoadOptions;
  /** Requests that may wait behind the running one; more get 429. */
  queue: number;
  /** Folder whose `*.safetensors` LoRAs are added after every load, named by their file name without `.safetensors`. */
  loraDir?: string;
  log: (line: string) => void;
}

const LORA_FILE = /\.safetensors$/i;

/** Seconds a client is told to wait (Retry-After) when the queue is full or the model loads. */
export const RETRY_AFTER_S = 5;

interface Waiter {
  start: () => void;
  fail: (e: unknown) => void;
}

/**
 * One task at a time, FIFO, at most `limit` waiting. Unlike a generic promise queue it counts a task
 * as running until its function has returned, also after its signal aborted: the GPU is never shared.
 */
export class GpuQueue {
  private busy = false;
  private readonly waiting: Waiter[] = [];

  constructor(readonly limit: number) {}

  /** Requests waiting behind the running one. */
  get size(): number {
    return this.waiting.length;
  }

  get running(): boolean {
    return this.busy;
  }

  /**
   * Runs `fn` when the GPU is free. Errors: ApiError 429 (queue full, checked synchronously before
   * anything waits), Cancelled when `signal` aborts while waiting; else `fn`'s own.
   */
  async run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) throw new Cancelled();
    if (this.busy) {
      if (this.waiting.length >= this.limit) {
        throw new ApiError(429, `the server is busy: one image is being generated and ${this.waiting.length} request(s) wait (the limit, --queue ${this.limit}); retry later`, 'rate_limit_error', null, 'queue_full', RETRY_AFTER_S);
      }
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = {
          start: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          fail: reject,
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new Cancelled());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(w);
      });
    }
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
      this.waiting.shift()?.start();
    }
  }

  /** Rejects every waiting request with `e` (shutdown). */
  rejectWaiting(e: unknown): void {
    for (const w of this.waiting.splice(0)) w.fail(e);
  }
}

export class Engine {
  status: EngineStatus = 'loading';
  /** Why the model failed to load or the device was lost. */
  reason: string | null = null;
  info: ModelInfo | null = null;
  /** When the model became ready (Unix seconds; GET /v1/models `created`). */
  readyAt = 0;
  readonly queue: GpuQueue;
  private ops: Ops<unknown> | null = null;
  private pipeline: Pipeline<unknown> | null = null;
  private readonly fitCache = new Map<string, PlanResult>();
  private loading: Promise<void> | null = null;

  constructor(readonly options: EngineOptions) {
    this.queue = new GpuQueue(options.queue);
  }

  /** Loads the model (again after a lost device). Never throws: the outcome is `status`/`reason`. */
  load(): Promise<void> {
    this.loading ??= this.doLoad().finally(() => (this.loading = null));
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    this.status = this.status === 'lost' ? 'lost' : 'loading';
    const t0 = performance.now();
    try {
      const ops = await createOps(this.options.backend);
      const pipeline = await Pipeline.load(ops, resolveSource(this.options.model), () => {}, this.options.load);
      if (this.options.loraDir !== undefined) await this.addLoras(pipeline, this.options.loraDir);
      this.ops = ops;
      this.pipeline = pipeline;
      this.info = pipeline.info;
      if (ops instanceof GpuOps) this.watchDevice(ops);
      this.status = 'ready';
      this.reason = null;
      this.readyAt = Math.floor(Date.now() / 1000);
      this.options.log(`model ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${pipeline.info.summary}`);
    } catch (e) {
      this.status = 'failed';
      this.reason = e instanceof Error ? e.message : String(e);
      this.options.log(`model failed to load: ${this.reason}`);
    }
  }

  /**
   * Adds every `*.safetensors` in `dir` (sorted by name) to `pipeline` under its name without the
   * extension, before the model is offered (also after a reload: the folder is read again). A file
   * that cannot be read or parsed is logged, naming it and why, and left out; the server still starts.
   */
  private async addLoras(pipeline: Pipeline<unknown>, dir: string): Promise<void> {
    let files: string[];
    try {
      files = (await readdir(dir, { withFileTypes: true })).filter((d) => !d.isDirectory() && LORA_FILE.test(d.name)).map((d) => d.name).sort();
    } catch (e) {
      this.options.log(`--lora-dir ${dir} cannot be read, no LoRAs offered: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    for (const file of files) {
      const name = file.replace(LORA_FILE, '');
      try {
        const info = await pipeline.addLora(name, new Uint8Array(await readFile(join(dir, file))));
        this.options.log(`LoRA "${name}" (${file}): ${info.format} naming, rank ${info.rank}, ${info.layers} weights`);
      } catch (e) {
        this.options.log(`LoRA file ${join(dir, file)} skipped, not offered: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (files.length === 0) this.options.log(`--lora-dir ${dir} has no .safetensors files`);
  }

  /** The LoRAs the loaded model holds (GET /v1/models); none while no model is ready. */
  loras(): LoraInfo[] {
    return this.pipeline?.loras() ?? [];
  }

  /** The names requests may select (`loras[].name`); undefined while no model is ready (the request gets its 503 then). */
  loraNames(): string[] | undefined {
    return this.status === 'ready' && this.pipeline ? this.loras().map((l) => l.name) : undefined;
  }

  /** A lost device is reported at once (GET /healthz) and the model is reloaded on a new one. */
  private watchDevice(ops: GpuOps): void {
    void ops.ctx.device.lost.then((info) => {
      if (this.ops !== ops) return;
      this.deviceLost(new DeviceLost(info.reason ?? 'unknown', info.message));
    });
  }

  private deviceLost(e: DeviceLost): void {
    if (this.status === 'lost') return;
    this.status = 'lost';
    this.reason = e.message;
    this.pipeline = null; // its weights lived on the lost device
    this.ops = null;
    this.options.log(`GPU device lost; reloading the model: ${e.message}`);
    void this.load();
  }

  /** Test hook and operator tool: destroys the GPU device as a driver reset would. */
  loseDevice(): void {
    if (this.ops instanceof GpuOps) this.ops.ctx.device.destroy();
  }

  /** The loaded pipeline, or 503 saying why there is none. */
  private ready(): { ops: Ops<unknown>; pipeline: Pipeline<unknown> } {
    if (this.status === 'ready' && this.ops && this.pipeline) return { ops: this.ops, pipeline: this.pipeline };
    if (this.status === 'failed') throw new ApiError(503, `the model failed to load: ${this.reason}`, 'server_error', null, 'model_unavailable');
    if (this.status === 'lost') throw new ApiError(503, `the GPU device was lost; the model is being reloaded (${this.reason})`, 'server_error', null, 'gpu_lost', RETRY_AFTER_S);
    throw new ApiError(503, 'the model is still loading; retry shortly', 'server_error', null, 'model_loading', RETRY_AFTER_S);
  }

  /** The loaded model is step-distilled (no guidance); false for a base model. True until one is loaded. */
  get distilled(): boolean {
    return this.info?.distilled ?? true;
  }

  /** The loaded model's default steps (4 distilled, 50 base). */
  get defaultSteps(): number {
    return this.info?.defaultSteps ?? 4;
  }

  /**
   * Checks that every request fits this GPU (plan, before queueing), then runs them back to back
   * under one queue slot, calling `onImage` after each. `stopAfterImage()` true ends the run early
   * (shutdown: the running image finishes, the rest is not started). Errors: 503 not ready, 429
   * queue full, InvalidInput (too large for this GPU, bad reference), Cancelled, DeviceLost (the
   * reload has started by then), engine errors.
   */
  async generate(
    requests: GenerateRequest[],
    signal: AbortSignal,
    onImage: (i: number, r: GenerateResult) => Promise<void>,
    opts: { preview?: (i: number, p: GeneratePreview) => void; stopAfterImage?: () => boolean } = {},
  ): Promise<number> {
    const { ops, pipeline } = this.ready();
    for (const req of requests) await checkRequestFits(ops, pipeline, req, this.fitCache);
    return this.queue.run(async () => {
      const current = this.ready(); // the device may have been lost while this request waited
      let done = 0;
      for (const [i, req] of requests.entries()) {
        if (signal.aborted) throw new Cancelled();
        const preview = opts.preview;
        let result: GenerateResult;
        try {
          result = await current.pipeline.generate(req, { signal, ...(preview ? { preview: (p: GeneratePreview) => preview(i, p) } : {}) });
        } catch (e) {
          if (e instanceof DeviceLost) this.deviceLost(e);
          throw e;
        }
        await onImage(i, result);
        done++;
        if (opts.stopAfterImage?.()) break;
      }
      return done;
    }, signal);
  }

  dispose(): void {
    this.pipeline?.dispose();
    this.pipeline = null;
    const ops = this.ops;
    this.ops = null; // before destroying: the device-lost watcher ignores a device that is no longer ours
    if (ops instanceof GpuOps) ops.ctx.device.destroy();
  }
}
