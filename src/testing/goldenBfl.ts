/**
 * Test fixtures for the BFL-named readers (weights/gguf.ts, weights/fp8.ts): the golden model-a
 * transformer converted back to BFL single-file naming with a mapping written independently of
 * weights/bflNames.ts (diffusers → BFL: q/k/v rows concatenated into the fused qkv, norm_out's
 * (scale; shift) halves swapped back to (shift; scale)).
 */
import { decodeToF32 } from '../util/dtype';
import { openComponent } from '../weights/safetensors';
import { goldenModelSource } from './golden';

import { type MemorySource, memorySource as namedMemorySource } from './memorySource';

/** The shared in-memory FileSource with the id 'mem' the GGUF/fp8 tests' messages name. */
export function memorySource(files: Record<string, Uint8Array>): MemorySource {
  return namedMemorySource(files, 'mem');
}

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/** diffusers transformer name → its BFL tensor and the rows it occupies there (the inverse of bflNames.ts). */
function bflOf(name: string): { bfl: string; third?: number } {
  const fused: Record<string, [string, number]> = {
    'attn.to_q.weight': ['img_attn.qkv.weight', 0], 'attn.to_k.weight': ['img_attn.qkv.weight', 1], 'attn.to_v.weight': ['img_attn.qkv.weight', 2],
    'attn.add_q_proj.weight': ['txt_attn.qkv.weight', 0], 'attn.add_k_proj.weight': ['txt_attn.qkv.weight', 1], 'attn.add_v_proj.weight': ['txt_attn.qkv.weight', 2],
  };
  const dbl: Record<string, string> = {
    'attn.norm_q.weight': 'img_attn.norm.query_norm.scale', 'attn.norm_k.weight': 'img_attn.norm.key_norm.scale',
    'attn.to_out.0.weight': 'img_attn.proj.weight', 'ff.linear_in.weight': 'img_mlp.0.weight', 'ff.linear_out.weight': 'img_mlp.2.weight',
    'attn.norm_added_q.weight': 'txt_attn.norm.query_norm.scale', 'attn.norm_added_k.weight': 'txt_attn.norm.key_norm.scale',
    'attn.to_add_out.weight': 'txt_attn.proj.weight', 'ff_context.linear_in.weight': 'txt_mlp.0.weight', 'ff_context.linear_out.weight': 'txt_mlp.2.weight',
  };
  const sgl: Record<string, string> = {
    'attn.to_qkv_mlp_proj.weight': 'linear1.weight', 'attn.to_out.weight': 'linear2.weight',
    'attn.norm_q.weight': 'norm.query_norm.scale', 'attn.norm_k.weight': 'norm.key_norm.scale',
  };
  const glob: Record<string, string> = {
    'x_embedder.weight': 'img_in.weight', 'context_embedder.weight': 'txt_in.weight',
    'time_guidance_embed.timestep_embedder.linear_1.weight': 'time_in.in_layer.weight',
    'time_guidance_embed.timestep_embedder.linear_2.weight': 'time_in.out_layer.weight',
    'double_stream_modulation_img.linear.weight': 'double_stream_modulation_img.lin.weight',
    'double_stream_modulation_txt.linear.weight': 'double_stream_modulation_txt.lin.weight',
    'single_stream_modulation.linear.weight': 'single_stream_modulation.lin.weight', 'proj_out.weight': 'final_layer.linear.weight',
  };
  if (name === 'norm_out.linear.weight') return { bfl: 'final_layer.adaLN_modulation.1.weight' };
  if (glob[name]) return { bfl: glob[name] as string };
  const m = /^(transformer_blocks|single_transformer_blocks)\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new Error(`no BFL name for ${name}`);
  const [, kind, i, rest] = m as unknown as [string, string, string, string];
  if (kind === 'single_transformer_blocks') return { bfl: `single_blocks.${i}.${sgl[rest] as string}` };
  const f = fused[rest];
  if (f) return { bfl: `double_blocks.${i}.${f[0]}`, third: f[1] };
  return { bfl: `double_blocks.${i}.${dbl[rest] as string}` };
}

/** Golden diffusers transformer (f32 values) → BFL-named f32 tensors: qkv concatenated, final AdaLN halves (shift, scale). */
export async function goldenTransformerAsBfl(): Promise<{ diffusers: Map<string, F32Tensor>; bfl: Map<string, F32Tensor> }> {
  const ckpt = await openComponent(goldenModelSource(), 'transformer');
  const diffusers = new Map<string, F32Tensor>();
  for (const [name, info] of ckpt.tensors) diffusers.set(name, { shape: info.shape, data: decodeToF32(await ckpt.read(name), 'bf16') });
  const bfl = new Map<string, F32Tensor>();
  const parts = new Map<string, Float32Array[]>();
  for (const [name, t] of diffusers) {
    const { bfl: b, third } = bflOf(name);
    if (third !== undefined) {
      const list = parts.get(b) ?? [];
      list[third] = t.data;
      parts.set(b, list);
      if (list.filter(Boolean).length === 3) {
        const all = new Float32Array(3 * t.data.length);
        list.forEach((p, k) => all.set(p, k * t.data.length));
        bfl.set(b, { shape: [3 * (t.shape[0] as number), ...t.shape.slice(1)], data: all });
      }
    } else if (name === 'norm_out.linear.weight') {
      const halfLen = t.data.length / 2; // diffusers (scale; shift) → BFL (shift; scale)
      const swapped = new Float32Array(t.data.length);
      swapped.set(t.data.subarray(halfLen), 0);
      swapped.set(t.data.subarray(0, halfLen), halfLen);
      bfl.set(b, { shape: t.shape, data: swapped });
    } else {
      bfl.set(b, t);
    }
  }
  return { diffusers, bfl };
}

/**
 * The values of diffusers tensor `name` taken from BFL-named tensors by the same independent
 * inverse mapping: a third of a fused qkv by rows, norm_out's halves swapped, else the tensor itself.
 */
export function diffusersFromBfl(name: string, bfl: ReadonlyMap<string, F32Tensor>): Float32Array {
  const { bfl: b, third } = bflOf(name);
  const t = bfl.get(b);
  if (!t) throw new Error(`BFL tensor ${b} (for ${name}) missing`);
  if (third !== undefined) {
    const n = t.data.length / 3;
    return t.data.slice(third * n, (third + 1) * n);
  }
  if (name === 'norm_out.linear.weight') {
    const n = t.data.length / 2;
    const out = new Float32Array(2 * n);
    out.set(t.data.subarray(n), 0);
    out.set(t.data.subarray(0, n), n);
    return out;
  }
  return t.data;
}

/**
 * Exact equality of two f32 arrays (bit patterns), fast enough for the 9.7M-value embedding;
 * throws naming the first differing index.
 */
export function expectSameF32(got: Float32Array, want: Float32Array, what: string): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} values, want ${want.length}`);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new Error(`${what}: value ${i} is ${got[i]}, want ${want[i]}`);
  }
}
