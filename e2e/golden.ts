/**
 * The output canvas against a golden case's image.png, shared by the specs that generate.
 * Per-channel 8-bit difference: the float32 golden bound is 1 level max / 0.05 mean (golden README §5;
 * measured float32 noise 0 / 0). The browser path allows 2 / 0.1: SwiftShader's approximate
 * exp/sin/cos and a different summation order can flip a rounding boundary.
 * Observed (Chromium 156, SwiftShader, 2 cores): t2i-64 max 1 level, mean 0.0002; edit-1ref max 0, mean 0.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, type Page } from '@playwright/test';
import { decode } from 'fast-png';

const MAX_LEVEL_DIFF = 2;
const MEAN_LEVEL_DIFF = 0.1;

/** The output canvas's size and RGBA pixels. */
export function canvasPixels(page: Page): Promise<{ width: number; height: number; rgba: number[] }> {
  return page.getByTestId('output-canvas').evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
    if (!data) throw new Error('canvas has no 2d context');
    return { width: c.width, height: c.height, rgba: Array.from(data) };
  });
}

/** Reads the output canvas and asserts it matches `caseDir`/image.png within the bounds above. */
export async function expectCanvasMatchesGolden(page: Page, caseDir: string, label: string): Promise<void> {
  const got = await canvasPixels(page);
  const want = decode(await readFile(join(caseDir, 'image.png')));
  expect([got.width, got.height]).toEqual([want.width, want.height]);
  expect(want.channels).toBe(3);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.width * want.height; i++) {
    expect(got.rgba[4 * i + 3]).toBe(255);
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((got.rgba[4 * i + c] as number) - (want.data[3 * i + c] as number));
      max = Math.max(max, d);
      sum += d;
    }
  }
  const mean = sum / (want.width * want.height * 3);
  console.log(`${label} vs image.png: max ${max} levels, mean ${mean.toFixed(4)} levels`);
  expect(max).toBeLessThanOrEqual(MAX_LEVEL_DIFF);
  expect(mean).toBeLessThanOrEqual(MEAN_LEVEL_DIFF);
}
