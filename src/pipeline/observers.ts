/**
 * Observers of a generate() run (Pipeline.generate): hooks called after text encoding, after every
 * Euler step and after decoding, outside the stage timings. The intermediate-tensor dump (golden
 * comparisons, `--dump`) and the live previews are observers; the run itself knows neither.
 */
import type { Flux2VaeConfig } from '../model/config';
import type { DecoderWeights } from '../model/vae';
import type { Ops } from '../ops/ops';
import { type PreviewProjection, previewRgba } from './preview';
import type { GeneratePreview } from './types';

/** Host copies of intermediate tensors, named as in the golden `tensors.safetensors`. */
export type Dump = Map<string, { shape: number[]; data: Float32Array | Int32Array }>;

/** Hooks into one generate() run; every hook is awaited before the run goes on. */
export interface RunObserver<T> {
  /** After the text encoder: token ids and mask [512], the context [512, 3·hidden]. */
  encoded?(tokens: { inputIds: Int32Array; attentionMask: Int32Array }, promptEmbeds: T): Promise<void>;
  /** After Euler step i (0-based) of `steps`: x the latents after it, v the velocity it used; both [N, C]. */
  step?(i: number, steps: number, x: T, v: T): Promise<void>;
  /** After the last step: σ_0 … σ_S (σ_S = 0). */
  denoised?(sigmas: Float32Array): void;
  /** After the VAE decoder: x the final latent tokens [N, 4C] and rgb [3, H, W] in ≈[−1, 1]. */
  decoded?(x: T, rgb: T, vae: DecoderWeights<T>): Promise<void>;
}

/**
 * Fills `dump` with input_ids, attention_mask, prompt_embeds, sigmas, step_velocity, step_latents,
 * final_latents, decoded and image, in the golden layouts ([1, …]; step tensors [S, N, C]).
 */
export function dumpObserver<T>(ops: Ops<T>, dump: Dump, vaeCfg: Flux2VaeConfig): RunObserver<T> {
  const velocities: Float32Array[] = [];
  const latents: Float32Array[] = [];
  let tokenShape: number[] = [];
  return {
    async encoded(tokens, promptEmbeds) {
      dump.set('input_ids', { shape: [1, tokens.inputIds.length], data: tokens.inputIds });
      dump.set('attention_mask', { shape: [1, tokens.attentionMask.length], data: tokens.attentionMask });
      dump.set('prompt_embeds', { shape: [1, ...ops.shape(promptEmbeds)], data: await ops.read(promptEmbeds) });
    },
    async step(_i, _steps, x, v) {
      tokenShape = [...ops.shape(x)];
      velocities.push(await ops.read(v));
      latents.push(await ops.read(x));
    },
    denoised(sigmas) {
      const shape = [sigmas.length - 1, ...tokenShape];
      dump.set('sigmas', { shape: [sigmas.length], data: sigmas });
      dump.set('step_velocity', { shape, data: concat(velocities) });
      dump.set('step_latents', { shape, data: concat(latents) });
    },
    async decoded(x, rgb, vae) {
      const [c, hh, ww] = ops.shape(rgb) as [number, number, number];
      const z = ops.tidy(() => ops.latentUnpack(x, vae.bn.running_mean, vae.bn.running_var, hh / 16, ww / 16, vaeCfg.batch_norm_eps));
      dump.set('final_latents', { shape: [1, ...ops.shape(z)], data: await ops.read(z) });
      ops.release(z);
      const decoded = await ops.read(rgb);
      dump.set('decoded', { shape: [1, c, hh, ww], data: decoded });
      // image: [1, H, W, 3] = clamp(decoded/2 + 0.5, 0, 1), channel-last (diffusers postprocess)
      const image = new Float32Array(c * hh * ww);
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < hh * ww; p++) image[p * c + ch] = Math.min(1, Math.max(0, (decoded[ch * hh * ww + p] as number) / 2 + 0.5));
      }
      dump.set('image', { shape: [1, hh, ww, c], data: image });
    },
  };
}

/** After every step, the latents x [h·w, 4C] through `projection` (preview.ts) as a W/8 × H/8 frame. */
export function previewObserver<T>(ops: Ops<T>, projection: PreviewProjection, h: number, w: number, onPreview: (p: GeneratePreview) => void): RunObserver<T> {
  return {
    async step(i, steps, x) {
      onPreview({ step: i + 1, steps, ...previewRgba(projection, await ops.read(x), h, w) });
    },
  };
}

/** The parts one after the other in one array (per-step dumps → [S, …]). */
export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
