/**
 * One pipeline stage's weights (text encoder, transformer, VAE decoder, VAE encoder) and when they
 * are on the GPU: from their first use to dispose (normal mode), or read at the start of the stage
 * and freed at its end (low-memory mode, LoadOptions.lowMemory), so that only one stage's weights are
 * ever resident.
 */
import { type Ops, releaseAll } from '../ops/ops';
import type { StorageFormat, WeightGetter } from '../weights/weightGetter';

/**
 * Low-memory mode's cap on free pool buffers (Ops.setReuseLimit). Without one, the pool keeps every
 * size class a stage used: klein 4B q4 at 1024² (mock-device run of the GpuContext accounting,
 * peak live 3.41 GiB) holds 4.38 GiB of buffers while denoising and 5.02 GiB while decoding. With
 * 256 MiB: 3.48 / 2.60 GiB for ≈ 400 more buffer creations per run (512 MiB: 3.76 / 2.60; 0: 3.41 / 2.59,
 * but a new buffer for every op).
 */
export const LOW_MEMORY_REUSE_BYTES = 256 * 2 ** 20;

export class StageWeights<T, W> {
  private weights: W | null = null;
  /** Bytes the last load read through the source. */
  lastLoadBytes = 0;

  /**
   * @param folder the component's repo folder ('text_encoder' | 'transformer' | 'vae'), for progress
   * @param load the model loader (loadQwen3, loadTransformer, loadDecoder) over a getter
   * @param bytes what one load reads, for progress totals; 0 when not known ahead (random weights)
   */
  constructor(
    private readonly ops: Ops<T>,
    readonly folder: string,
    private readonly source: WeightGetter<T>,
    private readonly load: (w: WeightGetter<T>) => Promise<W>,
    readonly bytes: number,
    readonly lowMemory: boolean,
  ) {}

  /**
   * The weights, read now unless resident; `onBytes(loadedBytes, name)` after each tensor of this
   * load. A failed load frees what it had read and rethrows.
   */
  async acquire(onBytes?: (loadedBytes: number, name: string) => void): Promise<W> {
    if (this.weights) return this.weights;
    const { source } = this;
    const start = source.loadedBytes;
    const made: T[] = [];
    const counting: WeightGetter<T> = {
      get loadedBytes() {
        return source.loadedBytes;
      },
      get: async (name, shape) => {
        const t = await source.get(name, shape);
        made.push(t);
        onBytes?.(source.loadedBytes - start, name);
        return t;
      },
      tokenEmbedding: (name, shape) => source.tokenEmbedding(name, shape),
    };
    try {
      this.weights = await this.load(counting);
    } catch (e) {
      for (const t of made) this.ops.release(t);
      throw e;
    }
    this.lastLoadBytes = source.loadedBytes - start;
    return this.weights;
  }

  /** The storage format of a tensor of this stage (the source's storageFormat; bf16 when it has none). */
  readonly formatOf = (name: string, shape: readonly number[]): StorageFormat => this.source.storageFormat?.(name, shape) ?? { format: 'bf16' };

  /** Low-memory mode: frees the weights and the buffer pool's free buffers (no-op in normal mode). */
  release(): void {
    if (this.lowMemory && this.weights) {
      this.dispose();
      this.ops.trim();
    }
  }

  /** Frees the weights in either mode (Pipeline.dispose). */
  dispose(): void {
    if (this.weights) releaseAll(this.ops, this.weights);
    this.weights = null;
  }
}

/**
 * `w` noting which tensor each name gave into `names` (cleared first: a low-memory reload makes new
 * tensors), so that LoRA terms keyed by checkpoint name find their weight tensors.
 */
export function recordNames<T>(w: WeightGetter<T>, names: Map<T, string>): WeightGetter<T> {
  names.clear();
  return {
    get loadedBytes() {
      return w.loadedBytes;
    },
    get: async (name, shape) => {
      const t = await w.get(name, shape);
      names.set(t, name);
      return t;
    },
    tokenEmbedding: (name, shape) => w.tokenEmbedding(name, shape),
  };
}
