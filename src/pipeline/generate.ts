/**
 * The FLUX.2 [klein] pipeline: tokenize → Qwen3 prompt embeddings → (reference images → VAE
 * encoder tokens) → Euler steps of the transformer → VAE decode → RGBA8. Generic over the Ops
 * backend (GPU in the app and CLI, CPU as a reference). Owns the weights it loads (`dispose`) and the per-run tensors (`tidy`).
 * Matches diffusers Flux2KleinPipeline.__call__ for the distilled model (no CFG), with or without
 * reference images (flux2-klein.md §7: image stream = [target; ref 1; …], ids t = 0, 10, 20, …).
 */
import { Cancelled, InvalidInput } from '../gpu/errors';
import type { Ops } from '../ops/ops';
import type { QuantFormat } from '../util/dtype';
import { fluxRopeTable } from '../ops/cpu/ropeTables';
import type { GenerateProgress, GenerateRequest, GenerateResult, LoadProgress, ModelInfo } from '../worker/api';
import type { FileSource } from '../weights/source';
import { openComponent } from '../weights/safetensors';
import { type WeightGetter, WeightLoader } from '../weights/load';
import { type Flux2TransformerConfig, type Flux2VaeConfig, type Qwen3Config, TEXT_SEQ_LEN, hiddenSize, parseQwen3Config, parseTransformerConfig, parseVaeConfig } from '../model/config';
import { LAYERS_NEEDED, type Qwen3Weights, loadQwen3, qwen3PromptEmbeds } from '../model/qwen3';
import { type TransformerWeights, embedContext, loadTransformer, transformerForward } from '../model/transformer';
import { type DecoderWeights, decode, loadDecoder } from '../model/vae';
import { type PromptTokenizer, loadTokenizer } from '../model/tokenizer';
import { fluxSigmas, timestepEmbeddingInput } from './schedule';
import { drawNoise, imageIds, packLatents, textIds } from './latents';
import { validateReferences } from './references';
import { type EncodedReferences, ReferenceEncoder, releaseAll } from './referenceEncoder';

/** Output size limits (multiples of 16; BFL documents 64² minimum, 4 MP maximum). */
export const SIZE_MIN = 64;
export const SIZE_MAX = 2048;
export const STEPS_MAX = 50;

export interface Configs {
  textEncoder: Qwen3Config;
  transformer: Flux2TransformerConfig;
  vae: Flux2VaeConfig;
}

/** Host copies of intermediate tensors, named as in the golden `tensors.safetensors`. */
export type Dump = Map<string, { shape: number[]; data: Float32Array | Int32Array }>;

export interface LoadOptions {
  /** Quantize linear weights while loading (src/weights/quant.ts); default: keep bf16. */
  quant?: QuantFormat;
}

export interface GenerateOptions {
  onProgress?: (p: GenerateProgress) => void;
  signal?: AbortSignal;
  /** When given, filled with input_ids, attention_mask, prompt_embeds, sigmas, step_velocity, … */
  dump?: Dump;
}

/** Reads and cross-checks the three config.json files. */
export async function readConfigs(src: FileSource): Promise<Configs> {
  const textEncoder = parseQwen3Config(await src.json('text_encoder/config.json'));
  const transformer = parseTransformerConfig(await src.json('transformer/config.json'));
  const vae = parseVaeConfig(await src.json('vae/config.json'));
  if (transformer.joint_attention_dim !== 3 * textEncoder.hidden_size) {
    throw new InvalidInput(`transformer joint_attention_dim ${transformer.joint_attention_dim} ≠ 3 × text hidden_size ${textEncoder.hidden_size}`);
  }
  const patchCh = vae.latent_channels * 4;
  if (transformer.in_channels !== patchCh) throw new InvalidInput(`transformer in_channels ${transformer.in_channels} ≠ 4 × vae latent_channels ${vae.latent_channels}`);
  return { textEncoder, transformer, vae };
}

/** Validates a request; errors are InvalidInput with the allowed range. */
export function validateRequest(req: GenerateRequest, latentChannels: number): void {
  for (const [name, v] of [['width', req.width], ['height', req.height]] as const) {
    if (!Number.isInteger(v) || v % 16 !== 0 || v < SIZE_MIN || v > SIZE_MAX) {
      throw new InvalidInput(`${name} ${v} is invalid: use a multiple of 16 from ${SIZE_MIN} to ${SIZE_MAX}`);
    }
  }
  if (!Number.isInteger(req.steps) || req.steps < 1 || req.steps > STEPS_MAX) throw new InvalidInput(`steps ${req.steps}: use 1…${STEPS_MAX}`);
  if (!Number.isInteger(req.seed) || req.seed < 0 || req.seed > 0xffffffff) throw new InvalidInput(`seed ${req.seed}: use an integer 0…4294967295`);
  if (typeof req.prompt !== 'string') throw new InvalidInput('prompt must be a string');
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
    private readonly tokenizer: PromptTokenizer,
    private readonly weights: { textEncoder: Qwen3Weights<T>; transformer: TransformerWeights<T>; vae: DecoderWeights<T> },
    /** VAE encoder for reference images; its weights load on the first request with references. */
    private readonly references: ReferenceEncoder<T>,
    readonly info: ModelInfo,
  ) {}

  /**
   * Loads configs, tokenizer and weights (Qwen3 layers 0…26 only, VAE decoder only; the encoder
   * lazily). `opts.quant` quantizes the text encoder's and the transformer's linear weights while
   * loading (the token embedding table and the VAE keep their checkpoint dtype).
   */
  static async load<T>(ops: Ops<T>, src: FileSource, onProgress?: (p: LoadProgress) => void, opts: LoadOptions = {}): Promise<Pipeline<T>> {
    const configs = await readConfigs(src);
    const tokenizer = await loadTokenizer(src);
    const ckpts = {
      te: await openComponent(src, 'text_encoder'),
      tr: await openComponent(src, 'transformer'),
      vae: await openComponent(src, 'vae'),
    };
    const neededText = (name: string) => {
      const m = /^model\.layers\.(\d+)\./.exec(name);
      return m ? Number(m[1]) < LAYERS_NEEDED : name === 'model.embed_tokens.weight';
    };
    const neededVae = (name: string) => !name.startsWith('encoder.') && name !== 'quant_conv.weight' && name !== 'quant_conv.bias' && name !== 'bn.num_batches_tracked';
    const quant = opts.quant;
    let done = 0;
    let totalBytes = 0;
    const loaders: Record<'te' | 'tr' | 'vae', WeightLoader<T>> = {
      te: new WeightLoader(ops, ckpts.te, (b, f) => onProgress?.({ file: `text_encoder/${f}`, loadedBytes: done + b, totalBytes }), quant && { format: quant, filter: (name) => name !== 'model.embed_tokens.weight' }),
      tr: new WeightLoader(ops, ckpts.tr, (b, f) => onProgress?.({ file: `transformer/${f}`, loadedBytes: done + b, totalBytes }), quant && { format: quant, filter: () => true }),
      vae: new WeightLoader(ops, ckpts.vae, (b, f) => onProgress?.({ file: `vae/${f}`, loadedBytes: done + b, totalBytes })),
    };
    totalBytes = loaders.te.bytesOf(neededText) + loaders.tr.bytesOf(() => true) + loaders.vae.bytesOf(neededVae);
    const textEncoder = await loadQwen3(loaders.te, configs.textEncoder);
    done += loaders.te.loadedBytes;
    const transformer = await loadTransformer(loaders.tr, configs.transformer);
    done += loaders.tr.loadedBytes;
    const vae = await loadDecoder(loaders.vae, configs.vae);
    done += loaders.vae.loadedBytes;
    const t = configs.transformer;
    const q = configs.textEncoder;
    const info: ModelInfo = {
      source: src.id,
      weightBytes: done,
      summary:
        `text encoder Qwen3 ${LAYERS_NEEDED}/${q.num_hidden_layers} layers × ${q.hidden_size}; ` +
        `transformer ${t.num_layers} double + ${t.num_single_layers} single blocks × ${hiddenSize(t)}; ` +
        `VAE decoder [${configs.vae.block_out_channels.join(', ')}]` +
        (quant ? `; linear weights ${quant}` : ''),
    };
    return Pipeline.create(ops, configs, tokenizer, { textEncoder, transformer, vae }, new WeightLoader(ops, ckpts.vae), info);
  }

  /**
   * A pipeline from loaded weights (the benchmark passes random ones); `encoderSource` provides the
   * VAE encoder weights on the first request with reference images.
   */
  static create<T>(
    ops: Ops<T>,
    configs: Configs,
    tokenizer: PromptTokenizer,
    weights: { textEncoder: Qwen3Weights<T>; transformer: TransformerWeights<T>; vae: DecoderWeights<T> },
    encoderSource: WeightGetter<T>,
    info: ModelInfo,
  ): Pipeline<T> {
    return new Pipeline<T>(ops, configs, tokenizer, weights, new ReferenceEncoder(ops, configs.vae, encoderSource), info);
  }

  /**
   * Text (+ reference images) → image. Errors: InvalidInput (bad request or reference), Cancelled
   * (signal aborted between stages or steps), DeviceLost / ShaderCompile from the backend.
   */
  async generate(req: GenerateRequest, opts: GenerateOptions = {}): Promise<GenerateResult> {
    const { ops, configs: cfg, weights: w } = this;
    const latentCh = cfg.transformer.in_channels;
    validateRequest(req, latentCh);
    const check = () => {
      if (opts.signal?.aborted) throw new Cancelled();
    };
    const report = (p: GenerateProgress) => opts.onProgress?.(p);
    const dump = opts.dump;
    const h = req.height / 16;
    const wd = req.width / 16;
    const n = h * wd;
    const t0 = performance.now();

    // ---- text encoding
    report({ stage: 'encode', fraction: 0 });
    const tokens = this.tokenizer.encode(req.prompt, TEXT_SEQ_LEN);
    const promptEmbeds = qwen3PromptEmbeds(ops, w.textEncoder, cfg.textEncoder, tokens.inputIds, tokens.attentionMask);
    const txt = embedContext(ops, w.transformer, promptEmbeds);
    if (dump) {
      dump.set('input_ids', { shape: [1, TEXT_SEQ_LEN], data: tokens.inputIds });
      dump.set('attention_mask', { shape: [1, TEXT_SEQ_LEN], data: tokens.attentionMask });
      dump.set('prompt_embeds', { shape: [1, ...ops.shape(promptEmbeds)], data: await ops.read(promptEmbeds) });
    }
    ops.release(promptEmbeds);
    let refs: EncodedReferences<T> | null = null;
    try {
      if (req.references?.length) refs = await this.references.encode(req.references, dump);
    } catch (e) {
      ops.release(txt);
      throw e;
    }
    await ops.sync();
    const t1 = performance.now();

    // ---- denoising
    const noise = req.latents ?? drawNoise(req.seed, h, wd);
    const sigmas = fluxSigmas(n, req.steps);
    // rope ids: [text; target (t = 0); refs (t = 10·(k+1))]; μ above uses the N target tokens only
    const ids = new Int32Array((TEXT_SEQ_LEN + n + (refs?.count ?? 0)) * 4);
    ids.set(textIds(TEXT_SEQ_LEN));
    ids.set(imageIds(h, wd), TEXT_SEQ_LEN * 4);
    if (refs) ids.set(refs.ids, (TEXT_SEQ_LEN + n) * 4);
    const tr = cfg.transformer;
    const ropeTable = fluxRopeTable(ids, tr.axes_dims_rope, tr.rope_theta);
    const rope = ops.fromHost(ropeTable.data, ropeTable.shape, 'dit.rope');
    const x = ops.fromHost(packLatents(noise, h, wd), [n, latentCh], 'latents');
    const stepMs: number[] = [];
    const velocities: Float32Array[] = [];
    const latents: Float32Array[] = [];
    try {
      for (let i = 0; i < req.steps; i++) {
        check();
        report({ stage: 'denoise', step: i + 1, steps: req.steps, fraction: 0.1 + (0.8 * i) / req.steps });
        const ts = performance.now();
        const sigma = sigmas[i] as number;
        const dt = Math.fround((sigmas[i + 1] as number) - sigma);
        const v = ops.tidy(() => {
          const tIn = ops.fromHost(timestepEmbeddingInput(sigma, tr.timestep_guidance_channels), [1, tr.timestep_guidance_channels], 'timestep');
          const xin = refs ? ops.concatRows(x, refs.tokens) : x; // [N + R, 128]; only the N target rows come back
          return transformerForward(ops, w.transformer, tr, { txt, rope, targetTokens: n }, xin, tIn);
        });
        // Euler: x += (σ_{i+1} − σ_i)·v, as a gated residual with a constant gate row
        ops.tidy(() => ops.residual(x, v, { mod: ops.fromHost(new Float32Array(latentCh).fill(dt), [1, latentCh], 'dt'), chunk: 0 }));
        if (dump) {
          velocities.push(await ops.read(v));
          latents.push(await ops.read(x));
        }
        ops.release(v);
        await ops.sync();
        stepMs.push(performance.now() - ts);
      }
      check();
      if (dump) {
        dump.set('sigmas', { shape: [req.steps + 1], data: sigmas });
        dump.set('step_velocity', { shape: [req.steps, n, latentCh], data: concat(velocities) });
        dump.set('step_latents', { shape: [req.steps, n, latentCh], data: concat(latents) });
      }

      // ---- decode
      report({ stage: 'decode', fraction: 0.9 });
      const t2 = performance.now();
      const rgb = decode(ops, w.vae, cfg.vae, x, h, wd);
      if (dump) await this.dumpDecode(dump, x, rgb, h, wd);
      const rgba = await ops.toRgba8(rgb);
      ops.release(rgb);
      const t3 = performance.now();
      report({ stage: 'decode', fraction: 1 });
      return {
        width: req.width,
        height: req.height,
        rgba,
        seed: req.seed,
        timings: { encodeMs: t1 - t0, stepMs, decodeMs: t3 - t2, totalMs: t3 - t0 },
      };
    } finally {
      ops.release(x);
      ops.release(rope);
      ops.release(txt);
      if (refs) ops.release(refs.tokens);
    }
  }

  /** Adds final_latents, decoded and image (golden names and layouts) to `dump`. */
  private async dumpDecode(dump: Dump, x: T, rgb: T, h: number, wd: number): Promise<void> {
    const { ops } = this;
    const bn = this.weights.vae.bn;
    const z = ops.tidy(() => ops.latentUnpack(x, bn.running_mean, bn.running_var, h, wd, this.configs.vae.batch_norm_eps));
    dump.set('final_latents', { shape: [1, ...ops.shape(z)], data: await ops.read(z) });
    ops.release(z);
    const decoded = await ops.read(rgb);
    const [c, hh, ww] = ops.shape(rgb) as [number, number, number];
    dump.set('decoded', { shape: [1, c, hh, ww], data: decoded });
    // image: [1, H, W, 3] = clamp(decoded/2 + 0.5, 0, 1), channel-last (diffusers postprocess)
    const image = new Float32Array(c * hh * ww);
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < hh * ww; p++) image[p * c + ch] = Math.min(1, Math.max(0, (decoded[ch * hh * ww + p] as number) / 2 + 0.5));
    }
    dump.set('image', { shape: [1, hh, ww, c], data: image });
  }

  /** Frees all weights. The pipeline is unusable afterwards. */
  dispose(): void {
    releaseAll(this.ops, this.weights);
    this.references.dispose();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
