/**
 * Weights with a format and a size but no values, for planning (the plan backend,
 * src/pipeline/plan.ts): every tensor is stored as `formatOf` says — a loaded model's own formats
 * (WeightGetter.storageFormat), or as quantizing to `quant` stores them (`uniformFormats`) — from one
 * shared zero-filled scratch array, so a plan of the 4B model makes no 8 GB of host data. Token
 * embedding rows are zeros.
 */
import type { Ops } from '../ops/ops';
import { numel } from '../util/assert';
import { BYTES_PER_ELEMENT, type QuantFormat } from '../util/dtype';
import { isQuantLayoutFormat, quantLayout } from '../util/quant';
import type { StorageFormat, TokenEmbedding, WeightGetter } from './weightGetter';
import { quantFormatFor } from './quantRule';
import type { Component } from './sourceTensor';

/**
 * The formats of `component`'s weights in a model quantized to `quant`, as quantize-on-load and a
 * q4/q8 pack store them (quantRule.ts `quantFormatFor`: 2-D weights `quant`, in q4 the transformer's
 * sensitive ones q8); everything else, and everything when `quant` is absent, bf16.
 */
export function uniformFormats(): FormatOf;
export function uniformFormats(quant: QuantFormat | undefined, component: Component): FormatOf;
export function uniformFormats(quant?: QuantFormat, component: Component = 'vae'): FormatOf {
  return (name, shape) => ({ format: (quant && quantFormatFor(component, name, shape, quant)) ?? 'bf16' });
}

/** A weight's storage format by name and shape. */
type FormatOf = (name: string, shape: readonly number[]) => StorageFormat;

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
    const bytes = isQuantLayoutFormat(format) ? quantLayout(format, shape[0] as number, shape[1] as number, group).byteLength : BYTES_PER_ELEMENT[format] * numel(shape);
    this.loadedBytes += bytes;
    return this.ops.weight(zeroBytes(bytes), format, shape, name, group);
  }

  tokenEmbedding(_name: string, shape: readonly [number, number]): TokenEmbedding {
    return { shape, rows: async (ids) => new Float32Array(ids.length * shape[1]) };
  }
}
