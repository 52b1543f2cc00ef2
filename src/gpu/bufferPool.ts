/**
 * The device-memory rules of GpuContext, apart from the device: activation buffers are pooled by
 * exact byte size (a released buffer waits for the next request of its size), free buffers beyond
 * `limitBytes` are destroyed longest-free first, and every byte is accounted for — live tensors
 * (weights + activations in use), persistent (weight) buffers, pooled buffers (in use or free),
 * and the peaks of each. Generic over the buffer type, so a backend that allocates nothing can
 * replay the same rules with placeholders and report the same numbers.
 */

/** What the pool needs of a buffer: its size in bytes and a way to free it. */
export interface PooledBuffer {
  readonly size: number;
  destroy(): void;
}

export class BufferPool<B extends PooledBuffer> {
  private readonly free = new Map<number, B[]>();
  /** Free buffers in the order they were released. */
  private readonly freeOrder: B[] = [];
  /** Bytes of the free buffers now. */
  freeBytes = 0;
  /** Bytes of the activation buffers this pool made and has not destroyed (in use or free). */
  pooledBytes = 0;
  /** Bytes of the persistent (weight) buffers now. */
  persistentBytes = 0;
  /** The largest buffer made so far (activation or persistent): what maxBufferSize must allow. */
  maxBufferBytes = 0;
  /** Bytes of live tensors now: weights + activations in use (not the free buffers). */
  liveBytes = 0;
  /** Peak of `liveBytes` since the last `resetPeak`. */
  peakBytes = 0;
  /**
   * Peaks since the last `resetStagePeak` (one pipeline stage): `live` of `liveBytes`, `allocated`
   * of all device buffers, `persistentBytes + pooledBytes` (free buffers included: what the device
   * really holds; staging and uniform buffers excluded).
   */
  stagePeak = { live: 0, allocated: 0 };
  /**
   * Free buffers beyond this many bytes are destroyed, the longest-free first (low-memory mode: the
   * pool otherwise keeps every size class a stage ever used); default: keep them all.
   */
  limitBytes = Infinity;

  /**
   * @param make creates a buffer of `bytes` (throws when the device cannot)
   * @param beforeDestroy runs before buffers are destroyed (GpuContext: submit the commands that may still use them)
   */
  constructor(
    private readonly make: (bytes: number, label: string) => B,
    private readonly beforeDestroy: () => void = () => {},
  ) {}

  /** A buffer of exactly `bytes` for an activation: a free one of that size, else a new one. Not yet live (see `track`). */
  take(bytes: number, label: string): B {
    const reused = this.free.get(bytes)?.pop();
    if (reused) {
      this.freeOrder.splice(this.freeOrder.lastIndexOf(reused), 1);
      this.freeBytes -= bytes;
      return reused;
    }
    const b = this.make(bytes, label);
    this.pooledBytes += bytes;
    this.maxBufferBytes = Math.max(this.maxBufferBytes, bytes);
    this.noteAllocated();
    return b;
  }

  /** Returns an activation buffer to the pool (evicting beyond `limitBytes`). */
  give(b: B): void {
    const list = this.free.get(b.size);
    if (list) list.push(b);
    else this.free.set(b.size, [b]);
    this.freeOrder.push(b);
    this.freeBytes += b.size;
    if (this.freeBytes > this.limitBytes) this.evict();
  }

  /** Destroys free buffers, the longest-free first, until at most `limitBytes` are kept. */
  private evict(): void {
    this.beforeDestroy();
    while (this.freeBytes > this.limitBytes) {
      const b = this.freeOrder.shift() as B;
      const list = this.free.get(b.size) as B[];
      list.splice(list.indexOf(b), 1);
      this.freeBytes -= b.size;
      this.pooledBytes -= b.size;
      b.destroy();
    }
  }

  /** Destroys every free buffer (after a run, or between low-memory stages). */
  trim(): void {
    this.beforeDestroy();
    for (const list of this.free.values()) {
      for (const b of list) {
        this.pooledBytes -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
    this.freeOrder.length = 0;
    this.freeBytes = 0;
  }

  /** A persistent (weight) buffer of `bytes` was created (+) or destroyed (−). */
  persistent(bytes: number): void {
    this.persistentBytes += bytes;
    if (bytes > 0) {
      this.maxBufferBytes = Math.max(this.maxBufferBytes, bytes);
      this.noteAllocated();
    }
  }

  /** A tensor of `bytes` became live (+) or was released (−). */
  live(bytes: number): void {
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    if (this.liveBytes > this.stagePeak.live) this.stagePeak.live = this.liveBytes;
  }

  private noteAllocated(): void {
    this.stagePeak.allocated = Math.max(this.stagePeak.allocated, this.persistentBytes + this.pooledBytes);
  }

  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  /** Starts a new stage for `stagePeak` (at the current live and allocated bytes). */
  resetStagePeak(): void {
    this.stagePeak = { live: this.liveBytes, allocated: this.persistentBytes + this.pooledBytes };
  }
}
