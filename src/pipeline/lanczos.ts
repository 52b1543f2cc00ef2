/**
 * PIL-exact LANCZOS resize of RGBA8 images: `Image.resize((w, h), Image.Resampling.LANCZOS)`, the
 * call diffusers makes on a reference over 1024² (docs/flux2-klein.md §7.1). Follows Pillow
 * src/libImaging/Resample.c (8-bit path) and Image.resize:
 * - separable, horizontal pass first into an 8-bit temporary (only the rows the vertical pass
 *   reads), then vertical; a pass is skipped when that side keeps its size;
 * - Lanczos-3 stretched by the scale when downscaling (support 3·scale), weights normalised to
 *   sum 1 in float64, then rounded to fixed point with 22 fraction bits;
 * - each sum starts at ½ and is shifted right by 22 (floor) and clipped to 0…255;
 * - RGBA is resized premultiplied (Pillow converts RGBA → RGBa → resize → RGBA). An opaque row is
 *   resized as RGB: its premultiplied values and its resized alpha (255) are exact, so opaque
 *   images match Pillow's RGB mode too.
 * Checked against Pillow 9.4 output in lanczos.test.ts (fixtures/lanczos.json).
 */

/** An RGBA8 image read a strip of rows at a time (a canvas in ui/referenceWorker.ts, an array elsewhere). */
export interface RowSource {
  width: number;
  height: number;
  /** Rows y0 … y0 + count − 1 as RGBA8 [count, width, 4]. */
  rows(y0: number, count: number): Uint8Array | Uint8ClampedArray;
}

/** Pillow PRECISION_BITS = 32 − 8 − 2: fixed-point fraction bits of the 8-bit path. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
/** Lanczos-3 support in input pixels at scale 1 (Pillow `lanczos` filter). */
const SUPPORT = 3;
/** Source pixels per strip read from a RowSource (4 MiB of RGBA8). */
const STRIP_PIXELS = 1 << 20;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczos(x: number): number {
  return x >= -SUPPORT && x < SUPPORT ? sinc(x) * sinc(x / SUPPORT) : 0;
}

/** Per output index o: first input index bounds[2o], tap count bounds[2o + 1], taps kk[o·ksize …]. */
interface Coefficients {
  ksize: number;
  bounds: Int32Array;
  kk: Int32Array;
}

/** Resample.c precompute_coeffs + normalize_coeffs_8bpc for inSize → outSize over the whole axis. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterscale; // Pillow multiplies by the reciprocal (bit-identical weights)
  const bounds = new Int32Array(2 * outSize);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      w[x] = lanczos((x + xmin - center + 0.5) * ss);
      sum += w[x] as number;
    }
    for (let x = 0; x < n; x++) {
      const v = sum !== 0 ? (w[x] as number) / sum : (w[x] as number);
      kk[o * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * ONE : 0.5 + v * ONE);
    }
    bounds[2 * o] = xmin;
    bounds[2 * o + 1] = n;
  }
  return { ksize, bounds, kk };
}

/** (acc >> 22) clipped to 0…255 (Resample.c clip8; acc already holds the ½ and stays within int32). */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Pillow MULDIV255(v, a): round(v·a / 255) in integers (Convert.c rgbA2rgba). */
function premultiply(row: Uint8Array | Uint8ClampedArray, out: Uint8Array): void {
  for (let i = 0; i < row.length; i += 4) {
    const a = row[i + 3] as number;
    for (let c = 0; c < 3; c++) {
      const t = (row[i + c] as number) * a + 128;
      out[i + c] = ((t >> 8) + t) >> 8;
    }
    out[i + 3] = a;
  }
}

// The row loops read a pixel as one little-endian uint32 (R in the low byte) and sum in int32 as
// Pillow does (INT32 ss0): |sum| < 255 · 1.2 · 2²² + 2²¹ < 2³¹, Lanczos-3's positive weights adding
// up to less than 1.2.

/** One opaque row [w] (RGBA as uint32) → out row [ow, 4]: RGB sums, alpha 255 (its exact resized value). */
function rowRgb(row: Uint32Array, cx: Coefficients, ow: number, out: Uint8Array, o: number): void {
  const { ksize, bounds, kk } = cx;
  for (let x = 0; x < ow; x++, o += 4) {
    const n = bounds[2 * x + 1] as number;
    const k0 = x * ksize;
    let p = bounds[2 * x] as number;
    let r = HALF;
    let g = HALF;
    let b = HALF;
    for (let i = 0; i < n; i++, p++) {
      const k = kk[k0 + i] as number;
      const v = row[p] as number;
      r = (r + Math.imul(v & 255, k)) | 0;
      g = (g + Math.imul((v >>> 8) & 255, k)) | 0;
      b = (b + Math.imul((v >>> 16) & 255, k)) | 0;
    }
    out[o] = clip8(r);
    out[o + 1] = clip8(g);
    out[o + 2] = clip8(b);
    out[o + 3] = 255;
  }
}

/** One premultiplied row [w] (RGBa as uint32) → out row [ow, 4], alpha resized too. */
function rowRgba(row: Uint32Array, cx: Coefficients, ow: number, out: Uint8Array, o: number): void {
  const { ksize, bounds, kk } = cx;
  for (let x = 0; x < ow; x++, o += 4) {
    const n = bounds[2 * x + 1] as number;
    const k0 = x * ksize;
    let p = bounds[2 * x] as number;
    let r = HALF;
    let g = HALF;
    let b = HALF;
    let a = HALF;
    for (let i = 0; i < n; i++, p++) {
      const k = kk[k0 + i] as number;
      const v = row[p] as number;
      r = (r + Math.imul(v & 255, k)) | 0;
      g = (g + Math.imul((v >>> 8) & 255, k)) | 0;
      b = (b + Math.imul((v >>> 16) & 255, k)) | 0;
      a = (a + Math.imul(v >>> 24, k)) | 0;
    }
    out[o] = clip8(r);
    out[o + 1] = clip8(g);
    out[o + 2] = clip8(b);
    out[o + 3] = clip8(a);
  }
}

/** Horizontal pass of `count` source rows (RGBA8 [count, w, 4]) into tmp rows tmpRow… ([·, ow, 4]). */
function horizontal(src: Uint8Array, count: number, w: number, cx: Coefficients, ow: number,
  tmp: Uint8Array, tmpRow: number, scratch: Uint8Array): void {
  const src32 = words(src);
  const scratch32 = words(scratch);
  for (let r = 0; r < count; r++) {
    const row = src.subarray(r * w * 4, (r + 1) * w * 4);
    let opaque = true;
    for (let i = 3; i < row.length; i += 4) {
      if (row[i] !== 255) {
        opaque = false;
        break;
      }
    }
    if (opaque) {
      rowRgb(src32.subarray(r * w, (r + 1) * w), cx, ow, tmp, (tmpRow + r) * ow * 4);
    } else {
      premultiply(row, scratch);
      rowRgba(scratch32, cx, ow, tmp, (tmpRow + r) * ow * 4);
    }
  }
}

/** Vertical pass into every output row from `src` (RGBA8 [·, ow, 4] whose first row is source row `shift`). */
function vertical(src: Uint8Array, shift: number, ow: number, cy: Coefficients, out: Uint8ClampedArray, acc: Int32Array): void {
  const { ksize, bounds, kk } = cy;
  const width = ow * 4;
  const oh = out.length / width;
  for (let y = 0; y < oh; y++) {
    const ymin = (bounds[2 * y] as number) - shift;
    const n = bounds[2 * y + 1] as number;
    acc.fill(HALF);
    for (let i = 0; i < n; i++) {
      const k = kk[y * ksize + i] as number;
      const base = (ymin + i) * width;
      for (let j = 0; j < width; j++) acc[j] = ((acc[j] as number) + Math.imul(src[base + j] as number, k)) | 0;
    }
    const o = y * width;
    for (let j = 0; j < width; j++) out[o + j] = clip8(acc[j] as number);
  }
}

/** A Uint8Array view of the same memory (one array type keeps the hot loops monomorphic). */
function bytes(a: Uint8Array | Uint8ClampedArray): Uint8Array {
  return a instanceof Uint8Array ? a : new Uint8Array(a.buffer, a.byteOffset, a.length);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** RGBA8 bytes as one uint32 per pixel (R in the low byte); copies when the offset is not aligned. */
function words(a: Uint8Array): Uint32Array {
  if (!LITTLE_ENDIAN) throw new Error('lanczos.ts reads pixels as little-endian uint32');
  const aligned = a.byteOffset % 4 === 0 ? a : a.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
}

/** Pillow rgba2rgbA: undo the premultiplication, (255·v) / a in integers unless a is 0 or 255. */
function unpremultiply(rgba: Uint8ClampedArray): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3] as number;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < 3; c++) rgba[i + c] = Math.min(255, Math.trunc((255 * (rgba[i + c] as number)) / a));
  }
}

/**
 * RGBA8 rows from `src` → RGBA8 [oh, ow, 4], reading the source a strip of about STRIP_PIXELS at a
 * time. Memory besides the output: the strips and one RGBA8 [rows used, ow] temporary (40 MB for
 * 12000×8000 → 1254×836). Throws RangeError for sizes that are not positive integers.
 */
export function resizeRows(src: RowSource, ow: number, oh: number): Uint8ClampedArray {
  const { width: w, height: h } = src;
  for (const v of [w, h, ow, oh]) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`resize ${w}×${h} → ${ow}×${oh}: sizes must be positive integers`);
  }
  const out = new Uint8ClampedArray(ow * oh * 4);
  if (ow === w && oh === h) {
    out.set(src.rows(0, h));
    return out;
  }
  const cy = oh !== h ? coefficients(h, oh) : null;
  // Rows of the source the vertical pass reads (Resample.c ybox_first / ybox_last).
  const first = cy ? (cy.bounds[0] as number) : 0;
  const last = cy ? (cy.bounds[2 * oh - 2] as number) + (cy.bounds[2 * oh - 1] as number) : h;
  const strip = Math.max(1, Math.floor(STRIP_PIXELS / w));
  let mid: Uint8Array;
  if (ow !== w) {
    const cx = coefficients(w, ow);
    mid = cy ? new Uint8Array((last - first) * ow * 4) : bytes(out);
    const scratch = new Uint8Array(w * 4);
    for (let y = first; y < last; y += strip) {
      const count = Math.min(strip, last - y);
      horizontal(bytes(src.rows(y, count)), count, w, cx, ow, mid, y - first, scratch);
    }
  } else {
    mid = new Uint8Array((last - first) * w * 4);
    for (let y = first; y < last; y += strip) {
      const count = Math.min(strip, last - y);
      premultiply(src.rows(y, count), mid.subarray((y - first) * w * 4)); // the identity on opaque pixels
    }
  }
  if (cy) vertical(mid, first, ow, cy, out, new Int32Array(ow * 4));
  unpremultiply(out);
  return out;
}

/** An RGBA8 array [h, w, 4] as a RowSource. */
export function arrayRows(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): RowSource {
  return { width, height, rows: (y0, count) => rgba.subarray(y0 * width * 4, (y0 + count) * width * 4) };
}

/** RGBA8 [h, w, 4] → [oh, ow, 4]. Throws RangeError for sizes that are not positive integers. */
export function resizeLanczos(rgba: Uint8Array | Uint8ClampedArray, w: number, h: number, ow: number, oh: number): Uint8ClampedArray {
  return resizeRows(arrayRows(rgba, w, h), ow, oh);
}
