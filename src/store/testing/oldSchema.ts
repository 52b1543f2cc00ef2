/**
 * The model store as earlier versions of db.ts created it, frozen here (not db.ts's upgrade, which the
 * upgrade tests check): version 1 (models, chunks with its hash and deps indexes, files, manifests)
 * and version 2 (+ loras, loraFiles). Test support only.
 */
import { type IDBPDatabase, openDB } from 'idb';
import { DB_NAME } from '../db';

/** Opens `kleinbild-models` at `version` (1 or 2) with that version's stores; the database must not exist yet. */
export function openOldModelsDb(version: 1 | 2): Promise<IDBPDatabase> {
  return openDB(DB_NAME, version, {
    upgrade(db) {
      db.createObjectStore('models');
      const chunks = db.createObjectStore('chunks');
      chunks.createIndex('hash', ['id', 'path', 'sha256']);
      chunks.createIndex('deps', 'deps', { multiEntry: true });
      db.createObjectStore('files');
      db.createObjectStore('manifests');
      if (version >= 2) {
        db.createObjectStore('loras');
        db.createObjectStore('loraFiles');
      }
    },
  });
}
