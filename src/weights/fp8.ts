/**
 * The FP8 single-file FLUX.2 transformer (black-forest-labs/FLUX.2-klein-4b-fp8:
 * `flux-2-klein-4b-fp8.safetensors`, 4,070,624,520 B) as SourceTensors in diffusers names.
 *
 * Format (ComfyUI "scaled fp8", comfyanonymous/ComfyUI QUANTIZATION.md @7f75cc2b): BFL tensor
 * names (optionally under `model.diffusion_model.`); a quantized linear stores `X.weight` as
 * F8_E4M3 plus an F32 scalar `X.weight_scale` (older files: `X.scale_weight`), and dequantizes as
 * `weight.to(dtype) * weight_scale`; `X.input_scale` / `X.scale_input` (activation scales) and
 * `X.comfy_quant` (per-layer format JSON) are not needed for weight-only use and are skipped. The
 * file size fits per-tensor scales: the 80 block linears (3,680,501,760 weights) at 1 B plus the
 * embedders, modulations and final layer (195,035,136 weights) and 7,680 norm weights at 2 B make
 * 4,070,587,392 B, leaving 37 KB for the header and scalars (per-row scales would add 3.8 MB).
 * A weight without a scale tensor (plain fp8 casts) has scale 1; a per-row scale ([rows] or
 * [rows, 1]) is accepted too. Everything else (BF16/F16/F32) passes through unchanged.
 *
 * float8_e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits, no infinities; S.1111.111 is NaN;
 * max 0x7E = 1.75·2⁸ = 448; smallest subnormal 0x01 = 2⁻⁹. float8_e5m2: IEEE-like, bias 15,
 * exponent 31 = Inf (mantissa 0) / NaN.
 */
import { InvalidInput, WeightMismatch } from '../errors';
import { fmtShape, numel } from '../util/assert';
import { decodeToF32 } from '../util/dtype';
import { type RowSource, flux2Plans, planTensor, stripPrefix } from './bflNames';
import { type TensorInfo, readSafetensorsHeader } from './safetensors';
import type { FileSource } from './source';
import { type SourceTensor, rowsCols } from './sourceTensor';

/** float8_e4m3fn byte → value (exact). */
export function e4m3ToF32(b: number): number {
  const s = b & 0x80 ? -1 : 1;
  const e = (b >> 3) & 15;
  const m = b & 7;
  if (e === 15 && m === 7) return NaN;
  return s * (e === 0 ? m * 2 ** -9 : (1 + m / 8) * 2 ** (e - 7));
}

/** float8_e5m2 byte → value (exact). */
export function e5m2ToF32(b: number): number {
  const s = b & 0x80 ? -1 : 1;
  const e = (b >> 2) & 31;
  const m = b & 3;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (e === 0 ? m * 2 ** -16 : (1 + m / 4) * 2 ** (e - 15));
}

const table = (f: (b: number) => number): Float32Array => Float32Array.from({ length: 256 }, (_, b) => f(b));
const FP8_TABLES: Readonly<Record<string, Float32Array>> = { F8_E4M3: table(e4m3ToF32), F8_E5M2: table(e5m2ToF32) };
const PLAIN = { BF16: 'bf16', F16: 'f16', F32: 'f32' } as const;

/** Name suffixes of a weight's scale, and of tensors that weight-only dequantization does not need. */
const SCALE_SUFFIXES = ['.weight_scale', '.scale_weight'];
const SKIPPED_SUFFIXES = ['.input_scale', '.scale_input', '.comfy_quant'];
const SKIPPED_NAMES = new Set(['scaled_fp8']);
/** Scaling schemes this reader does not implement (NVFP4 double scales, smoothing, block-wise inverse). */
const UNSUPPORTED_SUFFIXES = ['.weight_scale_2', '.pre_quant_scale', '.weight_scale_inv'];

/** Requests closer than this are merged when reading the (tiny, scattered) scale tensors. */
const SCALE_READ_GAP = 64 * 1024;

/** Values of small tensors (scales), read with few requests (ranges closer than SCALE_READ_GAP merged). */
async function readSmall(src: FileSource, path: string, infos: TensorInfo[]): Promise<Map<string, Float32Array>> {
  const sorted = [...infos].sort((a, b) => a.start - b.start);
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && (sorted[j] as TensorInfo).start - (sorted[j - 1] as TensorInfo).end <= SCALE_READ_GAP) j++;
    const group = sorted.slice(i, j);
    const base = (group[0] as TensorInfo).start;
    const bytes = await src.range(path, base, Math.max(...group.map((t) => t.end)));
    for (const t of group) {
      const dt = PLAIN[t.dtype as keyof typeof PLAIN];
      if (!dt) throw new WeightMismatch(t.name, 'a BF16, F16 or F32 scale', t.dtype);
      out.set(t.name, decodeToF32(bytes.subarray(t.start - base, t.end - base), dt));
    }
    i = j;
  }
  return out;
}

/** An fp8 or plain-float safetensors tensor as a RowSource; `scale` multiplies fp8 values (1 value or one per row). */
function fp8RowSource(t: TensorInfo, scale: Float32Array | undefined): RowSource {
  const { rows, cols } = rowsCols(t.shape);
  const plain = PLAIN[t.dtype as keyof typeof PLAIN];
  const fp8 = FP8_TABLES[t.dtype];
  if (!plain && !fp8) throw new WeightMismatch(`${t.name} (${t.file})`, 'dtype F8_E4M3, F8_E5M2, BF16, F16 or F32', t.dtype);
  if (scale && !fp8) throw new WeightMismatch(`${t.name} (${t.file})`, 'an F8 tensor (it has a weight_scale)', t.dtype);
  if (scale && scale.length !== 1 && scale.length !== rows) {
    throw new WeightMismatch(`${t.name} scale`, `1 value or ${rows} (one per row)`, `${scale.length}`);
  }
  const rowByteLength = (t.end - t.start) / rows;
  return {
    name: t.name,
    shape: t.shape,
    sourceDtype: t.dtype,
    plainDtype: plain ?? null,
    file: t.file,
    start: t.start,
    rowByteLength,
    decodeRows(bytes, row0, n) {
      if (bytes.length !== n * rowByteLength) throw new WeightMismatch(t.name, `${n * rowByteLength} bytes`, `${bytes.length}`);
      if (!fp8) return decodeToF32(bytes, plain as 'bf16' | 'f16' | 'f32');
      const out = new Float32Array(n * cols);
      for (let r = 0; r < n; r++) {
        const s = scale ? (scale.length === 1 ? (scale[0] as number) : (scale[row0 + r] as number)) : 1;
        for (let c = 0; c < cols; c++) out[r * cols + c] = (fp8[bytes[r * cols + c] as number] as number) * s;
      }
      return out;
    },
  };
}

/**
 * Every Flux2Transformer2DModel tensor, in diffusers names and shapes, from the BFL-named fp8
 * (or bf16) single-file safetensors `path` of `src`: fp8 weights decode as fp8 × weight_scale,
 * fused qkv split and the final AdaLN halves swapped (bflNames.ts). Reads the header and the scale
 * tensors only. Errors: InvalidInput (missing or unexpected tensors, a scale without its weight),
 * WeightMismatch (unsupported dtype or scaling scheme, a scale of the wrong size).
 */
export async function openFp8Tensors(src: FileSource, path: string): Promise<SourceTensor[]> {
  const file = `${src.id}/${path}`;
  const header = await readSafetensorsHeader(src, path);
  const weights = new Map<string, TensorInfo>();
  const scaleOf = new Map<string, TensorInfo>();
  for (const [raw, t] of header) {
    const name = stripPrefix(raw);
    const unsupported = UNSUPPORTED_SUFFIXES.find((s) => name.endsWith(s));
    if (unsupported) throw new WeightMismatch(`${raw} (${file})`, 'per-tensor fp8 scales (weight_scale)', `a ${unsupported.slice(1)} tensor`);
    if (SKIPPED_NAMES.has(name) || SKIPPED_SUFFIXES.some((s) => name.endsWith(s))) continue;
    const sfx = SCALE_SUFFIXES.find((s) => name.endsWith(s));
    if (sfx) scaleOf.set(`${name.slice(0, -sfx.length)}.weight`, t);
    else weights.set(name, t);
  }
  const orphans = [...scaleOf.keys()].filter((w) => !weights.has(w));
  if (orphans.length > 0) throw new InvalidInput(`${file}: scales without a weight: ${orphans.join(', ')}`);
  for (const [w, s] of scaleOf) {
    const rows = rowsCols((weights.get(w) as TensorInfo).shape).rows;
    if (numel(s.shape) !== 1 && numel(s.shape) !== rows) throw new WeightMismatch(s.name, `1 or ${rows} values`, fmtShape(s.shape));
  }
  const scales = await readSmall(src, path, [...scaleOf.values()]);
  const plans = flux2Plans(new Map([...weights].map(([k, t]) => [k, rowsCols(t.shape).rows])), file);
  const sources = new Map<string, RowSource>();
  return plans.map((p) => {
    let s = sources.get(p.source);
    if (!s) {
      const scale = scaleOf.get(p.source);
      s = fp8RowSource(weights.get(p.source) as TensorInfo, scale ? scales.get(scale.name) : undefined);
      sources.set(p.source, s);
    }
    return planTensor(p, s);
  });
}
