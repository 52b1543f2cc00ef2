/**
 * Checkpoints in other layouts, seen as diffusers tensors: a `TensorPlan` says which rows of which
 * file tensor make a diffusers tensor, and `planTensor` turns a plan into the converter's
 * SourceTensor. The FLUX.2 plans map BFL single-file names (flux-2-klein-4b.safetensors, its fp8
 * file, ComfyUI-GGUF / stable-diffusion.cpp GGUFs) to diffusers Flux2Transformer2DModel names.
 *
 * BFL → diffusers, as diffusers `scripts/convert_flux2_to_diffusers.py` (snapshot 207bae7a) does it
 * (docs/flux2-klein.md §2.8):
 *   - renames (tables below); RMSNorm `.scale` becomes `.weight`;
 *   - fused `img_attn.qkv` / `txt_attn.qkv` [3D, D] split by rows into thirds (`torch.chunk(…, 3, 0)`)
 *     → to_q/to_k/to_v and add_q_proj/add_k_proj/add_v_proj;
 *   - `final_layer.adaLN_modulation.1` [2D, D] is (shift, scale) by rows, diffusers norm_out.linear
 *     is (scale, shift): the two row halves swap (`swap_scale_shift`).
 * Single-block linear1 (q, k, v, mlp gate, mlp value) and the MLP linears keep their row order.
 */
import { InvalidInput, WeightMismatch } from '../errors';
import { type LosslessQuant, type SourceTensor, rowsCols } from './sourceTensor';

/** Rows [start, start + count) of a file tensor. */
export interface RowRange {
  start: number;
  count: number;
}

/** A diffusers tensor made of row ranges of one file tensor, concatenated in order. */
export interface TensorPlan {
  /** diffusers name. */
  name: string;
  /** File tensor name (as given to the planner: prefix already stripped). */
  source: string;
  ranges: RowRange[];
}

/** A file tensor whose rows (first dimension) all have the same byte length and are contiguous. */
export interface RowSource {
  /** Name in the file, for messages. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly sourceDtype: string;
  readonly plainDtype: 'bf16' | 'f16' | 'f32' | null;
  readonly file: string;
  /** Absolute byte offset of row 0 in `file`. */
  readonly start: number;
  readonly rowByteLength: number;
  /** Decodes rows [row0, row0 + rows) from exactly their bytes → f32, row-major. */
  decodeRows(bytes: Uint8Array, row0: number, rows: number): Float32Array;
  /** Blocks whose codes a quant.ts format holds (SourceTensor.lossless): `rows` whole rows' bytes, in order → that layout. */
  readonly lossless?: LosslessQuant & { repackRows(bytes: Uint8Array, rows: number): Uint8Array };
}

/** Prefixes that single-file checkpoints put before the model's own names (ComfyUI, sd.cpp). */
const FILE_PREFIXES = ['model.diffusion_model.', 'diffusion_model.'];

/** `model.diffusion_model.img_in.weight` → `img_in.weight`; other names unchanged. */
export function stripPrefix(name: string): string {
  for (const p of FILE_PREFIXES) if (name.startsWith(p)) return name.slice(p.length);
  return name;
}

/** Rows of the file tensor a plan draws from, as one byte range, plus the pieces of [r0, r1). */
function pieces(plan: TensorPlan, r0: number, r1: number): { lo: number; hi: number; segs: { src: number; dst: number; count: number }[] } {
  const segs: { src: number; dst: number; count: number }[] = [];
  let base = 0;
  for (const r of plan.ranges) {
    const a = Math.max(r0, base);
    const b = Math.min(r1, base + r.count);
    if (a < b) segs.push({ src: r.start + a - base, dst: a - r0, count: b - a });
    base += r.count;
  }
  const lo = Math.min(...segs.map((s) => s.src));
  const hi = Math.max(...segs.map((s) => s.src + s.count));
  return { lo, hi, segs };
}

/**
 * The SourceTensor of `plan` over `src`: shape [Σ range counts, …src.shape[1:]] (a 1-D or 0-D
 * source is one row and keeps its shape). rowBytes(r0, r1) names the smallest byte range covering
 * the source rows; when the plan reorders rows (norm_out) that range can hold rows outside
 * [r0, r1), so such a tensor has plainDtype null and only `decode` yields its rows in order.
 */
export function planTensor(plan: TensorPlan, src: RowSource): SourceTensor {
  const rows = plan.ranges.reduce((n, r) => n + r.count, 0);
  const srcRows = rowsCols(src.shape).rows;
  if (plan.ranges.some((r) => r.start < 0 || r.count <= 0 || r.start + r.count > srcRows)) {
    throw new WeightMismatch(plan.name, `rows ${JSON.stringify(plan.ranges)} of ${src.name}`, `${srcRows} rows`);
  }
  const shape = src.shape.length <= 1 ? [...src.shape] : [rows, ...src.shape.slice(1)];
  const inOrder = plan.ranges.every((r, i) => i === 0 || r.start === (plan.ranges[i - 1] as RowRange).start + (plan.ranges[i - 1] as RowRange).count);
  const check = (r0: number, r1: number): void => {
    if (!(Number.isInteger(r0) && Number.isInteger(r1) && 0 <= r0 && r0 < r1 && r1 <= rows)) {
      throw new Error(`${plan.name}: invalid rows [${r0}, ${r1}) of ${rows}`);
    }
  };
  const { lossless } = src;
  return {
    ...(lossless && {
      lossless: {
        format: lossless.format,
        group: lossless.group,
        repack(bytes: Uint8Array, r0: number, r1: number): Uint8Array {
          check(r0, r1);
          // the rows in plan order, then repacked as one [r1 − r0, cols] tensor
          const { lo, hi, segs } = pieces(plan, r0, r1);
          const rb = src.rowByteLength;
          if (bytes.length !== (hi - lo) * rb) throw new WeightMismatch(plan.name, `${(hi - lo) * rb} bytes for rows [${r0}, ${r1})`, `${bytes.length}`);
          const rows = new Uint8Array((r1 - r0) * rb);
          for (const s of segs) rows.set(bytes.subarray((s.src - lo) * rb, (s.src - lo + s.count) * rb), s.dst * rb);
          return lossless.repackRows(rows, r1 - r0);
        },
      },
    }),
    name: plan.name,
    shape,
    sourceDtype: src.sourceDtype,
    plainDtype: inOrder ? src.plainDtype : null,
    rowBytes(r0, r1) {
      check(r0, r1);
      const { lo, hi } = pieces(plan, r0, r1);
      return { file: src.file, start: src.start + lo * src.rowByteLength, end: src.start + hi * src.rowByteLength };
    },
    decode(bytes, r0, r1) {
      check(r0, r1);
      const { lo, hi, segs } = pieces(plan, r0, r1);
      const want = (hi - lo) * src.rowByteLength;
      if (bytes.length !== want) throw new WeightMismatch(plan.name, `${want} bytes for rows [${r0}, ${r1})`, `${bytes.length}`);
      const { cols } = rowsCols(src.shape);
      const out = new Float32Array((r1 - r0) * cols);
      for (const s of segs) {
        const at = (s.src - lo) * src.rowByteLength;
        out.set(src.decodeRows(bytes.subarray(at, at + s.count * src.rowByteLength), s.src, s.count), s.dst * cols);
      }
      return out;
    },
  };
}

/** One plan taking all rows of `source` unchanged. */
export function renamePlan(name: string, source: string, rows: number): TensorPlan {
  return { name, source, ranges: [{ start: 0, count: rows }] };
}

/** BFL → diffusers renames outside the blocks (final_layer.adaLN_modulation.1 is handled apart). */
const GLOBAL_RENAMES: Readonly<Record<string, string>> = {
  'img_in.weight': 'x_embedder.weight',
  'txt_in.weight': 'context_embedder.weight',
  'time_in.in_layer.weight': 'time_guidance_embed.timestep_embedder.linear_1.weight',
  'time_in.out_layer.weight': 'time_guidance_embed.timestep_embedder.linear_2.weight',
  'double_stream_modulation_img.lin.weight': 'double_stream_modulation_img.linear.weight',
  'double_stream_modulation_txt.lin.weight': 'double_stream_modulation_txt.linear.weight',
  'single_stream_modulation.lin.weight': 'single_stream_modulation.linear.weight',
  'final_layer.linear.weight': 'proj_out.weight',
};
const FINAL_ADALN = 'final_layer.adaLN_modulation.1.weight';

/** Inside `double_blocks.{i}.` → `transformer_blocks.{i}.`; a triple is a fused qkv split by rows. */
const DOUBLE_RENAMES: Readonly<Record<string, string | readonly [string, string, string]>> = {
  'img_attn.qkv.weight': ['attn.to_q.weight', 'attn.to_k.weight', 'attn.to_v.weight'],
  'img_attn.norm.query_norm.scale': 'attn.norm_q.weight',
  'img_attn.norm.key_norm.scale': 'attn.norm_k.weight',
  'img_attn.proj.weight': 'attn.to_out.0.weight',
  'img_mlp.0.weight': 'ff.linear_in.weight',
  'img_mlp.2.weight': 'ff.linear_out.weight',
  'txt_attn.qkv.weight': ['attn.add_q_proj.weight', 'attn.add_k_proj.weight', 'attn.add_v_proj.weight'],
  'txt_attn.norm.query_norm.scale': 'attn.norm_added_q.weight',
  'txt_attn.norm.key_norm.scale': 'attn.norm_added_k.weight',
  'txt_attn.proj.weight': 'attn.to_add_out.weight',
  'txt_mlp.0.weight': 'ff_context.linear_in.weight',
  'txt_mlp.2.weight': 'ff_context.linear_out.weight',
};

/** Inside `single_blocks.{j}.` → `single_transformer_blocks.{j}.`. */
const SINGLE_RENAMES: Readonly<Record<string, string>> = {
  'linear1.weight': 'attn.to_qkv_mlp_proj.weight',
  'linear2.weight': 'attn.to_out.weight',
  'norm.query_norm.scale': 'attn.norm_q.weight',
  'norm.key_norm.scale': 'attn.norm_k.weight',
};

/** Number of blocks `prefix.{i}.` present (1 + the largest index; 0 when none). */
function blockCount(names: Iterable<string>, prefix: string): number {
  let n = 0;
  const re = new RegExp(`^${prefix}\\.(\\d+)\\.`);
  for (const name of names) {
    const m = re.exec(name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/**
 * Plans every diffusers Flux2Transformer2DModel tensor from BFL-named file tensors. `rows` maps
 * each prefix-stripped file name to its row count (first dimension). The block counts come from
 * the highest `double_blocks.{i}` / `single_blocks.{j}` index. Throws InvalidInput naming `file`
 * and listing every missing BFL tensor, or any tensor that is not part of FLUX.2 (e.g. the biases
 * of FLUX.1, a guidance embedder); WeightMismatch when a fused tensor's rows do not split.
 */
export function flux2Plans(rows: ReadonlyMap<string, number>, file: string): TensorPlan[] {
  const names = [...rows.keys()];
  const nDouble = blockCount(names, 'double_blocks');
  const nSingle = blockCount(names, 'single_blocks');
  const expected = new Map<string, string | readonly string[]>(Object.entries(GLOBAL_RENAMES));
  expected.set(FINAL_ADALN, 'norm_out.linear.weight');
  for (let i = 0; i < nDouble; i++) {
    for (const [k, v] of Object.entries(DOUBLE_RENAMES)) {
      expected.set(`double_blocks.${i}.${k}`, typeof v === 'string' ? `transformer_blocks.${i}.${v}` : v.map((s) => `transformer_blocks.${i}.${s}`));
    }
  }
  for (let j = 0; j < nSingle; j++) {
    for (const [k, v] of Object.entries(SINGLE_RENAMES)) expected.set(`single_blocks.${j}.${k}`, `single_transformer_blocks.${j}.${v}`);
  }
  const missing = [...expected.keys()].filter((n) => !rows.has(n));
  const unexpected = names.filter((n) => !expected.has(n));
  if (nDouble === 0 || nSingle === 0 || missing.length > 0 || unexpected.length > 0) {
    throw new InvalidInput(
      `${file}: not a FLUX.2 transformer in BFL naming (${nDouble} double and ${nSingle} single blocks found)` +
        (missing.length ? `; missing ${missing.length} tensors: ${missing.join(', ')}` : '') +
        (unexpected.length ? `; unexpected tensors: ${unexpected.join(', ')}` : ''),
    );
  }
  const plans: TensorPlan[] = [];
  for (const [source, target] of expected) {
    const r = rows.get(source) as number;
    if (typeof target === 'string') {
      plans.push(source === FINAL_ADALN ? swapHalves(target, source, r) : renamePlan(target, source, r));
      continue;
    }
    if (r % 3 !== 0) throw new WeightMismatch(source, 'rows divisible by 3 (fused q, k, v)', `${r}`);
    target.forEach((name, k) => plans.push({ name, source, ranges: [{ start: (k * r) / 3, count: r / 3 }] }));
  }
  return plans;
}

/** BFL final layer (shift; scale) rows → diffusers norm_out.linear (scale; shift). */
function swapHalves(name: string, source: string, rows: number): TensorPlan {
  if (rows % 2 !== 0) throw new WeightMismatch(source, 'an even number of rows (shift, scale)', `${rows}`);
  return { name, source, ranges: [{ start: rows / 2, count: rows / 2 }, { start: 0, count: rows / 2 }] };
}
