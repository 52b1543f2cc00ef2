/**
 * Reference preprocessing (diffusers Flux2KleinPipeline + Flux2ImageProcessor): sizes, crops,
 * rejections and the golden edit-1ref `ref0_pixels` (the resampler itself: lanczos.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInput } from '../errors';
import { goldenTensor, loadGoldenCase } from '../testing/golden';
import { maxAbs } from '../testing/expectClose';
import { pngToRgba } from '../cli/png';
import { resizeLanczos } from './lanczos';
import {
  type ReferenceImage,
  defaultSizeFor,
  preprocessReference,
  processedSize,
  referenceIds,
  resizedSize,
  validateReferences,
} from './references';

function solid(width: number, height: number, v = 200): ReferenceImage {
  return { width, height, rgba: new Uint8ClampedArray(width * height * 4).fill(v) };
}

describe('reference sizes', () => {
  // [input w, h] → [after area resize], [after floor-16 crop], crop (left, top); big sizes from
  // Python: int(w·s), int(h·s) with s = math.sqrt(1024²/(w·h))
  const table: [number, number, [number, number], [number, number], [number, number]][] = [
    [88, 72, [88, 72], [80, 64], [4, 4]], // golden edit-1ref
    [64, 64, [64, 64], [64, 64], [0, 0]],
    [100, 70, [100, 70], [96, 64], [2, 3]],
    [64, 512, [64, 512], [64, 512], [0, 0]], // aspect exactly 8 is allowed
    [1024, 1024, [1024, 1024], [1024, 1024], [0, 0]], // = 1024², not above: no resize
    [1025, 1024, [1024, 1023], [1024, 1008], [0, 7]],
    [2048, 2048, [1024, 1024], [1024, 1024], [0, 0]],
    [1500, 1000, [1254, 836], [1248, 832], [3, 2]],
    [4000, 500, [2896, 362], [2896, 352], [0, 5]],
  ];
  it.each(table)('%i×%i → resize %j → crop %j at %j', (w, h, resized, processed, crop) => {
    expect(resizedSize(w, h)).toEqual(resized);
    expect(processedSize(w, h)).toEqual(processed);
    if (w * h <= 1100 * 1000) {
      const p = preprocessReference(solid(w, h));
      expect([p.width, p.height]).toEqual(processed);
      expect([p.cropLeft, p.cropTop]).toEqual(crop);
      expect(p.pixels.length).toBe(3 * processed[0] * processed[1]);
    }
  });

  it('downscales a large image to the expected size and keeps a flat color flat', () => {
    const p = preprocessReference(solid(1500, 1000, 200));
    expect([p.width, p.height, p.cropLeft, p.cropTop]).toEqual([1248, 832, 3, 2]);
    const want = Math.fround(2 * Math.fround(200 / 255) - 1);
    expect(p.pixels.every((v) => v === want)).toBe(true);
  });

  it('gives the same pixels for an image the panel fitted to ≤ 1024² beforehand (it skips its own resize)', () => {
    const [w, h] = [1500, 1000];
    const rgba = new Uint8ClampedArray(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 251));
    const [rw, rh] = resizedSize(w, h);
    const fitted = { width: rw, height: rh, rgba: resizeLanczos(rgba, w, h, rw, rh) };
    expect(resizedSize(rw, rh)).toEqual([rw, rh]);
    const got = preprocessReference(fitted).pixels;
    const want = preprocessReference({ width: w, height: h, rgba }).pixels;
    expect(got.length).toBe(want.length);
    expect(maxAbs(got, want)).toBe(0); // toEqual on 3 M floats takes half a minute
  });

  it('rejects sides under 64 px, aspect ratios over 8 and a fifth reference', () => {
    expect(() => validateReferences([solid(63, 100)])).toThrow(new InvalidInput('reference image 1 is 63×100; each side must be at least 64 px'));
    expect(() => validateReferences([solid(64, 64), solid(100, 63)])).toThrow(/reference image 2 is 100×63; each side must be at least 64 px/);
    expect(() => validateReferences([solid(64, 513)])).toThrow(/aspect ratio must be at most 8/);
    expect(() => validateReferences([solid(64, 64), solid(64, 64), solid(64, 64), solid(64, 64), solid(64, 64)])).toThrow(/at most 4 reference images/);
    expect(() => preprocessReference({ width: 64, height: 64, rgba: new Uint8ClampedArray(10) })).toThrow(InvalidInput);
  });

  it('defaultSizeFor is the first processed reference, referenceIds are (10·(k+1), i, j, 0)', () => {
    expect(defaultSizeFor([])).toBeNull();
    expect(defaultSizeFor([solid(88, 72), solid(64, 64)])).toEqual({ width: 80, height: 64 });
    expect([...referenceIds(1, 1, 2)]).toEqual([20, 0, 0, 0, 20, 0, 1, 0]);
  });
});

describe('golden edit-1ref reference', () => {
  it('ref0.png → ref0_pixels exactly', async () => {
    const c = await loadGoldenCase('edit-1ref');
    const meta = c.meta.reference_images[0]!;
    const img = pngToRgba(new Uint8Array(await readFile(join(c.dir, meta.file))));
    expect([img.width, img.height]).toEqual([meta.width, meta.height]);
    const p = preprocessReference(img);
    expect([p.width, p.height, p.cropLeft, p.cropTop]).toEqual([meta.processed_width, meta.processed_height, meta.crop_left, meta.crop_top]);
    const want = goldenTensor(c.tensors, 'ref0_pixels');
    expect(want.shape).toEqual([1, 3, p.height, p.width]);
    const err = maxAbs(p.pixels, want.data as Float32Array);
    console.log(`[golden] edit-1ref ref0_pixels: max_abs ${err.toExponential(2)} (≤ ${c.meta.tolerances.fp32.ref0_pixels?.max_abs})`);
    expect(err).toBeLessThanOrEqual(c.meta.tolerances.fp32.ref0_pixels?.max_abs ?? 0);
    const ids = goldenTensor(c.tensors, 'ref_ids');
    expect([...referenceIds(0, p.height / 16, p.width / 16)]).toEqual(Array.from(ids.data as BigInt64Array, Number));
  });
});
