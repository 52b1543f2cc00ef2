import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { EXPORT_JSON, type HistoryExport, buildHistoryZip, exportFileName, historyFileName, thumbnailSize, zipFileNames } from './files';
import type { HistoryEntry } from './store';

function entry(id: string, createdAt: number, seed: number, prompt = 'a red balloon'): HistoryEntry {
  return {
    id,
    createdAt,
    prompt,
    width: 64,
    height: 48,
    steps: 4,
    seed,
    model: 'http://127.0.0.1:4180/model-a',
    referenceCount: 0,
    timings: { encodeMs: 1, stepMs: [2, 3], decodeMs: 4, totalMs: 10 },
  };
}

/** Local time, as the file names use it. */
const T = new Date(2025, 0, 31, 14, 25, 1).getTime();

describe('thumbnailSize', () => {
  it('scales the long side to 256 and keeps the aspect', () => {
    expect(thumbnailSize(1024, 1024)).toEqual({ width: 256, height: 256 });
    // 1360×768 · 256/1360 = 256 × 144.56… → 145
    expect(thumbnailSize(1360, 768)).toEqual({ width: 256, height: 145 });
    expect(thumbnailSize(768, 1360)).toEqual({ width: 145, height: 256 });
  });

  it('never enlarges and never goes below 1 px', () => {
    expect(thumbnailSize(64, 64)).toEqual({ width: 64, height: 64 });
    expect(thumbnailSize(256, 100)).toEqual({ width: 256, height: 100 });
    expect(thumbnailSize(2048, 1, 256)).toEqual({ width: 256, height: 1 });
  });

  it('refuses an empty image', () => {
    expect(() => thumbnailSize(0, 64)).toThrow('at least 1×1 (got 0×64)');
    expect(() => thumbnailSize(64, Number.NaN)).toThrow(RangeError);
  });
});

describe('file names', () => {
  it('dates a PNG by its creation (local time) and names its seed', () => {
    expect(historyFileName({ createdAt: T, seed: 1234 })).toBe('kleinbild-20250131-142501-1234.png');
    expect(exportFileName(new Date(T))).toBe('kleinbild-history-20250131-142501.zip');
  });

  it('numbers repeated names from -2 on', () => {
    const names = zipFileNames([
      { createdAt: T, seed: 7 },
      { createdAt: T + 10, seed: 7 },
      { createdAt: T + 20, seed: 8 },
      { createdAt: T + 30, seed: 7 },
    ]);
    expect(names).toEqual([
      'kleinbild-20250131-142501-7.png',
      'kleinbild-20250131-142501-7-2.png',
      'kleinbild-20250131-142501-8.png',
      'kleinbild-20250131-142501-7-3.png',
    ]);
  });
});

describe('buildHistoryZip', () => {
  it('holds every PNG byte for byte and history.json with each entry and its file', () => {
    const a = entry('a', T + 1000, 5, 'Ein Ballon über dem Tisch ✓');
    const b = entry('b', T, 5);
    const pngA = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const pngB = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 9]);
    const exportedAt = new Date(T + 5000);
    const files = unzipSync(buildHistoryZip([{ entry: a, png: pngA }, { entry: b, png: pngB }], exportedAt));

    expect(Object.keys(files).sort()).toEqual([EXPORT_JSON, 'kleinbild-20250131-142501-5.png', 'kleinbild-20250131-142502-5.png']);
    expect(files['kleinbild-20250131-142502-5.png']).toEqual(pngA);
    expect(files['kleinbild-20250131-142501-5.png']).toEqual(pngB);
    const json = JSON.parse(strFromU8(files[EXPORT_JSON] as Uint8Array)) as HistoryExport;
    expect(json.software).toBe('Kleinbild');
    expect(json.exportedAt).toBe(exportedAt.toISOString());
    expect(json.entries).toEqual([
      { ...a, file: 'kleinbild-20250131-142502-5.png' },
      { ...b, file: 'kleinbild-20250131-142501-5.png' },
    ]);
  });

  it('exports an empty history as history.json alone', () => {
    const files = unzipSync(buildHistoryZip([], new Date(T)));
    expect(Object.keys(files)).toEqual([EXPORT_JSON]);
    expect((JSON.parse(strFromU8(files[EXPORT_JSON] as Uint8Array)) as HistoryExport).entries).toEqual([]);
  });
});
