/**
 * LoRA module names → the transformer weights they change, in OUR names (the diffusers
 * Flux2Transformer2DModel checkpoint keys that loadTransformer / loadDoubleBlock / loadSingleBlock
 * read, e.g. `transformer_blocks.0.attn.to_q.weight`). A LoRA module `m` changes weight `m.weight`
 * by ΔW = scale·B·A, A: [r, in], B: [out, r].
 *
 * BFL module (ai-toolkit `diffusion_model.<m>`, kohya `lora_unet_<m with . → _>`) → our weight:
 *
 * | BFL module                           | our weight (`.weight` omitted)                      | B rows      |
 * |--------------------------------------|-----------------------------------------------------|-------------|
 * | `double_blocks.{i}.img_attn.qkv`     | `transformer_blocks.{i}.attn.to_q` / `to_k` / `to_v` | thirds      |
 * | `double_blocks.{i}.txt_attn.qkv`     | `….attn.add_q_proj` / `add_k_proj` / `add_v_proj`    | thirds      |
 * | `double_blocks.{i}.img_attn.proj`    | `….attn.to_out.0`                                    |             |
 * | `double_blocks.{i}.txt_attn.proj`    | `….attn.to_add_out`                                  |             |
 * | `double_blocks.{i}.img_mlp.0` / `.2` | `….ff.linear_in` / `ff.linear_out`                   |             |
 * | `double_blocks.{i}.txt_mlp.0` / `.2` | `….ff_context.linear_in` / `ff_context.linear_out`   |             |
 * | `single_blocks.{j}.linear1`          | `single_transformer_blocks.{j}.attn.to_qkv_mlp_proj` | (fused too) |
 * | `single_blocks.{j}.linear2`          | `single_transformer_blocks.{j}.attn.to_out`          |             |
 * | `img_in` / `txt_in`                  | `x_embedder` / `context_embedder`                    |             |
 * | `time_in.in_layer` / `.out_layer`    | `time_guidance_embed.timestep_embedder.linear_1` / `_2` |          |
 * | `double_stream_modulation_{img,txt}.lin`, `single_stream_modulation.lin` | same name with `.linear` | |
 * | `final_layer.linear`                 | `proj_out`                                           |             |
 * | `final_layer.adaLN_modulation.1`     | `norm_out.linear`                                    | halves swapped |
 *
 * Source: diffusers `_convert_non_diffusers_flux2_lora_to_diffusers` and
 * `_convert_kohya_flux2_lora_to_diffusers` (loaders/lora_conversion_utils.py @58eb52c): a fused
 * `qkv` gives q, k and v the same A and B's row thirds (`torch.chunk(B, 3, 0)`), in that order.
 * Our double blocks keep q, k, v as three weights (blocks.ts), so a qkv LoRA becomes three layers.
 *
 * One deliberate difference: diffusers' FLUX.2 LoRA converter renames
 * `final_layer.adaLN_modulation.1` to `norm_out.linear` WITHOUT swapping rows, although the base
 * weight's rows are swapped from BFL (shift, scale) to diffusers (scale, shift) (bflNames.ts,
 * `swap_scale_shift` in the checkpoint converter and in diffusers' FLUX.1 LoRA converter). ΔW must
 * be in the row order of the weight it is added to, so we swap B's halves as the base weight was.
 * The kohya converter of diffusers maps only img_in, txt_in, time_in and final_layer.linear among
 * the global modules (others are dropped with a warning); we map kohya names with the same table.
 */

/** The rows of a LoRA B [out, r] that belong to one weight: B cut into `of` equal row blocks, blocks `take` stacked in order. */
export interface LoraTarget {
  /** Our weight name, e.g. `transformer_blocks.0.attn.to_k.weight`. */
  weight: string;
  of: number;
  take: readonly number[];
}

type Rename = string | { names: readonly string[]; of: number } | { name: string; take: readonly number[]; of: number };

const QKV = (q: string, k: string, v: string): Rename => ({ names: [q, k, v], of: 3 });

/** Inside `double_blocks.{i}.` → `transformer_blocks.{i}.`. */
const DOUBLE: Readonly<Record<string, Rename>> = {
  'img_attn.qkv': QKV('attn.to_q', 'attn.to_k', 'attn.to_v'),
  'img_attn.proj': 'attn.to_out.0',
  'img_mlp.0': 'ff.linear_in',
  'img_mlp.2': 'ff.linear_out',
  'txt_attn.qkv': QKV('attn.add_q_proj', 'attn.add_k_proj', 'attn.add_v_proj'),
  'txt_attn.proj': 'attn.to_add_out',
  'txt_mlp.0': 'ff_context.linear_in',
  'txt_mlp.2': 'ff_context.linear_out',
};

/** Inside `single_blocks.{j}.` → `single_transformer_blocks.{j}.`. */
const SINGLE: Readonly<Record<string, Rename>> = {
  linear1: 'attn.to_qkv_mlp_proj',
  linear2: 'attn.to_out',
};

/** Modules outside the blocks. */
const GLOBAL: Readonly<Record<string, Rename>> = {
  img_in: 'x_embedder',
  txt_in: 'context_embedder',
  'time_in.in_layer': 'time_guidance_embed.timestep_embedder.linear_1',
  'time_in.out_layer': 'time_guidance_embed.timestep_embedder.linear_2',
  'double_stream_modulation_img.lin': 'double_stream_modulation_img.linear',
  'double_stream_modulation_txt.lin': 'double_stream_modulation_txt.linear',
  'single_stream_modulation.lin': 'single_stream_modulation.linear',
  'final_layer.linear': 'proj_out',
  // BFL rows (shift, scale) → ours (scale, shift)
  'final_layer.adaLN_modulation.1': { name: 'norm_out.linear', take: [1, 0], of: 2 },
};

function targets(prefix: string, r: Rename): LoraTarget[] {
  if (typeof r === 'string') return [{ weight: `${prefix}${r}.weight`, of: 1, take: [0] }];
  if ('names' in r) return r.names.map((n, k) => ({ weight: `${prefix}${n}.weight`, of: r.of, take: [k] }));
  return [{ weight: `${prefix}${r.name}.weight`, of: r.of, take: r.take }];
}

const BLOCK = /^(double_blocks|single_blocks)\.(\d+)\.(.+)$/;

/**
 * Our weights changed by the LoRA module `module` in BFL naming (prefix already stripped), e.g.
 * `double_blocks.0.img_attn.qkv` → to_q, to_k, to_v of `transformer_blocks.0`; undefined when
 * `module` is no BFL linear layer of FLUX.2. Whether the model has that block is the caller's check.
 */
export function bflLoraTargets(module: string): LoraTarget[] | undefined {
  const g = GLOBAL[module];
  if (g !== undefined) return targets('', g);
  const m = BLOCK.exec(module);
  if (!m) return undefined;
  const [, kind, i, rest] = m as unknown as [string, string, string, string];
  const r = (kind === 'double_blocks' ? DOUBLE : SINGLE)[rest];
  return r === undefined ? undefined : targets(`${kind === 'double_blocks' ? 'transformer_blocks' : 'single_transformer_blocks'}.${i}.`, r);
}

const underscored = (table: Readonly<Record<string, Rename>>): Map<string, string> =>
  new Map(Object.keys(table).map((k) => [k.replace(/\./g, '_'), k]));
const KOHYA_DOUBLE = underscored(DOUBLE);
const KOHYA_SINGLE = underscored(SINGLE);
const KOHYA_GLOBAL = underscored(GLOBAL);
const KOHYA_BLOCK = /^(double_blocks|single_blocks)_(\d+)_(.+)$/;

/**
 * A kohya module name (after `lora_unet_`, dots written as `_`) → its BFL module name, e.g.
 * `double_blocks_0_img_attn_qkv` → `double_blocks.0.img_attn.qkv`; undefined when it is none of
 * the modules bflLoraTargets knows (an SD or FLUX.1 LoRA, say).
 */
export function kohyaToBfl(name: string): string | undefined {
  const g = KOHYA_GLOBAL.get(name);
  if (g !== undefined) return g;
  const m = KOHYA_BLOCK.exec(name);
  if (!m) return undefined;
  const [, kind, i, rest] = m as unknown as [string, string, string, string];
  const r = (kind === 'double_blocks' ? KOHYA_DOUBLE : KOHYA_SINGLE).get(rest);
  return r === undefined ? undefined : `${kind}.${i}.${r}`;
}

/** Every BFL module bflLoraTargets maps, for `nDouble` double and `nSingle` single blocks (tests, docs). */
export function bflLoraModules(nDouble: number, nSingle: number): string[] {
  const out = Object.keys(GLOBAL);
  for (let i = 0; i < nDouble; i++) out.push(...Object.keys(DOUBLE).map((k) => `double_blocks.${i}.${k}`));
  for (let j = 0; j < nSingle; j++) out.push(...Object.keys(SINGLE).map((k) => `single_blocks.${j}.${k}`));
  return out;
}
