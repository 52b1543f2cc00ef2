/**
 * An in-memory IndexedDB for the store's Node tests (Node has none): the part of the API that `idb`
 * and src/store use, with the semantics they rely on. Out-of-line keys (strings, numbers, arrays of
 * them, compared as IndexedDB does: fakeIdbKeys.ts); indexes with array key paths and multiEntry;
 * key cursors; transactions as fakeIdbTx.ts describes them. `quota` (bytes of all values) is
 * enforced at commit, as Chromium does: the transaction aborts with a QuotaExceededError and nothing
 * of it is kept. This file: the factory (open, upgrade), connections, and installing it all.
 */
import { type DbData, FakeKeyRange, type Key, compareKeys, names, valueBytes } from './fakeIdbKeys';
import { FakeCursor, FakeCursorWithValue, FakeIndex, FakeObjectStore, FakeRequest, FakeTransaction, type TxHost } from './fakeIdbTx';

export class FakeOpenRequest extends FakeRequest {}

class VersionEvent extends Event {
  constructor(
    type: string,
    readonly oldVersion: number,
    readonly newVersion: number | null,
  ) {
    super(type);
  }
}

/** The IndexedDB of one test process: databases, the transaction queue and the quota. */
export class FakeIdb implements TxHost {
  readonly dbs = new Map<string, DbData>();
  /** Bytes of all stored values at most; a commit that would exceed it aborts (QuotaExceededError). */
  quota = Infinity;
  /** Transactions not finished yet, oldest first. */
  readonly live: FakeTransaction[] = [];

  usage(): number {
    let n = 0;
    for (const db of this.dbs.values()) for (const s of db.stores.values()) for (const r of s.records) n += valueBytes(r.value) + valueBytes(r.key);
    return n;
  }

  /** Empties every object store, keeping databases, stores and indexes. */
  clear(): void {
    for (const db of this.dbs.values()) for (const s of db.stores.values()) s.records.length = 0;
  }

  open(name: string, version?: number): FakeOpenRequest {
    const req = new FakeOpenRequest(null, null);
    setImmediate(() => {
      let data = this.dbs.get(name);
      if (!data) this.dbs.set(name, (data = { version: 0, stores: new Map() }));
      const want = version ?? Math.max(1, data.version);
      if (want < data.version) {
        req.error = new DOMException(`version ${want} is below ${data.version}`, 'VersionError');
        req.readyState = 'done';
        req.dispatchEvent(new Event('error'));
        return;
      }
      const conn = new FakeDatabase(this, name, data);
      req.result = conn;
      if (want > data.version) {
        const old = data.version;
        data.version = want;
        const tx = new FakeTransaction(this, conn, [...data.stores.keys()], 'versionchange');
        tx.state = 'active';
        req.transaction = tx;
        conn.upgrading = tx;
        req.dispatchEvent(new VersionEvent('upgradeneeded', old, want));
        conn.upgrading = null;
        tx.state = 'finished';
        tx.dispatchEvent(new Event('complete'));
        req.transaction = null;
      }
      req.readyState = 'done';
      req.dispatchEvent(new Event('success'));
    });
    return req;
  }

  cmp(a: Key, b: Key): number {
    return compareKeys(a, b);
  }

  /** Starts every waiting transaction whose scope no older unfinished one conflicts with. */
  schedule(): void {
    for (let i = 0; i < this.live.length; i++) {
      const tx = this.live[i] as FakeTransaction;
      if (tx.state !== 'waiting') continue;
      const blocked = this.live.slice(0, i).some((o) => o.scope.some((s) => tx.scope.includes(s)) && (o.mode !== 'readonly' || tx.mode !== 'readonly'));
      if (!blocked) tx.start();
    }
  }
}

export class FakeDatabase extends EventTarget {
  upgrading: FakeTransaction | null = null;
  closed = false;
  constructor(
    private readonly idb: FakeIdb,
    readonly name: string,
    readonly data: DbData,
  ) {
    super();
  }
  get version(): number {
    return this.data.version;
  }
  get objectStoreNames() {
    return names([...this.data.stores.keys()]);
  }
  createObjectStore(name: string, opts?: { keyPath?: unknown; autoIncrement?: boolean }): FakeObjectStore {
    if (!this.upgrading) throw new DOMException('not in an upgrade', 'InvalidStateError');
    if (opts?.keyPath != null || opts?.autoIncrement) throw new Error('fakeIdb: only out-of-line keys are supported');
    if (this.data.stores.has(name)) throw new DOMException(`store ${name} exists`, 'ConstraintError');
    this.data.stores.set(name, { records: [], indexes: new Map() });
    this.upgrading.scope.push(name);
    return new FakeObjectStore(this.upgrading, name);
  }
  transaction(scope: string | string[], mode: IDBTransactionMode = 'readonly'): FakeTransaction {
    if (this.closed) throw new DOMException('the connection is closed', 'InvalidStateError');
    const list = [...new Set(typeof scope === 'string' ? [scope] : scope)];
    for (const s of list) if (!this.data.stores.has(s)) throw new DOMException(`no object store ${s}`, 'NotFoundError');
    const tx = new FakeTransaction(this.idb, this, list, mode);
    this.idb.live.push(tx);
    this.idb.schedule();
    return tx;
  }
  close(): void {
    this.closed = true;
  }
}

/** Installs `idb` as globalThis.indexedDB with the IDB* classes `idb` checks values against. */
export function installFakeIdb(idb: FakeIdb): void {
  Object.assign(globalThis, {
    indexedDB: idb,
    IDBFactory: FakeIdb,
    IDBDatabase: FakeDatabase,
    IDBTransaction: FakeTransaction,
    IDBObjectStore: FakeObjectStore,
    IDBIndex: FakeIndex,
    IDBCursor: FakeCursor,
    IDBCursorWithValue: FakeCursorWithValue,
    IDBRequest: FakeRequest,
    IDBOpenDBRequest: FakeOpenRequest,
    IDBKeyRange: FakeKeyRange,
  });
}
