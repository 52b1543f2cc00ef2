/**
 * jpeg.ts against Pillow: fixtures written by scripts/fixtures/lanczos_fixture.py (cmyk.jpg and
 * ycc.jpg with Pillow's own `convert('RGB')` decodes beside them).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../errors';
import type { ReferenceImage } from '../pipeline/references';
import { main } from './generate';
import { isJpeg, jpegToRgba } from './jpeg';

const FIXTURES = join(import.meta.dirname, '..', 'pipeline', 'fixtures');

/** libjpeg-turbo on both sides (same IDCT and upsampling): observed 0. */
const YCC_MAX_LEVELS = 0;
/**
 * jpeg-js truncates (255 − C)(255 − K)/255 where Pillow rounds it, and its IDCT output matched
 * libjpeg's on this file: observed max 1, mean 0.35 levels.
 */
const CMYK_MAX_LEVELS = 1;
const CMYK_MEAN_LEVELS = 0.5;

/** Largest and mean RGB difference in levels between a decode and a Pillow PNG; alpha must be 255. */
function levels(got: ReferenceImage, pngFile: string): { max: number; mean: number } {
  const png = decode(readFileSync(join(FIXTURES, pngFile)));
  expect([got.width, got.height]).toEqual([png.width, png.height]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((got.rgba[i * 4 + c] as number) - (png.data[i * png.channels + c] as number));
      max = Math.max(max, d);
      sum += d;
    }
  }
  expect(got.rgba.every((v, i) => i % 4 !== 3 || v === 255)).toBe(true);
  return { max, mean: sum / (png.width * png.height * 3) };
}

describe('jpegToRgba against Pillow convert("RGB")', () => {
  it('decodes an ordinary 4:2:0 JPEG to the same pixels', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'ycc.jpg')));
    expect(isJpeg(bytes)).toBe(true);
    const { max, mean } = levels(await jpegToRgba(bytes), 'ycc-rgb.png');
    console.log(`[jpeg] ycc.jpg vs Pillow: max ${max}, mean ${mean.toFixed(3)} levels`);
    expect(max).toBeLessThanOrEqual(YCC_MAX_LEVELS);
  });

  it('converts a CMYK JPEG as Pillow does', async () => {
    const { max, mean } = levels(await jpegToRgba(new Uint8Array(readFileSync(join(FIXTURES, 'cmyk.jpg')))), 'cmyk-rgb.png');
    console.log(`[jpeg] cmyk.jpg vs Pillow: max ${max}, mean ${mean.toFixed(3)} levels`);
    expect(max).toBeLessThanOrEqual(CMYK_MAX_LEVELS);
    expect(mean).toBeLessThanOrEqual(CMYK_MEAN_LEVELS);
  });

  it('refuses truncated files by name and still decodes the next one', async () => {
    const ycc = new Uint8Array(readFileSync(join(FIXTURES, 'ycc.jpg')));
    const cmyk = new Uint8Array(readFileSync(join(FIXTURES, 'cmyk.jpg')));
    const cut = (b: Uint8Array, n: number) => b.slice(0, Math.floor(b.length * n));
    // In the headers (libjpeg fails) and inside the scan (libjpeg only warns; Pillow refuses both).
    await expect(jpegToRgba(cut(ycc, 0.05), 'cut.jpg')).rejects.toThrow(InvalidInput);
    await expect(jpegToRgba(cut(ycc, 0.05), 'cut.jpg')).rejects.toThrow(/^cut\.jpg: not a readable JPEG \(.+\)$/);
    await expect(jpegToRgba(cut(ycc, 0.7), 'cut.jpg')).rejects.toThrow('cut.jpg: not a readable JPEG (Premature end of JPEG file)');
    await expect(jpegToRgba(cut(cmyk, 0.1), 'cut-cmyk.jpg')).rejects.toThrow(/^cut-cmyk\.jpg: not a readable CMYK JPEG/);
    await expect(jpegToRgba(cut(cmyk, 0.7), 'cut-cmyk.jpg')).rejects.toThrow(/^cut-cmyk\.jpg: not a readable CMYK JPEG/);
    expect((await jpegToRgba(ycc)).width).toBe(96);
  });
});

describe('npm run generate --ref with JPEGs (stops at the model, before any weights are read)', () => {
  it('accepts a CMYK JPEG and refuses a truncated one by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kleinbild-jpeg-'));
    const cut = join(dir, 'cut.jpg');
    await writeFile(cut, readFileSync(join(FIXTURES, 'ycc.jpg')).subarray(0, 300));
    const run = (ref: string) => main(['--model', dir, '--prompt', 'x', '--backend', 'cpu', '--ref', ref, '--out', join(dir, 'out.png')]);
    // The empty model folder fails after the references passed validation.
    await expect(run(join(FIXTURES, 'cmyk.jpg'))).rejects.toThrow(/config\.json/);
    await expect(run(cut)).rejects.toThrow(`${cut}: not a readable JPEG`);
  });
});
