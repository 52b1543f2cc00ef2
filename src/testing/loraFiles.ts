/**
 * LoRA files for tests: the golden lora-aitk file (lora0, ai-toolkit naming, rank 4) rewritten in
 * kohya and diffusers/PEFT naming, random LoRAs, ΔW = scale·B·A in f64, and model-a with LoRAs merged
 * into its transformer weights (the oracle for the run-time path: W + Σ strength·ΔW, f64, stored F32).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeToF32, f32ToBf16, f32ToF16 } from '../util/dtype';
import { Rng } from '../util/rng';
import type { ParsedLora } from '../weights/lora';
import { dtypeOf, parseSafetensors } from '../weights/safetensors';
import { type WritableTensor, encodeSafetensors } from '../weights/safetensorsWrite';
import type { FileSource } from '../weights/source';
import { GOLDEN_DIR } from './golden';

export type F32Tensor = { shape: number[]; data: Float32Array };

/** The golden lora-aitk case's LoRA file. */
export const LORA0_PATH = join(GOLDEN_DIR, 'cases/lora-aitk', 'lora0.safetensors');
export const lora0Bytes = (): Uint8Array => new Uint8Array(readFileSync(LORA0_PATH));

/** f32 tensors → safetensors bytes in `dtype` (BF16 and F16 rounded to nearest). */
export function loraFile(tensors: Record<string, F32Tensor>, dtype: 'F32' | 'BF16' | 'F16' = 'BF16', metadata?: Record<string, string>): Uint8Array {
  const out: Record<string, WritableTensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    const data = dtype === 'F32' ? t.data : dtype === 'BF16' ? f32ToBf16(t.data) : f32ToF16(t.data);
    out[k] = { dtype, shape: t.shape, data };
  }
  return encodeSafetensors(out, metadata);
}

/** lora0's tensors decoded: key → f32. */
export function lora0Tensors(): Map<string, F32Tensor> {
  return new Map([...parseSafetensors(lora0Bytes())].map(([k, t]) => [k, { shape: [...t.info.shape], data: decodeToF32(t.bytes, dtypeOf(t.info)) }]));
}
const AITK = /^diffusion_model\.(.+)\.lora_([AB])\.weight$/;
const mul = (t: F32Tensor, s: number): F32Tensor => ({ shape: t.shape, data: t.data.map((x) => x * s) });

/** BFL → diffusers module for lora0's modules, written out from diffusers' converter (the tests' own oracle). */
export function diffusersModules(bfl: string): string[] {
  const fixed: Record<string, string> = { img_in: 'x_embedder', txt_in: 'context_embedder', 'final_layer.linear': 'proj_out' };
  if (fixed[bfl]) return [fixed[bfl] as string];
  const [kind, i, ...rest] = bfl.split('.');
  const sub = rest.join('.');
  if (kind === 'single_blocks') return [`single_transformer_blocks.${i}.attn.${sub === 'linear1' ? 'to_qkv_mlp_proj' : 'to_out'}`];
  const dbl: Record<string, string[]> = {
    'img_attn.qkv': ['attn.to_q', 'attn.to_k', 'attn.to_v'],
    'txt_attn.qkv': ['attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'],
    'img_attn.proj': ['attn.to_out.0'], 'txt_attn.proj': ['attn.to_add_out'],
    'img_mlp.0': ['ff.linear_in'], 'img_mlp.2': ['ff.linear_out'],
    'txt_mlp.0': ['ff_context.linear_in'], 'txt_mlp.2': ['ff_context.linear_out'],
  };
  return (dbl[sub] as string[]).map((m) => `transformer_blocks.${i}.${m}`);
}

/** `tensors` (ai-toolkit naming, default lora0's) as kohya: lora_down/lora_up/alpha, B·rank/alpha so that ΔW stays (F32). */
export function toKohya(alpha: number, tensors: Map<string, F32Tensor> = lora0Tensors()): Uint8Array {
  const out: Record<string, F32Tensor> = {};
  for (const [k, t] of tensors) {
    const [, m, ab] = AITK.exec(k) as RegExpExecArray;
    const name = `lora_unet_${(m as string).replace(/\./g, '_')}`;
    if (ab === 'A') out[`${name}.lora_down.weight`] = t;
    else out[`${name}.lora_up.weight`] = mul(t, (t.shape[1] as number) / alpha);
    out[`${name}.alpha`] = { shape: [], data: new Float32Array([alpha]) };
  }
  return loraFile(out, 'F32');
}

/** lora0 as diffusers/PEFT: qkv A copied three times, B cut in row thirds; B·bScale(module). */
export function toPeft(prefix: string, bScale: (module: string) => number, dtype: 'F32' | 'BF16' | 'F16', metadata?: Record<string, string>): Uint8Array {
  const out: Record<string, F32Tensor> = {};
  for (const [k, t] of lora0Tensors()) {
    const [, m, ab] = AITK.exec(k) as RegExpExecArray;
    const targets = diffusersModules(m as string);
    targets.forEach((d, i) => {
      if (ab === 'A') return void (out[`${prefix}${d}.lora_A.weight`] = t);
      const rows = (t.shape[0] as number) / targets.length;
      const cols = t.shape[1] as number;
      const part = { shape: [rows, cols], data: t.data.slice(i * rows * cols, (i + 1) * rows * cols) };
      out[`${prefix}${d}.lora_B.weight`] = mul(part, bScale(d));
    });
  }
  return loraFile(out, dtype, metadata);
}

/**
 * A random LoRA in ai-toolkit naming over the modules of lora0 whose BFL name matches `only`, with a
 * new rank: A ~ N(0, 1/in), B ~ N(0, bStd) (ΔW of the order of the weights for bStd ≈ 0.3).
 */
export function randomAitk(rank: number, seed: number, only: RegExp, bStd = 0.3): Map<string, F32Tensor> {
  const rng = new Rng(seed);
  const out = new Map<string, F32Tensor>();
  for (const [k, t] of lora0Tensors()) {
    const [, m, ab] = AITK.exec(k) as RegExpExecArray;
    if (!only.test(m as string)) continue;
    const [rows, cols] = t.shape as [number, number];
    const shape = ab === 'A' ? [rank, cols] : [rows, rank];
    out.set(k, { shape, data: rng.normals(shape[0]! * shape[1]!, ab === 'A' ? 1 / Math.sqrt(cols) : bStd) });
  }
  return out;
}

/** ΔW = scale·B·A of each layer, [out, in], in f64. */
export function loraDeltas(p: ParsedLora): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const l of p.layers) {
    const d = new Float64Array(l.outFeatures * l.inFeatures);
    for (let o = 0; o < l.outFeatures; o++) {
      for (let i = 0; i < l.inFeatures; i++) {
        let s = 0;
        for (let k = 0; k < l.rank; k++) s += (l.b[o * l.rank + k] as number) * (l.a[k * l.inFeatures + i] as number);
        d[o * l.inFeatures + i] = l.scale * s;
      }
    }
    out.set(l.target, d);
  }
  return out;
}

const TRANSFORMER_FILE = 'transformer/diffusion_pytorch_model.safetensors';

/**
 * `base` (a model-a layout) with W ← W + Σ strength·ΔW merged into its transformer file, every
 * tensor stored F32 (so the merge is not rounded back to bf16); other files served by `base`.
 */
export async function mergedModelSource(base: FileSource, loras: readonly { lora: ParsedLora; strength: number }[]): Promise<FileSource> {
  const bytes = await base.range(TRANSFORMER_FILE, 0, await base.size(TRANSFORMER_FILE));
  const out: Record<string, WritableTensor> = {};
  const merged = new Map<string, Float64Array>();
  for (const { lora, strength } of loras) {
    for (const [w, d] of loraDeltas(lora)) {
      const acc = merged.get(w) ?? new Float64Array(d.length);
      for (let i = 0; i < d.length; i++) acc[i] = (acc[i] as number) + strength * (d[i] as number);
      merged.set(w, acc);
    }
  }
  for (const [name, t] of parseSafetensors(bytes)) {
    const data = decodeToF32(t.bytes, dtypeOf(t.info));
    const d = merged.get(name);
    const v = d ? Float32Array.from(data, (x, i) => x + (d[i] as number)) : data;
    out[name] = { dtype: 'F32', shape: [...t.info.shape], data: v };
  }
  const file = encodeSafetensors(out);
  return {
    ...base,
    id: `${base.id} (LoRAs merged)`,
    size: async (p, signal) => (p === TRANSFORMER_FILE ? file.length : base.size(p, signal)),
    range: async (p, s, e, signal) => (p === TRANSFORMER_FILE ? file.slice(s, e) : base.range(p, s, e, signal)),
  };
}
