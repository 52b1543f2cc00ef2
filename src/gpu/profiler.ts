/**
 * Per-kernel GPU time from 'timestamp-query' (benchmarks only). GpuContext puts every dispatch in
 * its own compute pass whose `timestampWrites` take the next query pair; at each flush the pairs
 * written so far are resolved and copied to a fresh staging buffer, mapped asynchronously after
 * the submit, and summed per pipeline label (= shader entry point). `settle` awaits those maps.
 * Timestamps may be quantised by the implementation (Dawn: 2^16 ns unless the toggle
 * `timestamp_quantization` is off, as node.ts does; Chrome: 100 µs without developer features), so
 * in the browser short kernels read coarse.
 */
import { assert } from '../util/assert';

export interface KernelTime {
  ms: number;
  count: number;
}

export class GpuProfiler {
  /** GPU time per entry point since creation or `reset`. */
  readonly kernels = new Map<string, KernelTime>();
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private labels: string[] = [];
  private readonly pending: Promise<void>[] = [];

  /** @param capacity dispatches per submit (2 queries each). */
  constructor(
    private readonly device: GPUDevice,
    readonly capacity = 1024,
  ) {
    assert(device.features.has('timestamp-query'), 'profiling needs the timestamp-query feature');
    this.querySet = device.createQuerySet({ label: 'profiler', type: 'timestamp', count: 2 * capacity });
    this.resolveBuffer = device.createBuffer({
      label: 'profiler-resolve',
      size: 2 * capacity * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** No query pair left: the context must flush before the next dispatch. */
  get full(): boolean {
    return this.labels.length === this.capacity;
  }

  /** The timestampWrites for the pass of the next dispatch, a kernel of entry point `entry`. */
  next(entry: string): GPUComputePassTimestampWrites {
    assert(!this.full, 'profiler: query set full (flush first)');
    const i = this.labels.length;
    this.labels.push(entry);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /**
   * Encodes the resolve of the pairs written so far into `encoder` (call just before `finish`);
   * returns what to run right after the submit (starts the map), or null when nothing was written.
   */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const labels = this.labels;
    if (!labels.length) return null;
    this.labels = [];
    const bytes = labels.length * 16;
    encoder.resolveQuerySet(this.querySet, 0, 2 * labels.length, this.resolveBuffer, 0);
    const staging = this.device.createBuffer({ label: 'profiler-readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, bytes);
    return () => {
      this.pending.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigUint64Array(staging.getMappedRange());
          labels.forEach((entry, i) => {
            const ns = Number((t[2 * i + 1] as bigint) - (t[2 * i] as bigint));
            const k = this.kernels.get(entry) ?? { ms: 0, count: 0 };
            k.ms += Math.max(0, ns) / 1e6;
            k.count++;
            this.kernels.set(entry, k);
          });
          staging.unmap();
          staging.destroy();
        }),
      );
    };
  }

  /** Waits until every submitted batch has been read into `kernels`. */
  async settle(): Promise<void> {
    while (this.pending.length) await Promise.all(this.pending.splice(0));
  }

  reset(): void {
    this.kernels.clear();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
