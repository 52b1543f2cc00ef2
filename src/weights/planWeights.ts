/**
 * Weights with a format and a size but no values, for planning (the plan backend,
 * src/pipeline/plan.ts): every tensor is stored as `formatOf` says — a loaded model's own formats
 * (WeightGetter.storageFormat), or uniformly `quant` for 2-D weights and bf16 for the rest — from one
 * shared zero-filled scratch array, so a plan of the 4B model makes no 8 GB of host data. Token
 * embedding rows are zeros.
 */
import type { Ops } from '../ops/ops';
import { numel } from '../util/assert';
import { BYTES_PER_ELEMENT, type QuantFormat } from '../util/dtype';
import { isQuantFormat, quantLayout } from '../util/quant';
import type { StorageFormat, TokenEmbedding, WeightGetter } from './weightGetter';

/** 2-D weights in `quant` (as quantize-on-load or a q4/q8 pack stores them), everything else bf16. */
export function uniformFormats(quant?: QuantFormat): (name: string, shape: readonly number[]) => StorageFormat {
  return (_name, shape) => ({ format: quant && shape.length === 2 ? quant : 'bf16' });
}

let zeros = new Uint8Array(0);

/** A zero-filled view of `bytes` bytes (shared; never written). */
function zeroBytes(bytes: number): Uint8Array {
  if (zeros.length < bytes) zeros = new Uint8Array(Math.max(bytes, 2 * zeros.length));
  return zeros.subarray(0, bytes);
}

export class PlanWeights<T> implements WeightGetter<T> {
  /** Bytes of the tensors made so far (in their storage formats). */
  loadedBytes = 0;

  /** @param formatOf each tensor's storage format; default `uniformFormats()` (all bf16) */
  constructor(
    private readonly ops: Ops<T>,
    private readonly formatOf: (name: string, shape: readonly number[]) => StorageFormat = uniformFormats(),
  ) {}

  async get(name: string, shape: readonly number[]): Promise<T> {
    const { format, group } = this.formatOf(name, shape);
    const bytes = isQuantFormat(format) ? quantLayout(format, shape[0] as number, shape[1] as number, group).byteLength : BYTES_PER_ELEMENT[format] * numel(shape);
    this.loadedBytes += bytes;
    return this.ops.weight(zeroBytes(bytes), format, shape, name, group);
  }

  tokenEmbedding(_name: string, shape: readonly [number, number]): TokenEmbedding {
    return { shape, rows: async (ids) => new Float32Array(ids.length * shape[1]) };
  }
}
