/**
 * The FLUX.2 [klein] pipeline: tokenize → Qwen3 prompt embeddings → (reference images → VAE
 * encoder tokens) → Euler steps of the transformer → VAE decode → RGBA8. Generic over the Ops
 * backend (GPU in the app and CLI, CPU as a reference). Owns the weights it loads (`dispose`) and the per-run tensors (`tidy`).
 * Matches diffusers Flux2KleinPipeline.__call__, with or without reference images (flux2-klein.md §7:
 * image stream = [target; ref 1; …], ids t = 0, 10, 20, …): one transformer pass per step for the
 * distilled model, two with classifier-free guidance for a base model (guidance.ts).
 */
import { Cancelled, InvalidInput } from '../errors';
import type { Ops } from '../ops/ops';
import { fluxRopeTable } from '../model/ropeTables';
import type { CfgMode, GeneratePreview, GenerateProgress, GenerateRequest, GenerateResult, LoadOptions, LoadProgress, LoraInfo, ModelInfo, Precision } from './types';
import type { FileSource } from '../weights/source';
import { openCheckpoints } from '../weights/pack';
import { WeightLoader } from '../weights/load';
import type { StorageFormat, WeightGetter } from '../weights/weightGetter';
import { type Configs, TEXT_SEQ_LEN, hiddenSize, readConfigs, readModelIndex } from '../model/config';
import { LAYERS_NEEDED, type Qwen3Weights, loadQwen3 } from '../model/qwen3';
import { type LoaderStage, tensorList } from '../model/tensorList';
import { type TransformerWeights, embedContext, loadTransformer, transformerForward } from '../model/transformer';
import { type DecoderWeights, decode, loadDecoder } from '../model/vae';
import { loadEncoder } from '../model/vaeEncoder';
import { type PromptTokenizer, loadTokenizer } from '../model/tokenizer';
import { fluxSigmas, timestepEmbeddingInput } from './schedule';
import { drawNoise, imageIds, packLatents, textIds } from './latents';
import type { PreviewProjection } from './preview';
import { type Dump, type RunObserver, dumpObserver, previewObserver } from './observers';
import { denoise } from './denoise';
import { fitPreview, previewFitGrid } from './previewFit';
import { validateReferences } from './references';
import { type EncodedReferences, ReferenceEncoder } from './referenceEncoder';
import { LOW_MEMORY_REUSE_BYTES, StageWeights, recordNames } from './stageWeights';
import { PromptCache } from './prompts';
import { chooseCfgMode, cfgDumpObserver, guidedVelocity, modelDefaults, validateGuidance } from './guidance';
import { LoraSet, validateLoraUses } from './loras';
import type { ParsedLora } from '../weights/lora';

export type { LoadOptions };

/** Output size limits (multiples of 16; BFL documents 64² minimum, 4 MP maximum). */
export const SIZE_MIN = 64;
export const SIZE_MAX = 2048;
export const STEPS_MAX = 50;

/** Where each component's weights come from: WeightLoaders over checkpoints, or RandomWeights (bench). */
export interface WeightSources<T> {
  textEncoder: WeightGetter<T>;
  transformer: WeightGetter<T>;
  /** The VAE decoder, and the encoder on the first request with reference images. */
  vae: WeightGetter<T>;
}

/** Each stage's weight storage formats (WeightGetter.storageFormat), for plans of a loaded model. */
export type StageFormats = Record<keyof WeightSources<unknown>, (name: string, shape: readonly number[]) => StorageFormat>;

export interface CreateOptions {
  /** LoadOptions.lowMemory: each generate() reads a stage's weights and frees them after it. */
  lowMemory?: boolean;
  /** LoadOptions.precision; 'auto' resolves to f16 when the ops prefer it (Ops.prefersF16). */
  precision?: Precision;
  /** A step-distilled model (model_index.json `is_distilled`; no CFG); false: a base model. Default true. */
  distilled?: boolean;
  /** LoadOptions.cfg: how a base model runs classifier-free guidance; default 'auto'. */
  cfg?: CfgMode;
  /** Bytes each stage's load reads (progress totals, ModelInfo.weightBytes); default: unknown (0). */
  stageBytes?: Partial<Record<keyof WeightSources<unknown>, number>>;
  /** Normal mode: progress of reading every weight in create(). */
  onProgress?: (p: LoadProgress) => void;
}

export interface GenerateOptions {
  onProgress?: (p: GenerateProgress) => void;
  signal?: AbortSignal;
  /**
   * When given, filled with input_ids, attention_mask, prompt_embeds, sigmas, step_velocity, … (with
   * CFG also negative_input_ids, negative_attention_mask, negative_prompt_embeds, step_velocity_cond,
   * step_velocity_uncond).
   */
  dump?: Dump;
  /**
   * Live previews (preview.ts): called after every step with the latent projected to RGB at W/8 × H/8.
   * The first generate() with it fits the model's projection (previewFit.ts: two VAE decodes of at
   * most 128² px and at most the request's size, outside the timings; again once for a larger
   * request; low-memory mode reads the decoder for it). Without it no latent is read back.
   */
  preview?: (p: GeneratePreview) => void;
}

/**
 * Whether the transformer stores activations in f16: 'f16', or 'auto' where the ops prefer it (GPUs
 * with shader-f16). Errors: InvalidInput for 'f16' on a GPU without shader-f16 (the CPU backend
 * rounds to f16 itself, so it always can).
 */
export function resolvePrecision<T>(ops: Ops<T>, precision: Precision = 'auto'): boolean {
  if (precision === 'f16' && ops.backend === 'gpu' && !ops.prefersF16) {
    throw new InvalidInput("f16 activations need the GPU feature 'shader-f16', which this adapter does not offer; use precision auto or f32");
  }
  return precision === 'f16' || (precision === 'auto' && ops.prefersF16);
}

/**
 * Validates a request; errors are InvalidInput with the allowed range. With `model` (a loaded
 * pipeline's ModelInfo, or model_index.json read ahead) guidance and negative prompt are also checked
 * against it (guidance.ts validateGuidance).
 */
export function validateRequest(req: GenerateRequest, latentChannels: number, model?: { distilled: boolean }): void {
  for (const [name, v] of [['width', req.width], ['height', req.height]] as const) {
    if (!Number.isInteger(v) || v % 16 !== 0 || v < SIZE_MIN || v > SIZE_MAX) {
      throw new InvalidInput(`${name} ${v} is invalid: use a multiple of 16 from ${SIZE_MIN} to ${SIZE_MAX}`);
    }
  }
  if (!Number.isInteger(req.steps) || req.steps < 1 || req.steps > STEPS_MAX) throw new InvalidInput(`steps ${req.steps}: use 1…${STEPS_MAX}`);
  if (!Number.isInteger(req.seed) || req.seed < 0 || req.seed > 0xffffffff) throw new InvalidInput(`seed ${req.seed}: use an integer 0…4294967295`);
  if (typeof req.prompt !== 'string') throw new InvalidInput('prompt must be a string');
  validateGuidance(req, model);
  if (req.loras !== undefined) validateLoraUses(req.loras);
  if (req.references) validateReferences(req.references);
  const n = latentChannels * (req.width / 16) * (req.height / 16);
  if (req.latents && req.latents.length !== n) {
    throw new InvalidInput(`initial noise has ${req.latents.length} values; ${req.width}×${req.height} needs [1, ${latentChannels}, ${req.height / 16}, ${req.width / 16}] = ${n}`);
  }
}

export class Pipeline<T> {
  private constructor(
    private readonly ops: Ops<T>,
    readonly configs: Configs,
    /** The last request's prompt (and negative prompt) encodings. */
    private readonly prompts: PromptCache<T>,
    /** Resident from create() to dispose(), or read and freed per stage (low-memory mode). */
    private readonly stages: { textEncoder: StageWeights<T, Qwen3Weights<T>>; transformer: StageWeights<T, TransformerWeights<T>>; vae: StageWeights<T, DecoderWeights<T>> },
    /** VAE encoder for reference images; its weights load on the first request with references. */
    private readonly references: ReferenceEncoder<T>,
    readonly info: ModelInfo,
    readonly lowMemory: boolean,
    /** The transformer stores GEMM/attention outputs in f16 (LoadOptions.precision resolved). */
    readonly f16: boolean,
    /** The LoRA files this pipeline holds and the stacked terms of the last request's selection. */
    private readonly loraSet: LoraSet<T>,
    /** LoadOptions.cfg as asked ('auto' resolved per request by cfgMode). */
    private readonly cfgOption: CfgMode,
  ) {}

  /**
   * How `req` runs classifier-free guidance on this pipeline: 'off' (distilled model or guidance ≤ 1),
   * 'batch' (one pass over a batch of 2) or 'two passes' (guidance.ts chooseCfgMode).
   */
  cfgMode(req: Pick<GenerateRequest, 'width' | 'height' | 'references' | 'guidance'>): 'off' | 'batch' | 'two passes' {
    const { distilled, defaultGuidance } = this.info;
    return chooseCfgMode(this.configs, req, { distilled, defaultGuidance, lowMemory: this.lowMemory, mode: this.cfgOption, maxBindingBytes: this.ops.maxBindingBytes });
  }

  /**
   * Parses a LoRA `.safetensors` file (ai-toolkit, kohya or diffusers/PEFT naming) for this model's
   * transformer and keeps it under `name` (replacing one of that name); requests select it through
   * GenerateRequest.loras. Errors: InvalidInput naming the file and the first offending keys (not
   * safetensors or truncated, another model's or a text encoder's LoRA, DoRA/LoKr, shapes that do not
   * fit), checked before anything is uploaded. A ParsedLora (syntheticLora: plans, benchmarks) is kept as it is.
   */
  addLora(name: string, file: Uint8Array | ParsedLora): Promise<LoraInfo> {
    return this.loraSet.add(name, file);
  }

  /** Forgets the LoRA `name` and frees its terms (no-op when unknown). */
  removeLora(name: string): void {
    this.loraSet.remove(name);
  }

  /** The LoRA files held, in the order they were added. */
  loras(): LoraInfo[] {
    return this.loraSet.list();
  }

  /** Step-distilled (ModelInfo.distilled): no classifier-free guidance. */
  get distilled(): boolean {
    return this.info.distilled;
  }

  /** The live-preview map of this model's VAE and the fit grid it was fitted at (previewFit.ts). */
  private previewFit: { grid: number; projection: Promise<PreviewProjection> } | null = null;

  /** The preview map for a request of h×w tokens: fitted on first use, refitted once for a larger grid. */
  private previewProjection(h: number, wd: number): Promise<PreviewProjection> {
    const grid = previewFitGrid(h, wd);
    if (!this.previewFit || this.previewFit.grid < grid) {
      const vae = this.stages.vae;
      const projection = (async () => {
        try {
          return await fitPreview(this.ops, await vae.acquire(), this.configs.vae, { grid });
        } finally {
          vae.release();
        }
      })();
      const fit = { grid, projection };
      projection.catch(() => {
        if (this.previewFit === fit) this.previewFit = null; // retried by the next request
      });
      this.previewFit = fit;
    }
    return this.previewFit.projection;
  }

  /**
   * Loads configs, tokenizer, checkpoint headers and (normal mode) the weights: Qwen3 layers 0…26
   * only, VAE decoder only (the encoder lazily), never the token embedding table (its rows are read
   * per prompt). `opts.quant` quantizes the text encoder's and the transformer's linear weights while
   * loading, each to the format weights/quantRule.ts gives it (in q4 the transformer's embedders,
   * modulations and final layer are q8); the VAE keeps its checkpoint dtype. `opts.lowMemory` reads no weights here: generate()
   * reads each stage's, then frees them.
   */
  static async load<T>(
    ops: Ops<T>,
    src: FileSource,
    onProgress?: (p: LoadProgress) => void,
    opts: LoadOptions = {},
    /** Told the configs and weight formats once the headers are read, before any weight (worker: precompiles the kernels). */
    onHeaders?: (m: { configs: Configs; formats: StageFormats; lowMemory: boolean }) => void,
  ): Promise<Pipeline<T>> {
    const f16 = resolvePrecision(ops, opts.precision); // refuses f16 without shader-f16 before any read
    const configs = await readConfigs(src);
    const { distilled } = await readModelIndex(src);
    const tokenizer = await loadTokenizer(src);
    const opened = await openCheckpoints(src); // a Kleinbild pack or the diffusers layout
    const ckpts = { te: opened.text_encoder, tr: opened.transformer, vae: opened.vae };
    const quant = opts.quant;
    const sources = {
      textEncoder: new WeightLoader(ops, ckpts.te, undefined, quant && { format: quant, component: 'text_encoder' }),
      transformer: new WeightLoader(ops, ckpts.tr, undefined, quant && { format: quant, component: 'transformer' }),
      vae: new WeightLoader(ops, ckpts.vae),
    };
    // bytes each stage reads: its loader's tensors (model/tensorList.ts), the embedding rows excepted
    const specs = await tensorList(configs);
    const stageBytes = (s: WeightLoader<T>, stage: LoaderStage) => {
      const names = new Set(specs.filter((t) => t.stage === stage && !t.hostRows).map((t) => t.name));
      return s.bytesOf((name) => names.has(name));
    };
    const bytes = { textEncoder: stageBytes(sources.textEncoder, 'textEncoder'), transformer: stageBytes(sources.transformer, 'transformer'), vae: stageBytes(sources.vae, 'vaeDecoder') };
    const formatsOf = (l: WeightLoader<T>) => (name: string, shape: readonly number[]) => l.storageFormat(name, shape);
    onHeaders?.({ configs, formats: { textEncoder: formatsOf(sources.textEncoder), transformer: formatsOf(sources.transformer), vae: formatsOf(sources.vae) }, lowMemory: opts.lowMemory === true });
    const t = configs.transformer;
    const q = configs.textEncoder;
    const summary =
      `text encoder Qwen3 ${LAYERS_NEEDED}/${q.num_hidden_layers} layers × ${q.hidden_size}; ` +
      `transformer ${t.num_layers} double + ${t.num_single_layers} single blocks × ${hiddenSize(t)}; ` +
      `VAE decoder [${configs.vae.block_out_channels.join(', ')}]` +
      (quant ? `; linear weights ${quant}` : '') +
      (opts.lowMemory ? '; low memory (weights read per stage)' : '') +
      `; ${f16 ? 'f16' : 'f32'} activations` +
      (distilled ? '' : '; base model (classifier-free guidance)');
    return Pipeline.create(ops, configs, tokenizer, sources, { source: src.id, summary }, {
      stageBytes: bytes,
      distilled,
      ...(opts.lowMemory ? { lowMemory: true } : {}),
      ...(opts.precision ? { precision: opts.precision } : {}),
      ...(opts.cfg ? { cfg: opts.cfg } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
  }

  /**
   * A pipeline over weight sources (Pipeline.load: checkpoints; the benchmark: RandomWeights).
   * Normal mode reads every stage's weights now; low-memory mode none (generate() does, per stage).
   * `info.weightBytes` becomes the bytes read now, or (low memory) the known per-image total; the
   * model's kind and defaults come from `opts.distilled`.
   */
  static async create<T>(
    ops: Ops<T>,
    configs: Configs,
    tokenizer: PromptTokenizer,
    sources: WeightSources<T>,
    info: Omit<ModelInfo, 'weightBytes' | 'distilled' | 'defaultSteps' | 'defaultGuidance'>,
    opts: CreateOptions = {},
  ): Promise<Pipeline<T>> {
    const low = opts.lowMemory === true;
    ops.setReuseLimit(low ? LOW_MEMORY_REUSE_BYTES : Infinity);
    const transformerNames = new Map<T, string>(); // weight tensor → checkpoint name (LoRA targets)
    const bytes = opts.stageBytes ?? {};
    const stages = {
      textEncoder: new StageWeights(ops, 'text_encoder', sources.textEncoder, (w) => loadQwen3(w, configs.textEncoder), bytes.textEncoder ?? 0, low),
      transformer: new StageWeights(ops, 'transformer', sources.transformer, (w) => loadTransformer(recordNames(w, transformerNames), configs.transformer), bytes.transformer ?? 0, low),
      vae: new StageWeights(ops, 'vae', sources.vae, (w) => loadDecoder(w, configs.vae), bytes.vae ?? 0, low),
    };
    const all = [stages.textEncoder, stages.transformer, stages.vae] as const;
    let weightBytes = all.reduce((sum, s) => sum + s.bytes, 0);
    if (!low) {
      let done = 0;
      const totalBytes = weightBytes;
      try {
        for (const s of all) {
          await s.acquire((b, name) => opts.onProgress?.({ file: `${s.folder}/${name}`, loadedBytes: done + b, totalBytes }));
          done += s.lastLoadBytes;
        }
      } catch (e) {
        for (const s of all) s.dispose();
        throw e;
      }
      weightBytes = done;
    }
    const encoder = new StageWeights(ops, 'vae', sources.vae, (w) => loadEncoder(w, configs.vae), 0, low);
    const distilled = opts.distilled ?? true;
    const { steps: defaultSteps, guidance: defaultGuidance } = modelDefaults(distilled);
    const prompts = new PromptCache(ops, tokenizer, configs.textEncoder);
    const full: ModelInfo = { ...info, weightBytes, distilled, defaultSteps, defaultGuidance };
    const loraSet = new LoraSet(ops, configs, transformerNames);
    return new Pipeline<T>(ops, configs, prompts, stages, new ReferenceEncoder(ops, configs.vae, encoder), full, low, resolvePrecision(ops, opts.precision), loraSet, opts.cfg ?? 'auto');
  }

  /**
   * Text (+ reference images) → image: encode the prompt (and, with CFG, the negative prompt), encode
   * the references, denoise, decode.
   * Errors: InvalidInput (bad request or reference), Cancelled (signal aborted between stages or
   * steps), DeviceLost / ShaderCompile from the backend.
   */
  async generate(req: GenerateRequest, opts: GenerateOptions = {}): Promise<GenerateResult> {
    validateRequest(req, this.configs.transformer.in_channels, this.info);
    this.loraSet.check(req.loras ?? []); // names known: before any work
    this.loraSet.beginRun(); // LoRA terms this run uses outlive a removeLora / addLora meanwhile
    try {
      return await this.run(req, opts);
    } finally {
      this.loraSet.endRun();
    }
  }

  private async run(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const { ops, configs: cfg, stages } = this;
    const latentCh = cfg.transformer.in_channels;
    const guidance = req.guidance ?? this.info.defaultGuidance;
    const cfgMode = this.cfgMode(req);
    const cfgOn = cfgMode !== 'off';
    const check = () => {
      if (opts.signal?.aborted) throw new Cancelled();
    };
    const report = (p: GenerateProgress) => opts.onProgress?.(p);
    const h = req.height / 16;
    const wd = req.width / 16;
    const n = h * wd;
    const observers: RunObserver<T>[] = [];
    if (opts.dump) observers.push(dumpObserver(ops, opts.dump, cfg.vae));
    if (opts.preview) {
      report({ stage: 'prepare', fraction: 0 }); // fitted once per model (seconds), outside the timings
      observers.push(previewObserver(ops, await this.previewProjection(h, wd), h, wd, opts.preview));
    }
    const notify = async (hook: (o: RunObserver<T>) => Promise<void> | void) => {
      for (const o of observers) await hook(o);
    };
    const t0 = performance.now();
    let loadMs = 0;
    /** A stage's weights; low-memory mode reads them now, reported as `at` plus `load` bytes. */
    const acquire = async <W>(s: StageWeights<T, W>, at: GenerateProgress): Promise<W> => {
      const tl = performance.now();
      const w = await s.acquire((loadedBytes) => report({ ...at, load: { loadedBytes, totalBytes: s.bytes } }));
      loadMs += performance.now() - tl;
      return w;
    };

    // ---- text encoding (low memory: only the text encoder's weights on the GPU)
    const atEncode: GenerateProgress = { stage: 'encode', fraction: 0 };
    report(atEncode);
    const texts = cfgOn ? [req.prompt, req.negativePrompt ?? ''] : [req.prompt];
    const [prompt, negative] = await this.prompts.encode(texts, () => acquire(stages.textEncoder, atEncode), () => stages.textEncoder.release());
    const { tokens, embeds: promptEmbeds } = prompt as NonNullable<typeof prompt>;
    const owned: T[] = []; // released in `finally` (release is idempotent)
    const stepMs: number[] = [];
    let refs: EncodedReferences<T> | null = null;
    try {
      /** The dump's copies of each step's two CFG velocities, [1, N, C]. */
      const taps = negative && opts.dump ? { cond: ops.empty([1, n, latentCh], 'cfg.tap_cond'), uncond: ops.empty([1, n, latentCh], 'cfg.tap_uncond') } : undefined;
      if (taps) owned.push(taps.cond, taps.uncond);
      if (taps && negative && opts.dump) observers.push(cfgDumpObserver(ops, opts.dump, negative, taps));
      await notify((o) => o.encoded?.(tokens, promptEmbeds));
      if (req.references?.length) refs = await this.references.encode(req.references, opts.dump);
      await ops.sync();
      const t1 = performance.now();
      const encodeMs = t1 - t0 - loadMs;

      // ---- denoising (low memory: only the transformer's weights on the GPU)
      const sigmas = fluxSigmas(n, req.steps); // μ from the N target tokens only
      // rope ids: [text; target (t = 0); refs (t = 10·(k+1))]
      const ids = new Int32Array((TEXT_SEQ_LEN + n + (refs?.count ?? 0)) * 4);
      ids.set(textIds(TEXT_SEQ_LEN));
      ids.set(imageIds(h, wd), TEXT_SEQ_LEN * 4);
      if (refs) ids.set(refs.ids, (TEXT_SEQ_LEN + n) * 4);
      const tr = cfg.transformer;
      const ropeTable = fluxRopeTable(ids, tr.axes_dims_rope, tr.rope_theta);
      const stepAt = (i: number): GenerateProgress => ({ stage: 'denoise', step: i + 1, steps: req.steps, fraction: 0.1 + (0.8 * i) / req.steps });
      check();
      report(stepAt(0));
      const wt = await acquire(stages.transformer, stepAt(0));
      const lops = this.loraSet.opsFor(req.loras ?? []); // ops with the selected LoRAs' terms (ops itself without)
      let ts = performance.now(); // step 1 also projects the prompt embeddings
      const txt = embedContext(lops, wt, promptEmbeds);
      const negTxt = negative ? embedContext(lops, wt, negative.embeds) : null;
      const rope = ops.fromHost(ropeTable.data, ropeTable.shape, 'dit.rope');
      const x = ops.fromHost(packLatents(req.latents ?? drawNoise(req.seed, h, wd), h, wd), [n, latentCh], 'latents');
      owned.push(txt, rope, x, ...(negTxt ? [negTxt] : []));
      /**
       * The velocity for the N target tokens; the image stream is [x; reference tokens]. With CFG the
       * prompt's and the negative prompt's, as one pass over a batch of 2 or as two passes (cfgMode),
       * combined by guidedVelocity.
       */
      const velocity = (xt: T, sigma: number): T => {
        const tIn = ops.fromHost(timestepEmbeddingInput(sigma, tr.timestep_guidance_channels), [1, tr.timestep_guidance_channels], 'timestep');
        const img = refs ? ops.concatRows(xt, refs.tokens) : xt;
        const pass = (context: T | T[]) => transformerForward(lops, wt, tr, { txt: context, rope, targetTokens: n, f16: this.f16 }, img, tIn);
        if (!negTxt) return pass(txt);
        if (cfgMode === 'two passes') return guidedVelocity(ops, pass(txt), pass(negTxt), guidance, taps);
        const both = pass([txt, negTxt]); // [2N, C]: prompt rows, then negative rows
        return guidedVelocity(ops, ops.sliceRows(both, 0, n), ops.sliceRows(both, n, n), guidance, taps);
      };
      await denoise(ops, x, sigmas, velocity, {
        before: (i) => {
          if (i === 0) return;
          check();
          report(stepAt(i));
          ts = performance.now();
        },
        after: async (i, xi, v) => {
          await ops.sync();
          stepMs.push(performance.now() - ts);
          await notify((o) => o.step?.(i, req.steps, xi, v));
        },
      });
      check();
      await notify((o) => o.denoised?.(sigmas));
      ops.release(txt);
      if (negTxt) ops.release(negTxt);
      ops.release(rope);
      if (refs) ops.release(refs.tokens);
      stages.transformer.release();
      // the pooled step buffers are the wrong sizes for the VAE's bands: hand them back first
      ops.trim();

      // ---- decode (low memory: only the VAE decoder's weights on the GPU)
      const atDecode: GenerateProgress = { stage: 'decode', fraction: 0.9 };
      report(atDecode);
      const vae = await acquire(stages.vae, atDecode);
      const t2 = performance.now();
      const rgb = decode(ops, vae, cfg.vae, x, h, wd);
      owned.push(rgb);
      await notify((o) => o.decoded?.(x, rgb, vae));
      ops.release(x);
      const rgba = await ops.toRgba8(rgb);
      ops.release(rgb);
      const t3 = performance.now();
      report({ stage: 'decode', fraction: 1 });
      return {
        width: req.width,
        height: req.height,
        rgba,
        seed: req.seed,
        timings: { encodeMs, stepMs, decodeMs: t3 - t2, totalMs: t3 - t0, ...(this.lowMemory ? { loadMs } : {}) },
      };
    } finally {
      for (const t of owned) ops.release(t);
      if (refs) ops.release(refs.tokens);
      stages.transformer.release();
      stages.vae.release();
    }
  }

  /** How each stage's weights are stored on the device (plans of this model: src/pipeline/plan.ts). */
  storageFormats(): StageFormats {
    const { textEncoder, transformer, vae } = this.stages;
    return { textEncoder: textEncoder.formatOf, transformer: transformer.formatOf, vae: vae.formatOf };
  }

  /** Frees all weights and the cached prompt contexts. The pipeline is unusable afterwards. */
  dispose(): void {
    for (const s of [this.stages.textEncoder, this.stages.transformer, this.stages.vae]) s.dispose();
    this.references.dispose();
    this.prompts.dispose();
    this.loraSet.dispose();
  }
}

