/**
 * An in-memory FileSource for tests: files are byte arrays (JSON files as their bytes or as an
 * object), every call is counted so tests can assert how many requests and bytes a reader used.
 */
import { InvalidInput } from '../errors';
import type { FileSource } from '../weights/source';

export interface MemorySource extends FileSource {
  readonly files: Map<string, Uint8Array | object>;
  /** Range requests and bytes served since creation (or the last `resetStats`). */
  readonly stats: { ranges: number; bytes: number };
  resetStats(): void;
}

export function memorySource(files: Record<string, Uint8Array | object> | Map<string, Uint8Array | object>, id = 'memory'): MemorySource {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  const stats = { ranges: 0, bytes: 0 };
  const get = (p: string): Uint8Array | object => {
    const f = map.get(p);
    if (f === undefined) throw new InvalidInput(`file not found in model ${id}: ${p}`);
    return f;
  };
  const bytesOf = (p: string): Uint8Array => {
    const f = get(p);
    return f instanceof Uint8Array ? f : new TextEncoder().encode(JSON.stringify(f));
  };
  return {
    id,
    files: map,
    stats,
    resetStats() {
      stats.ranges = 0;
      stats.bytes = 0;
    },
    size: async (p) => bytesOf(p).length,
    range: async (p, s, e) => {
      const b = bytesOf(p);
      if (!(0 <= s && s <= e && e <= b.length)) throw new Error(`${id}/${p}: range [${s}, ${e}) outside ${b.length} bytes`);
      stats.ranges++;
      stats.bytes += e - s;
      return b.slice(s, e);
    },
    json: async <T>(p: string) => {
      const f = get(p);
      return (f instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(f)) : f) as T;
    },
    exists: async (p) => map.has(p),
  };
}
