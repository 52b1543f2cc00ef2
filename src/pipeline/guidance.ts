/**
 * Classifier-free guidance (CFG) of base (non-distilled) models, docs/flux2-klein.md §9. Matches
 * diffusers Flux2KleinPipeline.__call__ (0.38.0): `do_classifier_free_guidance = guidance_scale > 1
 * and not is_distilled`; the negative branch's context is encoded once per request through the same
 * text encoder path as the prompt (diffusers always uses ""; here `negativePrompt`, default ""); at
 * every step the transformer runs on the prompt's context, then on the negative one, with the same
 * image tokens (references included, §7.5) and timestep, and
 *   v = v_uncond + g·(v_cond − v_uncond)            (`neg_noise_pred + guidance_scale * (noise_pred - neg_noise_pred)`)
 * The branches run as one transformer pass over a batch of 2 (prompt, then negative prompt; BFL's
 * sampling.py denoise_cfg batches them too: every weight read once per step) where it fits
 * (chooseCfgMode), else as two passes one after the other, as diffusers runs them. Each row is computed the same way in both, so
 * the two modes give the same image bit for bit.
 */
import { InvalidInput } from '../errors';
import type { Ops } from '../ops/ops';
import { type Configs, TEXT_SEQ_LEN, hiddenSize } from '../model/config';
import { concat, type Dump, type RunObserver } from './observers';
import type { EncodedPrompt } from './prompts';
import { processedSize } from './references';
import type { CfgMode, GenerateRequest } from './types';

/**
 * Bytes of the largest tensor a CFG batch of 2 makes: the single-stream residual [2·S, D] f32, S =
 * 512 text + N image + R reference tokens (its q|k|v split themselves below the binding cap, its MLP
 * hidden runs in chunks, its attention output is at most as large). 1024², no reference, D 3072: 113 MB.
 */
export function cfgBatchBytes(configs: Configs, req: Pick<GenerateRequest, 'width' | 'height' | 'references'>): number {
  const refTokens = (req.references ?? []).reduce((sum, r) => {
    const [w, h] = processedSize(r.width, r.height);
    return sum + (w / 16) * (h / 16);
  }, 0);
  const tokens = TEXT_SEQ_LEN + (req.width / 16) * (req.height / 16) + refTokens;
  return 2 * tokens * hiddenSize(configs.transformer) * 4;
}

/**
 * How a request runs classifier-free guidance: 'off' (a distilled model, or guidance ≤ 1), else the
 * mode asked for (LoadOptions.cfg), or for 'auto' the batch of 2 unless in low-memory mode (which
 * trades speed for memory, and the batch doubles the activations) or where cfgBatchBytes exceeds
 * `maxBindingBytes` (Ops.maxBindingBytes: the device's binding and buffer limits).
 */
export function chooseCfgMode(
  configs: Configs,
  req: Pick<GenerateRequest, 'width' | 'height' | 'references' | 'guidance'>,
  model: { distilled: boolean; defaultGuidance: number; lowMemory: boolean; mode: CfgMode; maxBindingBytes: number },
): 'off' | 'batch' | 'two passes' {
  if (!cfgActive(model.distilled, req.guidance ?? model.defaultGuidance)) return 'off';
  if (model.mode !== 'auto') return model.mode;
  if (model.lowMemory) return 'two passes';
  return cfgBatchBytes(configs, req) <= model.maxBindingBytes ? 'batch' : 'two passes';
}

/** Largest accepted guidance scale: far above useful values (≈ 1–10); larger is surely a typo. */
export const GUIDANCE_MAX = 100;

/** A model's default steps and guidance scale (BFL FLUX2_MODEL_INFO: distilled 4 / 1.0, base 50 / 4.0). */
export function modelDefaults(distilled: boolean): { steps: number; guidance: number } {
  return distilled ? { steps: 4, guidance: 1 } : { steps: 50, guidance: 4 };
}

/** Whether a request runs CFG: diffusers' `guidance_scale > 1 and not is_distilled`. */
export function cfgActive(distilled: boolean, guidance: number): boolean {
  return !distilled && guidance > 1;
}

/**
 * Checks `guidance` (a finite number 0…GUIDANCE_MAX) and `negativePrompt` (a string); with `model`,
 * also against it: a distilled model takes only guidance 1 and no negative prompt, and a negative
 * prompt is refused where guidance ≤ 1 switches CFG off (it would be ignored). Errors: InvalidInput.
 */
export function validateGuidance(req: Pick<GenerateRequest, 'guidance' | 'negativePrompt'>, model?: { distilled: boolean }): void {
  const g = req.guidance;
  if (g !== undefined && (typeof g !== 'number' || !Number.isFinite(g) || g < 0 || g > GUIDANCE_MAX)) {
    throw new InvalidInput(`guidance ${String(g)}: use a number from 0 to ${GUIDANCE_MAX} (1 or less: no classifier-free guidance)`);
  }
  const neg = req.negativePrompt;
  if (neg !== undefined && typeof neg !== 'string') throw new InvalidInput('negative prompt must be a string');
  if (!model) return;
  if (model.distilled) {
    if (g !== undefined && g !== 1) {
      throw new InvalidInput(`guidance ${g}: this model is step-distilled (model_index.json "is_distilled": true) and runs without classifier-free guidance; leave guidance at 1, or load a base model`);
    }
    if (neg) throw new InvalidInput('a negative prompt needs classifier-free guidance, which this step-distilled model does not run; leave it empty, or load a base model');
    return;
  }
  const scale = g ?? modelDefaults(false).guidance;
  if (neg && !cfgActive(false, scale)) throw new InvalidInput(`a negative prompt has no effect at guidance ${scale}: classifier-free guidance runs only above 1`);
}

/**
 * v = v_uncond + g·(v_cond − v_uncond), in place in f32 like diffusers' float32 run: v_cond ← v_cond −
 * v_uncond, then v_uncond += g·v_cond. cond, uncond: [N, C] velocities of the two passes (both
 * consumed) → uncond. `taps` ([1, N, C], the dump's): copies of both velocities before the update.
 */
export function guidedVelocity<T>(ops: Ops<T>, cond: T, uncond: T, scale: number, taps?: { cond: T; uncond: T }): T {
  const [n, c] = ops.shape(cond) as [number, number];
  if (taps) {
    // copyRows moves rows of [C, H, W] images: view both as one [1, N, C] image
    const cond3 = ops.reshape(cond, [1, n, c]);
    const uncond3 = ops.reshape(uncond, [1, n, c]);
    ops.copyRows(taps.cond, cond3, 0, 0, n);
    ops.copyRows(taps.uncond, uncond3, 0, 0, n);
    cond = ops.reshape(cond3, [n, c]);
    uncond = ops.reshape(uncond3, [n, c]);
  }
  const row = (v: number, label: string) => ops.fromHost(new Float32Array(c).fill(v), [1, c], label);
  ops.residual(cond, uncond, { mod: row(-1, 'cfg.minus_one'), chunk: 0 }); // v_cond − v_uncond (exact negation)
  return ops.residual(uncond, cond, { mod: row(Math.fround(scale), 'cfg.scale'), chunk: 0 });
}

/**
 * Fills `dump` with the CFG tensors under their golden names (test/golden/README.md §2):
 * negative_input_ids, negative_attention_mask [1, 512], negative_prompt_embeds [1, 512, 3·hidden]
 * (at `encoded`: the hook's own arguments are the prompt's, which dumpObserver writes), and
 * step_velocity_cond / step_velocity_uncond [S, N, C] read from `taps` after every step.
 */
export function cfgDumpObserver<T>(ops: Ops<T>, dump: Dump, negative: EncodedPrompt<T>, taps: { cond: T; uncond: T }): RunObserver<T> {
  const cond: Float32Array[] = [];
  const uncond: Float32Array[] = [];
  let tokenShape: number[] = [];
  return {
    async encoded() {
      const { inputIds, attentionMask } = negative.tokens;
      dump.set('negative_input_ids', { shape: [1, inputIds.length], data: inputIds });
      dump.set('negative_attention_mask', { shape: [1, attentionMask.length], data: attentionMask });
      dump.set('negative_prompt_embeds', { shape: [1, ...ops.shape(negative.embeds)], data: await ops.read(negative.embeds) });
    },
    async step(_i, _steps, x) {
      tokenShape = [...ops.shape(x)];
      cond.push(await ops.read(taps.cond));
      uncond.push(await ops.read(taps.uncond));
    },
    denoised(sigmas) {
      const shape = [sigmas.length - 1, ...tokenShape];
      dump.set('step_velocity_cond', { shape, data: concat(cond) });
      dump.set('step_velocity_uncond', { shape, data: concat(uncond) });
    },
  };
}
