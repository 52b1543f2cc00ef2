/**
 * A run's memory and dispatch plan, measured stage by stage on any GpuContext: the plan device
 * (src/gpu/planDevice.ts: nothing allocated, nothing computed; `runPlan`) or a real one (the test
 * that holds the plan to the device). Stages are encode (text encoder, references), each Euler step
 * and decode, attributed at the pipeline's progress events like the benchmark's (the ops of a stage
 * are encoded synchronously between its first event and the next stage's).
 */
import { GpuContext, type DispatchRecord } from '../gpu/context';
import { createPlanDevice } from '../gpu/planDevice';
import { GPU_PROFILES, rooflineMs } from '../gpu/profiles';
import { type Configs, TEXT_SEQ_LEN } from '../model/config';
import { GpuOps } from '../ops/gpuOps';
import { Pipeline } from '../pipeline/generate';
import type { GenerateRequest, ReferenceImage } from '../pipeline/types';
import type { QuantFormat } from '../util/dtype';
import { PlanWeights } from '../weights/planWeights';
import { benchTokenizer } from './bench';

/** Work of one kernel entry point (or of all) in a stage. */
export interface KernelPlan {
  dispatches: number;
  flops: number;
  /** Bytes read + written at least (DispatchArgs.bytes: each binding once, used weight rows only). */
  bytes: number;
}

export interface StagePlan extends KernelPlan {
  /** 'encode', 'step 1' …, 'decode'. */
  name: string;
  /** Peak of all device buffers during the stage: weights + activations + the pool's free buffers. */
  peakBytes: number;
  /** Peak of weights + activations in use (the pool's free buffers not counted). */
  liveBytes: number;
  kernels: Record<string, KernelPlan>;
  /** Σ over dispatches of max(flops/peak, bytes/bandwidth), ms, per GPU profile id. */
  roofline: Record<string, number>;
}

export interface StageMeasure {
  stages: StagePlan[];
  /** Largest storage binding of any dispatch. */
  maxBindingBytes: number;
}

/**
 * Runs `req` through `pipeline` on `ctx` (its ops must be a GpuOps over ctx) and measures each stage.
 * Sets and clears `ctx.recorder`.
 */
export async function measureStages(ctx: GpuContext, pipeline: Pipeline<unknown>, req: GenerateRequest): Promise<StageMeasure> {
  const stages: StagePlan[] = [];
  let maxBindingBytes = 0;
  let cur: StagePlan | null = null;
  const open = (name: string) => {
    ctx.pool.resetStagePeak();
    cur = { name, dispatches: 0, flops: 0, bytes: 0, peakBytes: 0, liveBytes: 0, kernels: {}, roofline: Object.fromEntries(GPU_PROFILES.map((p) => [p.id, 0])) };
  };
  const close = () => {
    if (!cur) return;
    cur.peakBytes = ctx.pool.stagePeak.allocated;
    cur.liveBytes = ctx.pool.stagePeak.live;
    stages.push(cur);
    cur = null;
  };
  ctx.recorder = (d: DispatchRecord) => {
    maxBindingBytes = Math.max(maxBindingBytes, d.maxBindingBytes);
    const s = cur as StagePlan | null;
    if (!s) return;
    s.dispatches++;
    s.flops += d.flops;
    s.bytes += d.bytes;
    const k = (s.kernels[d.entry] ??= { dispatches: 0, flops: 0, bytes: 0 });
    k.dispatches++;
    k.flops += d.flops;
    k.bytes += d.bytes;
    for (const p of GPU_PROFILES) s.roofline[p.id] = (s.roofline[p.id] as number) + rooflineMs(p, d);
  };
  let last = '';
  try {
    await pipeline.generate(req, {
      onProgress: (p) => {
        const key = p.stage === 'denoise' ? `step ${p.step}` : p.stage;
        if (key === last) return;
        close();
        open(key);
        last = key;
      },
    });
    close();
  } finally {
    ctx.recorder = null;
  }
  return { stages, maxBindingBytes };
}

export interface PlanOptions {
  configs: Configs;
  width: number;
  height: number;
  steps: number;
  /** Linear weights of the text encoder and the transformer (a q4/q8 pack); default bf16. */
  quant?: QuantFormat;
  lowMemory?: boolean;
  /** Reference images (editing), each of the output size. */
  refs?: number;
  /**
   * Plan the kernel choices of a CPU adapter (SwiftShader, lavapipe: barrier-free attention); default
   * false, a GPU. The test against a real device on a CPU adapter sets it.
   */
  cpuAdapter?: boolean;
}

export interface PlanResult {
  width: number;
  height: number;
  steps: number;
  quant: QuantFormat | 'bf16';
  lowMemory: boolean;
  refs: number;
  textTokens: number;
  imageTokens: number;
  /** Bytes of all weights made (normal mode: resident; low memory: made stage by stage). */
  weightBytes: number;
  /** Peak of all device buffers over the run (weights + activations + pool). */
  peakBytes: number;
  /** Largest single buffer (needs maxBufferSize ≥ it). */
  maxBufferBytes: number;
  /** Largest single binding (needs maxStorageBufferBindingSize ≥ it). */
  maxBindingBytes: number;
  /** Of the last denoising step (step 1 also projects the prompt embeddings). */
  dispatchesPerStep: number;
  bytesPerStep: number;
  flopsPerStep: number;
  stages: StagePlan[];
  /** The whole run's roofline per GPU profile id, ms. */
  roofline: Record<string, number>;
}

/** A request of `width`×`height` with `refs` mid-grey references of the same size. */
export function planRequest(width: number, height: number, steps: number, refs = 0): GenerateRequest {
  const ref = (): ReferenceImage => ({ width, height, rgba: new Uint8ClampedArray(width * height * 4).fill(128) });
  return { prompt: '', width, height, steps, seed: 0, ...(refs > 0 ? { references: Array.from({ length: refs }, ref) } : {}) };
}

/** The plan of one text-to-image (or editing) run, on the plan device. */
export async function runPlan(o: PlanOptions): Promise<PlanResult> {
  const unlimited = 2 ** 52;
  const device = createPlanDevice({ limits: { maxBufferSize: unlimited, maxStorageBufferBindingSize: unlimited }, features: ['shader-f16'] });
  const ctx = new GpuContext(device, o.cpuAdapter ?? false);
  try {
    return await planOn(ctx, o);
  } finally {
    ctx.destroy();
  }
}

/**
 * The same measurements on a given context (fresh: its pool counters start at zero), with weights of
 * the right formats and zero values (PlanWeights): on the plan device this is `runPlan`; on a real
 * device it is the run the plan must equal.
 */
export async function planOn(ctx: GpuContext, o: Omit<PlanOptions, 'cpuAdapter'>): Promise<PlanResult> {
  const ops = new GpuOps(ctx);
  const sources = { textEncoder: new PlanWeights(ops, o.quant), transformer: new PlanWeights(ops, o.quant), vae: new PlanWeights(ops) };
  const cfg = o.configs;
  const pipeline = await Pipeline.create(ops, cfg, benchTokenizer(cfg.textEncoder.vocab_size), sources, { source: 'plan', summary: 'plan' }, o.lowMemory ? { lowMemory: true } : {});
  const made = () => sources.textEncoder.loadedBytes + sources.transformer.loadedBytes + sources.vae.loadedBytes;
  const before = made();
  const refs = o.refs ?? 0;
  const { stages, maxBindingBytes } = await measureStages(ctx, pipeline as Pipeline<unknown>, planRequest(o.width, o.height, o.steps, refs));
  const last = stages.filter((s) => s.name.startsWith('step ')).pop();
  const result: PlanResult = {
    width: o.width,
    height: o.height,
    steps: o.steps,
    quant: o.quant ?? 'bf16',
    lowMemory: o.lowMemory === true,
    refs,
    textTokens: TEXT_SEQ_LEN,
    imageTokens: (o.width / 16) * (o.height / 16),
    weightBytes: o.lowMemory ? made() - before : before,
    peakBytes: Math.max(...stages.map((s) => s.peakBytes)),
    maxBufferBytes: ctx.pool.maxBufferBytes,
    maxBindingBytes,
    dispatchesPerStep: last?.dispatches ?? 0,
    bytesPerStep: last?.bytes ?? 0,
    flopsPerStep: last?.flops ?? 0,
    stages,
    roofline: Object.fromEntries(GPU_PROFILES.map((p) => [p.id, stages.reduce((s, st) => s + (st.roofline[p.id] as number), 0)])),
  };
  pipeline.dispose();
  return result;
}
