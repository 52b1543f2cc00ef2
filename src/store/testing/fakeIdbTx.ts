/**
 * Requests, transactions, object stores, indexes and cursors of fakeIdb.ts (the in-memory IndexedDB
 * of the store's Node tests). A transaction starts when no older unfinished one with an overlapping
 * scope conflicts (either writes), answers its requests one task after another, commits once no
 * request is left after the last success handler (a request made later throws
 * TransactionInactiveError), checks the quota at commit (QuotaExceededError, as Chromium reports it)
 * and rolls back on abort. Values are structured-cloned in and out.
 */
import { type DbData, type IndexDef, type Key, type Query, type StoreData, compareKeys, dataError, matcher, names, validKey } from './fakeIdbKeys';

/** What a transaction needs of its IndexedDB (FakeIdb). */
export interface TxHost {
  /** Unfinished transactions, oldest first. */
  readonly live: FakeTransaction[];
  quota: number;
  usage(): number;
  /** Starts the waiting transactions that may run now. */
  schedule(): void;
}

export class FakeRequest extends EventTarget {
  result: unknown = undefined;
  error: DOMException | null = null;
  readyState: 'pending' | 'done' = 'pending';
  transaction: FakeTransaction | null;
  constructor(
    readonly source: unknown,
    tx: FakeTransaction | null,
  ) {
    super();
    this.transaction = tx;
  }
}

interface Pending {
  req: FakeRequest;
  run: () => unknown;
}

export class FakeTransaction extends EventTarget {
  state: 'waiting' | 'active' | 'finished' = 'waiting';
  error: DOMException | null = null;
  private readonly queue: Pending[] = [];
  private readonly undo: Array<() => void> = [];
  private pumping = false;
  constructor(
    private readonly idb: TxHost,
    readonly db: { readonly data: DbData },
    readonly scope: string[],
    readonly mode: IDBTransactionMode,
  ) {
    super();
  }
  get objectStoreNames() {
    return names(this.scope);
  }
  objectStore(name: string): FakeObjectStore {
    if (!this.scope.includes(name)) throw new DOMException(`${name} is not in this transaction's scope`, 'NotFoundError');
    return new FakeObjectStore(this, name);
  }
  storeData(name: string): StoreData {
    const s = this.db.data.stores.get(name);
    if (!s) throw new DOMException(`no object store ${name}`, 'NotFoundError');
    return s;
  }
  /** Queues an operation; its result (or thrown DOMException) answers `req`. */
  request(source: unknown, run: () => unknown, req: FakeRequest = new FakeRequest(source, this)): FakeRequest {
    if (this.state === 'finished') throw new DOMException('the transaction has finished', 'TransactionInactiveError');
    req.readyState = 'pending';
    this.queue.push({ req, run });
    if (this.state === 'active') this.pump();
    return req;
  }
  writable(): void {
    if (this.mode === 'readonly') throw new DOMException('read-only transaction', 'ReadOnlyError');
  }
  onUndo(f: () => void): void {
    this.undo.push(f);
  }
  start(): void {
    this.state = 'active';
    this.pump();
  }
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.step();
    });
  }
  private step(): void {
    if (this.state !== 'active') return;
    const next = this.queue.shift();
    if (!next) return this.finish();
    const { req, run } = next;
    try {
      req.result = run();
      req.readyState = 'done';
      req.dispatchEvent(new Event('success'));
    } catch (e) {
      req.error = e instanceof DOMException ? e : new DOMException(String(e), 'UnknownError');
      req.readyState = 'done';
      const ev = new Event('error', { cancelable: true });
      req.dispatchEvent(ev);
      if (!ev.defaultPrevented) return this.abortWith(req.error);
    }
    this.pump();
  }
  private finish(): void {
    if (this.mode !== 'readonly' && this.idb.usage() > this.idb.quota) {
      return this.abortWith(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
    }
    this.state = 'finished';
    this.done();
    this.dispatchEvent(new Event('complete'));
  }
  private abortWith(error: DOMException | null): void {
    if (this.state === 'finished') return;
    this.state = 'finished';
    this.error = error;
    for (const f of this.undo.reverse()) f();
    for (const { req } of this.queue.splice(0)) {
      req.error = new DOMException('the transaction was aborted', 'AbortError');
      req.readyState = 'done';
      req.dispatchEvent(new Event('error', { cancelable: true }));
    }
    this.done();
    if (error) this.dispatchEvent(new Event('error'));
    this.dispatchEvent(new Event('abort'));
  }
  private done(): void {
    const i = this.idb.live.indexOf(this);
    if (i >= 0) this.idb.live.splice(i, 1);
    this.idb.schedule();
  }
  abort(): void {
    if (this.state === 'finished') throw new DOMException('the transaction has finished', 'InvalidStateError');
    this.abortWith(null);
  }
  commit(): void {}
}

/** Index key(s) of `value` under `def`: none when a key path is missing or not a key. */
function indexKeys(def: IndexDef, value: unknown): Key[] {
  const at = (p: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[p] : undefined);
  if (Array.isArray(def.keyPath)) {
    const k = def.keyPath.map(at);
    return validKey(k) ? [k] : [];
  }
  const v = at(def.keyPath);
  if (def.multiEntry && Array.isArray(v)) {
    const out: Key[] = [];
    for (const x of v) if (validKey(x) && !out.some((o) => compareKeys(o, x) === 0)) out.push(x);
    return out;
  }
  return validKey(v) ? [v] : [];
}

interface Entry {
  key: Key;
  primaryKey: Key;
  value: unknown;
}

abstract class Source {
  constructor(readonly transaction: FakeTransaction) {}
  /** The entries of this store or index in key order, filtered by `q`. */
  protected abstract entries(q: Query): Entry[];
  get(q: Query): FakeRequest {
    const m = matcher(q);
    return this.transaction.request(this, () => structuredClone(this.entries(null).find((e) => m(e.key))?.value));
  }
  getAll(q?: Query, count?: number): FakeRequest {
    return this.transaction.request(this, () => this.entries(q).slice(0, count || undefined).map((e) => structuredClone(e.value)));
  }
  getAllKeys(q?: Query, count?: number): FakeRequest {
    return this.transaction.request(this, () => this.entries(q).slice(0, count || undefined).map((e) => structuredClone(e.primaryKey)));
  }
  count(q?: Query): FakeRequest {
    return this.transaction.request(this, () => this.entries(q).length);
  }
  openCursor(q?: Query): FakeRequest {
    return this.cursor(q, true);
  }
  openKeyCursor(q?: Query): FakeRequest {
    return this.cursor(q, false);
  }
  private cursor(q: Query, withValue: boolean): FakeRequest {
    const cursor = withValue ? new FakeCursorWithValue() : new FakeCursor();
    const advance = (): FakeCursor | null => {
      const pos = cursor.position;
      const next = this.entries(q).find((e) => !pos || compareKeys(e.key, pos.key) > 0 || (compareKeys(e.key, pos.key) === 0 && compareKeys(e.primaryKey, pos.primaryKey) > 0));
      if (!next) return null;
      cursor.position = next;
      cursor.key = structuredClone(next.key);
      cursor.primaryKey = structuredClone(next.primaryKey);
      if (cursor instanceof FakeCursorWithValue) cursor.value = structuredClone(next.value);
      return cursor;
    };
    const req = this.transaction.request(this, advance);
    cursor.source = this;
    cursor.request = req;
    cursor.again = () => this.transaction.request(this, advance, req);
    return req;
  }
}

export class FakeCursor {
  source: unknown = null;
  request: FakeRequest | null = null;
  key: Key | undefined = undefined;
  primaryKey: Key | undefined = undefined;
  direction = 'next';
  position: Entry | null = null;
  again: () => void = () => {};
  continue(key?: Key): void {
    if (key !== undefined) throw new Error('fakeIdb: continue(key) is not supported');
    this.again();
  }
}

export class FakeCursorWithValue extends FakeCursor {
  value: unknown = undefined;
}

export class FakeObjectStore extends Source {
  readonly keyPath = null;
  readonly autoIncrement = false;
  constructor(
    tx: FakeTransaction,
    readonly name: string,
  ) {
    super(tx);
  }
  private get data(): StoreData {
    return this.transaction.storeData(this.name);
  }
  get indexNames() {
    return names([...this.data.indexes.keys()]);
  }
  protected entries(q: Query): Entry[] {
    const m = matcher(q);
    return this.data.records.filter((r) => m(r.key)).map((r) => ({ key: r.key, primaryKey: r.key, value: r.value }));
  }
  index(name: string): FakeIndex {
    const def = this.data.indexes.get(name);
    if (!def) throw new DOMException(`no index ${name}`, 'NotFoundError');
    return new FakeIndex(this.transaction, this.name, def);
  }
  createIndex(name: string, keyPath: string | string[], opts?: { multiEntry?: boolean; unique?: boolean }): FakeIndex {
    if (this.transaction.mode !== 'versionchange') throw new DOMException('not in an upgrade', 'InvalidStateError');
    if (opts?.unique) throw new Error('fakeIdb: unique indexes are not supported');
    const def = { keyPath, multiEntry: opts?.multiEntry === true };
    this.data.indexes.set(name, def);
    return new FakeIndex(this.transaction, this.name, def);
  }
  put(value: unknown, key?: Key): FakeRequest {
    this.transaction.writable();
    if (!validKey(key)) throw dataError(String(key));
    const k = structuredClone(key);
    const v = structuredClone(value); // DataCloneError now, as the browser throws it
    return this.transaction.request(this, () => {
      const recs = this.data.records;
      const i = recs.findIndex((r) => compareKeys(r.key, k) >= 0);
      const same = i >= 0 && compareKeys((recs[i] as { key: Key }).key, k) === 0;
      const old = same ? recs[i] : undefined;
      if (same) recs[i] = { key: k, value: v };
      else recs.splice(i < 0 ? recs.length : i, 0, { key: k, value: v });
      this.transaction.onUndo(() => {
        const j = recs.findIndex((r) => compareKeys(r.key, k) === 0);
        if (old) recs[j] = old;
        else if (j >= 0) recs.splice(j, 1);
      });
      return structuredClone(k);
    });
  }
  delete(q: Query): FakeRequest {
    this.transaction.writable();
    const m = matcher(q);
    return this.transaction.request(this, () => {
      const recs = this.data.records;
      const before = [...recs];
      const kept = recs.filter((r) => !m(r.key));
      recs.splice(0, recs.length, ...kept);
      this.transaction.onUndo(() => recs.splice(0, recs.length, ...before));
      return undefined;
    });
  }
}

export class FakeIndex extends Source {
  constructor(
    tx: FakeTransaction,
    private readonly store: string,
    private readonly def: IndexDef,
  ) {
    super(tx);
  }
  get keyPath(): string | string[] {
    return this.def.keyPath;
  }
  get multiEntry(): boolean {
    return this.def.multiEntry;
  }
  protected entries(q: Query): Entry[] {
    const m = matcher(q);
    const out: Entry[] = [];
    for (const r of this.transaction.storeData(this.store).records) {
      for (const k of indexKeys(this.def, r.value)) if (m(k)) out.push({ key: k, primaryKey: r.key, value: r.value });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key) || compareKeys(a.primaryKey, b.primaryKey));
  }
}
