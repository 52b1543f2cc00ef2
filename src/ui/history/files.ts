/**
 * Pure helpers for the history: thumbnail sizes, file names and the "export all" zip.
 *
 * Zip library: fflate. It writes and reads zips (the e2e test unzips the export with it), has no
 * dependencies, is widely used and maintained, and is already in the bundle through fast-png.
 * The export is built in memory with zipSync: the PNGs are stored (they are deflated already),
 * history.json is deflated.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { SOFTWARE } from '../png';
import type { HistoryEntry } from './store';

/** Longest thumbnail side in pixels. */
export const THUMBNAIL_MAX = 256;

/** The thumbnail size of a width×height image: scaled down to ≤ `max` a side, aspect kept, never enlarged, ≥ 1 px. */
export function thumbnailSize(width: number, height: number, max = THUMBNAIL_MAX): { width: number; height: number } {
  if (!(width >= 1 && height >= 1)) throw new RangeError(`thumbnailSize: image must be at least 1×1 (got ${width}×${height})`);
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "20250131-142501": local date and time. */
function stamp(d: Date): string {
  return `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}-${pad2(d.getHours())}${pad2(d.getMinutes())}${pad2(d.getSeconds())}`;
}

/** "kleinbild-20250131-142501-1234.png": local date and time of creation, then the seed. */
export function historyFileName(e: Pick<HistoryEntry, 'createdAt' | 'seed'>): string {
  return `kleinbild-${stamp(new Date(e.createdAt))}-${e.seed}.png`;
}

/** One file name per entry, in order; a repeated name gets "-2", "-3", … before ".png". */
export function zipFileNames(entries: readonly Pick<HistoryEntry, 'createdAt' | 'seed'>[]): string[] {
  const seen = new Set<string>();
  return entries.map((e) => {
    const base = historyFileName(e);
    let name = base;
    for (let k = 2; seen.has(name); k++) name = base.replace(/\.png$/, `-${k}.png`);
    seen.add(name);
    return name;
  });
}

export const EXPORT_JSON = 'history.json';

/** history.json: what the export holds, one record per PNG with its file name. */
export interface HistoryExport {
  software: string;
  /** ISO 8601. */
  exportedAt: string;
  entries: (HistoryEntry & { file: string })[];
}

/**
 * The "export all" zip: each PNG under its zipFileNames() name (dated by its createdAt) plus
 * history.json with every entry's parameters, in the order given.
 */
export function buildHistoryZip(items: readonly { entry: HistoryEntry; png: Uint8Array }[], exportedAt: Date): Uint8Array {
  const names = zipFileNames(items.map((i) => i.entry));
  const files: Zippable = {};
  const json: HistoryExport = { software: SOFTWARE, exportedAt: exportedAt.toISOString(), entries: [] };
  items.forEach(({ entry, png }, i) => {
    const file = names[i] as string;
    files[file] = [png, { level: 0, mtime: entry.createdAt }];
    json.entries.push({ ...entry, file });
  });
  files[EXPORT_JSON] = [strToU8(JSON.stringify(json, null, 2)), { level: 6, mtime: exportedAt }];
  return zipSync(files);
}

/** "kleinbild-history-20250131-142501.zip" for an export made at `d` (local time). */
export function exportFileName(d: Date): string {
  return `kleinbild-history-${stamp(d)}.zip`;
}
