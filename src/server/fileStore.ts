/**
 * The images behind `response_format: "url"`: kept in memory under a random 128-bit id for
 * `ttlMs`, then gone (GET /v1/images/files/:id answers 404). The id is the only secret, as in a
 * signed URL, so an `<img src>` can fetch it without the API key. The total is capped: the oldest
 * files go first when a new one would pass `maxBytes`.
 */
import { randomBytes } from 'node:crypto';

export interface StoredFile {
  bytes: Uint8Array;
  mediaType: string;
  /** Unix ms after which the file is gone. */
  expires: number;
}

export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private bytes = 0;
  private readonly sweeper: NodeJS.Timeout;

  /** `ttlMs`: how long a file is kept; `maxBytes`: the most all files may hold together. */
  constructor(
    readonly ttlMs: number,
    readonly maxBytes = 1024 ** 3,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(ttlMs, 60_000)));
    this.sweeper.unref();
  }

  /** Stores `bytes`; returns the file's name: `<32 hex digits>.<ext>`. */
  put(bytes: Uint8Array, mediaType: string, ext: string): string {
    const name = `${randomBytes(16).toString('hex')}.${ext}`;
    while (this.bytes + bytes.length > this.maxBytes && this.files.size > 0) {
      const [oldest] = this.files.keys();
      this.remove(oldest as string);
    }
    this.files.set(name, { bytes, mediaType, expires: this.now() + this.ttlMs });
    this.bytes += bytes.length;
    return name;
  }

  /** The file, or undefined when unknown or expired. */
  get(name: string): StoredFile | undefined {
    const f = this.files.get(name);
    if (f && f.expires <= this.now()) {
      this.remove(name);
      return undefined;
    }
    return f;
  }

  get size(): number {
    return this.files.size;
  }

  private remove(name: string): void {
    const f = this.files.get(name);
    if (!f) return;
    this.files.delete(name);
    this.bytes -= f.bytes.length;
  }

  private sweep(): void {
    const t = this.now();
    for (const [name, f] of this.files) if (f.expires <= t) this.remove(name);
  }

  dispose(): void {
    clearInterval(this.sweeper);
    this.files.clear();
    this.bytes = 0;
  }
}
