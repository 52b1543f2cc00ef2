/**
 * Weights with a format and a size but no values, for planning (the plan backend, src/cli/plan.ts):
 * every tensor is stored as a real checkpoint would store it — 2-D weights in `quant` when given,
 * everything else bf16 — from one shared zero-filled scratch array, so a plan of the 4B model
 * makes no 8 GB of host data. Token embedding rows are zeros.
 */
import type { Ops } from '../ops/ops';
import { numel } from '../util/assert';
import type { QuantFormat } from '../util/dtype';
import { quantLayout } from '../util/quant';
import type { TokenEmbedding, WeightGetter } from './weightGetter';

let zeros = new Uint8Array(0);

/** A zero-filled view of `bytes` bytes (shared; never written). */
function zeroBytes(bytes: number): Uint8Array {
  if (zeros.length < bytes) zeros = new Uint8Array(Math.max(bytes, 2 * zeros.length));
  return zeros.subarray(0, bytes);
}

export class PlanWeights<T> implements WeightGetter<T> {
  /** Bytes of the tensors made so far (in their storage formats). */
  loadedBytes = 0;

  /** @param quant format of 2-D weights (as WeightLoader's quantize-on-load / a pack); none: bf16 */
  constructor(
    private readonly ops: Ops<T>,
    private readonly quant?: QuantFormat,
  ) {}

  async get(name: string, shape: readonly number[]): Promise<T> {
    if (this.quant && shape.length === 2) {
      const bytes = quantLayout(this.quant, shape[0] as number, shape[1] as number).byteLength;
      this.loadedBytes += bytes;
      return this.ops.weight(zeroBytes(bytes), this.quant, shape, name);
    }
    const bytes = 2 * numel(shape);
    this.loadedBytes += bytes;
    return this.ops.weight(zeroBytes(bytes), 'bf16', shape, name);
  }

  tokenEmbedding(_name: string, shape: readonly [number, number]): TokenEmbedding {
    return { shape, rows: async (ids) => new Float32Array(ids.length * shape[1]) };
  }
}
