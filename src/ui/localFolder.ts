/**
 * The files of a local folder, on the page: from `<input type="file" webkitdirectory>` (each File's
 * webkitRelativePath starts with the picked folder's name) or from a drop (directory entries walked
 * with the File and Directory Entries API, which every browser with WebGPU has). The result goes to
 * the worker's planImport / importFolder; File objects are handles to the disk, so posting them
 * copies no bytes.
 */
import type { LocalFile } from '../worker/api';

/** The picked files with their paths inside the picked folder (`pack-a/chunks/00000.bin`). */
export function pickedFiles(list: FileList | null): LocalFile[] {
  return Array.from(list ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** The entries of a drop, taken at once: DataTransfer items are gone after the event handler returns. */
export function droppedEntries(dt: DataTransfer): FileSystemEntry[] {
  const out: FileSystemEntry[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry();
    if (entry) out.push(entry);
  }
  return out;
}

/** Every file under the dropped entries, with paths starting at the dropped folder's name. */
export async function entryFiles(entries: readonly FileSystemEntry[]): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ path: `${prefix}${entry.name}`, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns at most 100 entries per call in Chromium: call until it returns none
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
