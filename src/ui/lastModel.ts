/**
 * The last model this browser loaded (a `store:<id>`, hub id or URL), kept in localStorage so the
 * next visit loads it by itself and the Model panel's source field shows it again. Every access
 * tolerates storage being unavailable (private modes): the choice then lasts for this visit.
 */
import type { ModelSource } from '../worker/api';

const LAST_MODEL_KEY = 'kleinbild-last-model';

/** The last loaded model source, or null. */
export function savedLastModel(): ModelSource | null {
  try {
    const v = localStorage.getItem(LAST_MODEL_KEY);
    return v && v.trim() ? v : null;
  } catch {
    return null;
  }
}

/** Remembers `source` (null forgets it: a failed load is not retried on every visit). */
export function saveLastModel(source: ModelSource | null): void {
  try {
    if (source === null) localStorage.removeItem(LAST_MODEL_KEY);
    else localStorage.setItem(LAST_MODEL_KEY, source);
  } catch {
    // see the file comment
  }
}
