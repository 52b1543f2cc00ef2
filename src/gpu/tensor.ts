/**
 * The plain types and helpers of the GPU layer that carry no device state: GpuTensor, shader and
 * dispatch descriptions, buffer sizes, 1-D grids. GpuContext (context.ts) re-exports them.
 */
import { BYTES_PER_ELEMENT, type DType, type WeightFormat } from '../util/dtype';

/** A device buffer with a logical shape. bf16/f16 elements are packed two per u32 word. */
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  /** Activations are f32 (or f16 where an op stores them so); weights keep their storage format (q8/q4/q8m: raw bytes, see util/quant.ts). */
  readonly dtype: WeightFormat;
  /** Quantized (q8/q4/q8m) weights: weights per scale, quant.ts G (absent: QUANT_GROUP). */
  readonly group?: number;
  readonly label: string;
  /** Set when the buffer went back to the pool; using it afterwards is a bug. */
  released?: boolean;
  /** Uploaded weights are persistent: no scope releases them. */
  readonly persistent?: boolean;
}

/**
 * One WGSL file: `file` is its name under shaders/, `code` its text (imported with `?raw`).
 * `subgroupCode`: the same kernel using subgroup operations (shaderVariants.ts), which a context
 * with `subgroups` compiles instead of `code`; same entry point, bindings and dispatch.
 */
export interface Shader {
  readonly file: string;
  readonly code: string;
  readonly subgroupCode?: string;
}

/** A uniform field: plain numbers are u32; wrap floats and signed ints. */
export type Param = number | { f32: number } | { i32: number };

export interface DispatchArgs {
  shader: Shader;
  constants?: Record<string, number>;
  bindings: readonly GpuTensor[];
  params?: readonly Param[];
  workgroups: readonly [number, number?, number?];
  /** Arithmetic of the dispatch (multiply-add = 2) for rooflines; omit for memory-bound kernels. */
  flops?: number;
  /** Bytes it must read + write at least; default: every distinct binding's buffer once. */
  bytes?: number;
}

/** What GpuContext tells its `recorder` about one dispatch or buffer copy (plans, bytes per kernel). */
export interface DispatchRecord {
  /** The shader's entry point (its file name without `.wgsl`); 'copyBufferToBuffer' for a copy. */
  entry: string;
  /** A copyBufferToBuffer (moves bytes, is not a dispatch). */
  copy: boolean;
  workgroups: readonly [number, number, number];
  flops: number;
  bytes: number;
  /** The largest buffer bound (GpuContext binds whole buffers): what maxStorageBufferBindingSize must allow. */
  maxBindingBytes: number;
}

/** Byte size of `n` elements of `dtype`, rounded up to whole u32 words (WGSL reads words). */
export function storageBytes(n: number, dtype: DType): number {
  return Math.max(16, Math.ceil((n * BYTES_PER_ELEMENT[dtype]) / 16) * 16);
}

/** Workgroup grid for `n` threads in 1-D groups of `size`, folded into y beyond 65535 groups. */
export function grid1d(n: number, size: number): [number, number] {
  const groups = Math.ceil(n / size);
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}
