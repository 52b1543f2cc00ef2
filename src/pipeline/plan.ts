/**
 * A run's memory and dispatch plan, measured stage by stage on any GpuContext: the plan device
 * (src/gpu/planDevice.ts: nothing allocated, nothing computed; `runPlan`) or a real one (the test
 * that holds the plan to the device). Stages are encode (text encoder, references), each Euler step
 * and decode, attributed at the pipeline's progress events like the benchmark's (the ops of a stage
 * are encoded synchronously between its first event and the next stage's).
 */
import { GpuContext, type DispatchRecord, type PipelineSpec } from '../gpu/context';
import { createPlanDevice } from '../gpu/planDevice';
import { GPU_PROFILES, rooflineMs } from '../gpu/profiles';
import { type Configs, TEXT_SEQ_LEN } from '../model/config';
import { GpuOps } from '../ops/gpuOps';
import type { Ops } from '../ops/ops';
import { Pipeline, validateRequest } from './generate';
import type { CfgMode, GenerateRequest, Precision, ReferenceImage } from './types';
import { processedSize } from './references';
import { syntheticLora } from './loras';
import { InvalidInput } from '../errors';
import type { QuantFormat } from '../util/dtype';
import { PlanWeights, uniformFormats } from '../weights/planWeights';
import type { StageFormats } from './generate';
import type { PromptTokenizer } from '../model/tokenizer';

/** Work of one kernel entry point (or of all) in a stage. */
export interface KernelPlan {
  /** Dispatches (of a kernel; of a stage: all kernels') — or, for 'copyBufferToBuffer', copies. */
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
    if (!d.copy) s.dispatches++;
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
  /** Each stage's storage formats (a loaded model's: Pipeline.storageFormats); overrides `quant`. */
  formats?: StageFormats;
  /** Transformer activations (LoadOptions.precision); 'auto' is f16 here (the plan device offers shader-f16). */
  precision?: Precision;
  lowMemory?: boolean;
  /** Reference images (editing): a count (each of the output size) or their processed sizes [w, h]. */
  refs?: number | readonly (readonly [number, number])[];
  /**
   * Plan the kernel choices of a CPU adapter (SwiftShader, lavapipe: barrier-free attention); default
   * false, a GPU. The test against a real device on a CPU adapter sets it.
   */
  cpuAdapter?: boolean;
  /**
   * A base model's run under classifier-free guidance (guidance 4, the default): prompt and negative
   * prompt per step, as the pipeline chooses (true or 'auto': LoadOptions.cfg 'auto' on the plan
   * device: the batch unless low-memory or over `bindingLimit`), or as 'batch' / 'two passes';
   * default false, the distilled model (one pass).
   */
  cfg?: boolean | CfgMode;
  /** A LoRA of this rank on every weight a FLUX.2 LoRA can change (loras.ts syntheticLora), applied at strength 1; default none. */
  loraRank?: number;
  /**
   * The maxStorageBufferBindingSize of the device planned for (bytes). The model sizes buffers by it
   * as on that device (Ops.maxBindingBytes: where q|k|v is split, whether 'auto' guidance runs as a
   * batch), so a plan for a 128 MiB device shows the split run; default: no limit (a desktop GPU).
   */
  bindingLimit?: number;
}

export interface PlanResult {
  width: number;
  height: number;
  steps: number;
  quant: QuantFormat | 'bf16' | 'as loaded';
  /** Transformer activation storage. */
  precision: 'f32' | 'f16';
  lowMemory: boolean;
  refs: number;
  /**
   * How classifier-free guidance runs: 'off' (distilled model), 'batch' (one transformer pass over a
   * batch of 2: prompt and negative prompt) or 'two passes' (one per branch).
   */
  cfg: 'off' | 'batch' | 'two passes';
  /** PlanOptions.loraRank (0: no LoRA). */
  loraRank: number;
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

/** A request of `width`×`height` with mid-grey references: `refs` of the output size, or of the sizes given. */
export function planRequest(width: number, height: number, steps: number, refs: PlanOptions['refs'] = 0): GenerateRequest {
  const sizes = typeof refs === 'number' ? Array.from({ length: refs }, () => [width, height] as const) : refs;
  const ref = ([w, h]: readonly [number, number]): ReferenceImage => ({ width: w, height: h, rgba: new Uint8ClampedArray(w * h * 4).fill(128) });
  return { prompt: '', width, height, steps, seed: 0, ...(sizes.length > 0 ? { references: sizes.map(ref) } : {}) };
}

/** The plan of one text-to-image (or editing) run, on the plan device. */
export function runPlan(o: PlanOptions): Promise<PlanResult> {
  return onPlanDevice(o.cpuAdapter ?? false, o.bindingLimit, (ctx) => planOn(ctx, o));
}

/**
 * The compute pipelines a run with `o` dispatches, by planning it: what GpuContext.precompile takes
 * to compile them while the weights load.
 */
export function plannedPipelines(o: PlanOptions): Promise<PipelineSpec[]> {
  return onPlanDevice(o.cpuAdapter ?? false, o.bindingLimit, async (ctx) => {
    await planOn(ctx, o);
    return ctx.pipelineSpecs();
  });
}

/**
 * Runs `work` on a GpuContext over a fresh plan device: no buffer size limit (a plan measures what a
 * run needs, it refuses nothing), and `bindingLimit` (default none) as its binding limit, which only
 * steers how the model sizes its buffers (Ops.maxBindingBytes).
 */
async function onPlanDevice<R>(cpuAdapter: boolean, bindingLimit: number | undefined, work: (ctx: GpuContext) => Promise<R>): Promise<R> {
  const unlimited = 2 ** 52;
  const device = createPlanDevice({ limits: { maxBufferSize: unlimited, maxStorageBufferBindingSize: bindingLimit ?? unlimited }, features: ['shader-f16'] });
  const ctx = new GpuContext(device, cpuAdapter);
  try {
    return await work(ctx);
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
  const formats = o.formats ?? { textEncoder: uniformFormats(o.quant, 'text_encoder'), transformer: uniformFormats(o.quant, 'transformer'), vae: uniformFormats() };
  const sources = { textEncoder: new PlanWeights(ops, formats.textEncoder), transformer: new PlanWeights(ops, formats.transformer), vae: new PlanWeights(ops, formats.vae) };
  const cfg = o.configs;
  const pipeline = await Pipeline.create(ops, cfg, benchTokenizer(cfg.textEncoder.vocab_size), sources, { source: 'plan', summary: 'plan' }, {
    ...(o.lowMemory ? { lowMemory: true } : {}),
    ...(o.precision ? { precision: o.precision } : {}),
    ...(o.cfg ? { distilled: false, cfg: o.cfg === true ? 'auto' : o.cfg } : {}),
  });
  const made = () => sources.textEncoder.loadedBytes + sources.transformer.loadedBytes + sources.vae.loadedBytes;
  const before = made();
  const refs = o.refs ?? 0;
  const req = planRequest(o.width, o.height, o.steps, refs);
  if (o.cfg) Object.assign(req, { prompt: 'plan', guidance: pipeline.info.defaultGuidance }); // a prompt unlike the empty negative one: two encodings
  if (o.loraRank) {
    await pipeline.addLora('plan', await syntheticLora(cfg, o.loraRank));
    req.loras = [{ name: 'plan', strength: 1 }];
  }
  const { stages, maxBindingBytes } = await measureStages(ctx, pipeline as Pipeline<unknown>, req);
  const last = stages.filter((s) => s.name.startsWith('step ')).pop();
  const result: PlanResult = {
    width: o.width,
    height: o.height,
    steps: o.steps,
    quant: o.formats ? 'as loaded' : (o.quant ?? 'bf16'),
    precision: pipeline.f16 ? 'f16' : 'f32',
    lowMemory: o.lowMemory === true,
    refs: typeof refs === 'number' ? refs : refs.length,
    cfg: pipeline.cfgMode(req),
    loraRank: o.loraRank ?? 0,
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

/**
 * A tokenizer stand-in (no tokenizer files needed): whatever the prompt, the Qwen3 chat template
 * around ten content ids, right-padded with <|endoftext|> to 512 (flux2-klein.md §2.5, §3.2).
 * Ids are taken mod vocab_size for tiny configs.
 */
export function benchTokenizer(vocab: number): PromptTokenizer {
  const content = [32, 6319, 315, 264, 8251, 389, 264, 3241, 518, 42];
  const real = [151644, 872, 198, ...content, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271];
  const padId = 151643 % vocab;
  return {
    padId,
    encode: (_prompt, maxLength = TEXT_SEQ_LEN) => {
      const inputIds = new Int32Array(maxLength).fill(padId);
      const attentionMask = new Int32Array(maxLength);
      real.forEach((id, i) => {
        inputIds[i] = id % vocab;
        attentionMask[i] = 1;
      });
      return { inputIds, attentionMask, numTokens: real.length, truncated: false, templated: '' };
    },
  };
}

/** The device limits a plan is held to (GPUSupportedLimits fields). */
export interface PlanLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/**
 * Refuses, before any work, a request whose plan needs a larger buffer or binding than `limits`
 * allow: InvalidInput naming the limit, what the request needs, and the largest size of the same
 * aspect ratio that fits (found by planning smaller sizes). Plans one step (the steps do not change
 * sizes); plans are cached per output and reference sizes in `cache`.
 */
export async function checkFits(
  o: Omit<PlanOptions, 'width' | 'height' | 'steps' | 'refs'>,
  req: Pick<GenerateRequest, 'width' | 'height' | 'references'>,
  limits: PlanLimits,
  cache: Map<string, PlanResult> = new Map(),
): Promise<void> {
  const refs = (req.references ?? []).map((r) => processedSize(r.width, r.height));
  const plan = async (width: number, height: number) => {
    const key = JSON.stringify([width, height, refs, o.cfg ?? false]);
    let r = cache.get(key);
    if (!r) cache.set(key, (r = await runPlan({ ...o, width, height, steps: 1, refs })));
    return r;
  };
  const over = (r: PlanResult) => r.maxBufferBytes > limits.maxBufferSize || r.maxBindingBytes > limits.maxStorageBufferBindingSize;
  const r = await plan(req.width, req.height);
  if (!over(r)) return;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const what =
    r.maxBindingBytes > limits.maxStorageBufferBindingSize
      ? `a ${mib(r.maxBindingBytes)} storage binding; this GPU allows ${mib(limits.maxStorageBufferBindingSize)} (maxStorageBufferBindingSize)`
      : `a ${mib(r.maxBufferBytes)} buffer; this GPU allows ${mib(limits.maxBufferSize)} (maxBufferSize)`;
  // the largest fitting size of this aspect ratio, sides multiples of 16 (≥ 64)
  const at = (k: number): [number, number] => [Math.max(64, 16 * Math.floor((req.width * k) / 16)), Math.max(64, 16 * Math.floor((req.height * k) / 16))];
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 8; i++) {
    const mid = (lo + hi) / 2;
    const [w, h] = at(mid);
    if (over(await plan(w, h))) hi = mid;
    else lo = mid;
  }
  const [w, h] = at(lo);
  const fits = lo > 0 && !over(await plan(w, h));
  throw new InvalidInput(
    `${req.width}×${req.height}${refs.length ? ` with ${refs.length} reference image(s)` : ''} needs ${what}. ` +
      (fits ? `The largest size of this shape that fits is ${w}×${h}.` : 'No size of this shape fits on this GPU.') +
      (o.cfg === 'batch' ? ' Guidance runs as a batch of 2 here (load option cfg "batch"); as two passes it needs less.' : ''),
  );
}

/**
 * What a plan of `req` on a loaded pipeline needs to match its run: configs, weight formats,
 * low-memory mode, precision, the CPU-adapter kernel choices, and how classifier-free guidance runs
 * for this request (Pipeline.cfgMode: a forced 'batch' doubles the joint stream's binding).
 */
export function requestPlanOptions<T>(pipeline: Pipeline<T>, req: Pick<GenerateRequest, 'width' | 'height' | 'references' | 'guidance'>, cpuAdapter: boolean): Omit<PlanOptions, 'width' | 'height' | 'steps' | 'refs'> {
  const cfg = pipeline.cfgMode(req);
  return {
    configs: pipeline.configs,
    formats: pipeline.storageFormats(),
    lowMemory: pipeline.lowMemory,
    precision: pipeline.f16 ? 'f16' : 'f32',
    cpuAdapter,
    ...(cfg !== 'off' ? { cfg } : {}),
  };
}

/**
 * checkFits for `req` on a loaded pipeline (requestPlanOptions), with the limits of the device
 * behind `ops`; the request itself is validated first (validateRequest: size, steps, seed, noise,
 * references, guidance), on every backend. `cache`: one per loaded pipeline.
 */
export async function checkRequestFits<T>(ops: Ops<T>, pipeline: Pipeline<T>, req: GenerateRequest, cache: Map<string, PlanResult>): Promise<void> {
  validateRequest(req, pipeline.configs.transformer.in_channels, pipeline); // a bad size or guidance is named as such, not planned
  if (!(ops instanceof GpuOps)) return;
  const { limits } = ops.ctx.device;
  await checkFits(
    { ...requestPlanOptions(pipeline, req, ops.ctx.cpuAdapter), bindingLimit: ops.maxBindingBytes },
    req,
    { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize },
    cache,
  );
}
