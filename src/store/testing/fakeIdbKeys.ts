/**
 * Keys, key ranges and the stored data of fakeIdb.ts (the in-memory IndexedDB of the store's Node
 * tests): keys are numbers, strings and arrays of them, ordered as indexedDB.cmp orders them.
 */

export type Key = string | number | Key[];
export type Query = Key | FakeKeyRange | null | undefined;

const rank = (k: unknown): number => (typeof k === 'number' ? 1 : typeof k === 'string' ? 3 : Array.isArray(k) ? 5 : -1);

export function validKey(k: unknown): k is Key {
  if (typeof k === 'number') return !Number.isNaN(k);
  if (typeof k === 'string') return true;
  return Array.isArray(k) && k.every(validKey);
}

/** indexedDB.cmp: number < string < array; arrays element by element, then by length. */
export function compareKeys(a: Key, b: Key): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareKeys(a[i] as Key, b[i] as Key);
      if (c !== 0) return c;
    }
    return Math.sign(a.length - b.length);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export const dataError = (what: string) => new DOMException(`${what} is not a valid key`, 'DataError');

export class FakeKeyRange {
  constructor(
    readonly lower: Key | undefined,
    readonly upper: Key | undefined,
    readonly lowerOpen = false,
    readonly upperOpen = false,
  ) {}
  static only(k: Key): FakeKeyRange {
    if (!validKey(k)) throw dataError(String(k));
    return new FakeKeyRange(k, k);
  }
  static bound(lower: Key, upper: Key, lowerOpen = false, upperOpen = false): FakeKeyRange {
    if (!validKey(lower) || !validKey(upper)) throw dataError('a bound');
    if (compareKeys(lower, upper) > 0) throw new DOMException('lower bound above upper bound', 'DataError');
    return new FakeKeyRange(lower, upper, lowerOpen, upperOpen);
  }
  static lowerBound(lower: Key, open = false): FakeKeyRange {
    return new FakeKeyRange(lower, undefined, open, false);
  }
  static upperBound(upper: Key, open = false): FakeKeyRange {
    return new FakeKeyRange(undefined, upper, false, open);
  }
  includes(k: Key): boolean {
    if (this.lower !== undefined) {
      const c = compareKeys(k, this.lower);
      if (c < 0 || (c === 0 && this.lowerOpen)) return false;
    }
    if (this.upper !== undefined) {
      const c = compareKeys(k, this.upper);
      if (c > 0 || (c === 0 && this.upperOpen)) return false;
    }
    return true;
  }
}

/** Whether a key matches `q`: any key (no query), a range, or one key. */
export function matcher(q: Query): (k: Key) => boolean {
  if (q === null || q === undefined) return () => true;
  if (q instanceof FakeKeyRange) return (k) => q.includes(k);
  if (!validKey(q)) throw dataError(String(q));
  return (k) => compareKeys(k, q) === 0;
}

export interface IndexDef {
  keyPath: string | string[];
  multiEntry: boolean;
}
export interface StoreData {
  /** Sorted by key. */
  records: Array<{ key: Key; value: unknown }>;
  indexes: Map<string, IndexDef>;
}
export interface DbData {
  version: number;
  stores: Map<string, StoreData>;
}

/** Bytes a value takes against the quota: buffers by their length, strings by theirs, the rest 8. */
export function valueBytes(v: unknown): number {
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce((s: number, x) => s + valueBytes(x), 0);
  if (v && typeof v === 'object') return Object.entries(v).reduce((s, [k, x]) => s + k.length + valueBytes(x), 0);
  return 8;
}

/** A DOMStringList as `idb` reads one: sorted, indexable, with contains(). */
export function names(list: readonly string[]): string[] & { contains(n: string): boolean } {
  return Object.assign([...list].sort(), { contains: (n: string) => list.includes(n) });
}
