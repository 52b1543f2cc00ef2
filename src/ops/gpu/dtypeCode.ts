/**
 * The code a shader's dtype override constant takes for a tensor's storage dtype
 * (f32 = 0, f16 = 1, bf16 = 2: the `decode`/`word_of` helpers of every weight-reading shader).
 * Errors: a quantized tensor where the kernel reads plain values (only linear and gemm take q8/q4/q8m).
 */
import type { GpuTensor } from '../../gpu/context';
import type { DType } from '../../util/dtype';
import { assert } from '../../util/assert';

const CODES: Readonly<Record<DType, number>> = { f32: 0, f16: 1, bf16: 2 };

export function dtypeCode(t: GpuTensor | null, what: string): number {
  if (!t) return CODES.f32;
  const code = CODES[t.dtype as DType];
  assert(code !== undefined, () => `${what}: ${t.label} is ${t.dtype}; this kernel reads f32/f16/bf16 only`);
  return code;
}
