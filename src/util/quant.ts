/**
 * Group-quantized weight formats for linear layers: `q8` (int8, symmetric), `q4` (4-bit,
 * asymmetric) and `q8m` (8-bit, asymmetric), each with one f16 scale (q4, q8m: and one f16 min) per
 * group of G consecutive weights along K. G is 64 (QUANT_GROUP) unless a tensor says otherwise: GGUF
 * blocks are repacked code for code at G = 32 or 16 (ggufRepack.ts), and every reader takes G from
 * the tensor. `quantize` produces the exact byte layout the fused kernels read (shaders/matmul_q.wgsl,
 * matvec_q.wgsl, gemm.wgsl); `dequantize` is its CPU inverse and the oracle. Which tensors of a model
 * get which format: src/weights/quantRule.ts.
 *
 *   q8:  code c ∈ [−127, 127], scale s = f16(max|w| / 127),  w ≈ c·s
 *   q4:  code c ∈ [0, 15], min m and scale s f16,            w ≈ m + c·s
 *   q8m: code c ∈ [0, 255], min m and scale s f16,           w ≈ m + c·s
 * Codes are round-half-away-from-zero of (w − m)/s using the f16-rounded s and m, then clamped: the
 * nearest code for the stored parameters. q4's m and s are chosen per group by minimising the
 * group's squared error over a few candidate ranges (`q4Params`; llama.cpp make_qkx2_quants' idea,
 * each candidate scored with its f16-rounded s and m), never worse than the plain min/max range
 * (m = f16(min w), s = f16((max w − m)/15), what packs stored before). q8m quantizes by that plain
 * min/max range (m = f16(min w), s = f16((max w − m)/255)).
 *
 * q8m exists for GGUF's 5-bit types with a free min, Q5_1 (y = d·q + m) and Q5_K
 * (y = d·sc·q − dmin·m), q ∈ 0…31: 32 levels do not fit q4's 16, and q8 has no min (folding it into
 * the codes would need m/s to be an integer). Its codes are unsigned, like q4's, so that a repack
 * stores GGUF's q and min as they are (Q5_1 bit for bit); signed codes (c = q − 16, centred) would
 * need the min m + 16·s, one more rounding, and the kernels read both as q4 does, a byte wide. No recipe asks for q8m: on float weights it is 2–15% better than q8
 * at equal bytes (G = 64 against q8's G = 32, table below), where q8's error is already a tenth of
 * q4's.
 *
 * Choice of format (measured by `npx vitest run src/util/quant.table.test.ts`, which prints these
 * rows: N = 256 rows, K = 3072, relative RMS error of W and of y = x·Wᵀ for x ~ N(0, 1) [16, K];
 * "gauss" W ~ N(0, 1/K), "t4" Student-t ν = 4 scaled to the same variance, "outl" gauss with 0.2%
 * of entries ×15; B/w counts codes + f16 scales (+ mins); all parameters f16 as stored):
 *
 *   | format          | G   | B/w    | gauss W | gauss y | t4 W   | t4 y   | outl W | outl y |
 *   | q8              | 32  | 1.0625 | 0.0054  | 0.0053  | 0.0074 | 0.0076 | 0.0082 | 0.0084 |
 *   | q8              | 64  | 1.0313 | 0.0059  | 0.0058  | 0.0090 | 0.0092 | 0.0109 | 0.0112 |
 *   | q8              | 128 | 1.0156 | 0.0065  | 0.0063  | 0.0109 | 0.0109 | 0.0147 | 0.0150 |
 *   | q4 sym, s=max/7 | 32  | 0.5625 | 0.0971  | 0.0946  | 0.1313 | 0.1326 | 0.1361 | 0.1373 |
 *   | q4 sym, s=−v/8  | 32  | 0.5625 | 0.0860  | 0.0850  | 0.1157 | 0.1161 | 0.1232 | 0.1254 |
 *   | q4 min/max      | 32  | 0.6250 | 0.0782  | 0.0776  | 0.0938 | 0.0955 | 0.0918 | 0.0931 |
 *   | q4 search       | 32  | 0.6250 | 0.0698  | 0.0695  | 0.0842 | 0.0844 | 0.0824 | 0.0820 |
 *   | q4 sym, s=max/7 | 64  | 0.5313 | 0.1076  | 0.1045  | 0.1600 | 0.1631 | 0.1786 | 0.1824 |
 *   | q4 sym, s=−v/8  | 64  | 0.5313 | 0.0949  | 0.0948  | 0.1408 | 0.1443 | 0.1619 | 0.1671 |
 *   | q4 min/max      | 64  | 0.5625 | 0.0897  | 0.0893  | 0.1173 | 0.1203 | 0.1190 | 0.1219 |
 *   | q4 search       | 64  | 0.5625 | 0.0821  | 0.0818  | 0.1079 | 0.1089 | 0.1097 | 0.1115 |
 *   | q4 sym, s=−v/8  | 128 | 0.5156 | 0.1032  | 0.1034  | 0.1696 | 0.1746 | 0.2156 | 0.2260 |
 *   | q4 min/max      | 128 | 0.5313 | 0.0999  | 0.0991  | 0.1441 | 0.1477 | 0.1562 | 0.1607 |
 *   | q4 search       | 128 | 0.5313 | 0.0926  | 0.0917  | 0.1332 | 0.1354 | 0.1451 | 0.1499 |
 *   | q8m min/max     | 32  | 1.1250 | 0.0046  | 0.0045  | 0.0055 | 0.0054 | 0.0054 | 0.0054 |
 *   | q8m min/max     | 64  | 1.0625 | 0.0053  | 0.0052  | 0.0069 | 0.0072 | 0.0070 | 0.0071 |
 *   ("s=−v/8": llama.cpp Q4_0 style, the largest-|w| value v maps to code −8 exactly; "q4 min/max"
 *   the earlier q4 rule, "q4 search" what `quantize` stores now: same layout and bytes.)
 *
 * The y error tracks the W error (x is independent of the rounding). q4: at equal bytes (0.5625)
 * asym G=64 and sym G=32 tie (±4%) with min/max ranges, and the search puts asym G=64 5–11% ahead
 * of sym G=32 (which has no min to fit); asym G=64 is also the published MLX klein 4-bit layout
 * (2.18 GB transformer) and the better on outlier rows; G=128 loses 20–30% on heavy tails for 6%
 * fewer bytes. The search lowers q4's error 7–11% at every G for ≈ 2.5× the quantization time
 * (`q4Params`; ≈ 53 vs 21 ms of CPU per million weights). q8: every G is ≤ 1.5% error; G=64 shares
 * the q4 group size. The same search for q8 (trial scales, least-squares s) was measured at 3–8%
 * less error (gauss G=64 0.0059 → 0.0055 with 21 trial scales) for a cost like q4's search, and is
 * not used: q8's error is already a tenth of q4's.
 *
 * Byte layout of `data` (one buffer, little-endian; R rows, K cols, Kp = K rounded up to G,
 * g = Kp/G groups per row; sections start on 4-byte boundaries):
 *   codes  @ 0:           R × Kp·bits/32 u32 words; row r starts at word r·Kp·bits/32; element k of
 *                          the row is byte k%4 of word k/4 (q8: two's complement; q8m: unsigned) or
 *                          nibble k%8 (bits 4·(k%8)) of word k/8 (q4, unsigned)
 *   scales @ scaleOffset:  R × g f16, flat index r·g + k/G, two per u32 word, low half first
 *   mins   @ minOffset:    (q4, q8m: QUANT_HAS_MIN) same layout as scales
 * Columns K..Kp−1 (when K is not a multiple of G; the real model's K are all multiples of 128)
 * hold code 0 and are never read; group statistics use the real columns only.
 */
import { assert } from './assert';
import { type QuantFormat, type QuantLayoutFormat, type WeightFormat, f16BitsToF32, f32ToF16Bits } from './dtype';

export type { QuantFormat, QuantLayoutFormat, WeightFormat };

/** Whether `f` is a format a recipe or `--quant` may ask for: q8 or q4 (not q8m, see the file comment). */
export function isQuantFormat(f: string): f is QuantFormat {
  return f === 'q8' || f === 'q4';
}

/** Whether a stored weight in format `f` has a quantized layout (q8, q4 or q8m) rather than a plain dtype. */
export function isQuantLayoutFormat(f: string): f is QuantLayoutFormat {
  return f === 'q8' || f === 'q4' || f === 'q8m';
}

/** Bits per code of each format. */
export const QUANT_BITS: Readonly<Record<QuantLayoutFormat, number>> = { q8: 8, q4: 4, q8m: 8 };
/** Whether each format stores a min per group (w ≈ m + c·s, unsigned codes) besides its scale. */
export const QUANT_HAS_MIN: Readonly<Record<QuantLayoutFormat, boolean>> = { q8: false, q4: true, q8m: true };
/**
 * Default group size G of each format (see the table above): what `quantize` makes and a tensor
 * without its own G has (q8m: the GGUF Q5_1 block / Q5_K sub-block it is repacked from).
 */
export const QUANT_GROUP: Readonly<Record<QuantLayoutFormat, number>> = { q8: 64, q4: 64, q8m: 32 };

export interface QuantizedTensor {
  readonly format: QuantLayoutFormat;
  readonly rows: number;
  readonly cols: number;
  readonly groupSize: number;
  /** The exact GPU layout (see the file comment and `quantLayout`). */
  readonly data: Uint8Array;
}

export interface QuantLayout {
  groupSize: number;
  /** Kp: cols rounded up to a multiple of groupSize. */
  paddedCols: number;
  /** Groups per row, Kp / G. */
  groups: number;
  /** u32 code words per row. */
  codeWordsPerRow: number;
  /** Byte offsets of the sections; minOffset is −1 for q8 (no mins). */
  scaleOffset: number;
  minOffset: number;
  byteLength: number;
}

/**
 * Section offsets and sizes for a [rows, cols] weight in `format` with `group` weights per scale.
 * Errors: assertion failures for an empty shape or a group that is not a positive multiple of 8
 * (a u32 code word must not straddle two groups: the kernels read one scale per word).
 */
export function quantLayout(format: QuantLayoutFormat, rows: number, cols: number, group = QUANT_GROUP[format]): QuantLayout {
  assert(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1, () => `quantLayout: bad shape [${rows}, ${cols}]`);
  assert(Number.isInteger(group) && group >= 8 && group % 8 === 0, () => `quantLayout: group size ${group} is not a positive multiple of 8`);
  const G = group;
  const paddedCols = Math.ceil(cols / G) * G;
  const groups = paddedCols / G;
  const codeWordsPerRow = (paddedCols * QUANT_BITS[format]) / 32;
  const tableBytes = Math.ceil((rows * groups) / 2) * 4; // f16 pairs in u32 words
  const scaleOffset = rows * codeWordsPerRow * 4;
  const minOffset = QUANT_HAS_MIN[format] ? scaleOffset + tableBytes : -1;
  const byteLength = scaleOffset + tableBytes * (QUANT_HAS_MIN[format] ? 2 : 1);
  return { groupSize: G, paddedCols, groups, codeWordsPerRow, scaleOffset, minOffset, byteLength };
}

const roundHalfAway = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

/**
 * The q4 range search of `quantize` (see `q4Params`): trial scales (15 + Q4_TRIAL_FIRST +
 * k·Q4_TRIAL_STEP) / (max − min) for k = 0 … Q4_TRIALS − 1, i.e. 14, 14.4, … 16 steps across the
 * group's range (llama.cpp make_qkx2_quants tries 14, 14.1, … 16), then at most Q4_REFINE rounds of
 * "nearest codes, then least squares". Measured on the table's gauss W at G = 64 (min/max 0.0897):
 * 21 trials at 0.1 step 0.0819, 11 at 0.2 0.0820, these 6 0.0821 for about half the time of 11,
 * refinement alone (no trials) 0.0849; a third refinement round changes < 0.1%.
 */
const Q4_TRIALS = 6;
const Q4_TRIAL_FIRST = -1;
const Q4_TRIAL_STEP = 0.4;
const Q4_REFINE = 2;

/** One group's values (f64) during the q4 search; grown on demand, never shrunk. */
let groupValues = new Float64Array(64);
/** Σl, Σl², Σx·l of the codes `nearestSums` last computed. */
let sumL = 0;
let sumL2 = 0;
let sumXL = 0;

/** Sums of the nearest q4 codes c = clamp(round((x − m)/s), 0, 15) of v[0..n) for f16 values s > 0, m. */
function nearestSums(v: Float64Array, n: number, s: number, m: number): void {
  let a = 0;
  let b = 0;
  let c = 0;
  const inv = 1 / s; // the search may round a code differently from (x − m)/s at an exact half; the stored codes divide
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    const t = (x - m) * inv;
    const l = t <= 0 ? 0 : t >= 14.5 ? 15 : (t + 0.5) | 0; // t + 0.5 > 0: truncation is floor
    a += l;
    b += l * l;
    c += l * x;
  }
  sumL = a;
  sumL2 = b;
  sumXL = c;
}

/**
 * f16 bits of one q4 group's scale s and min m, `scaleBits + 65536·minBits`: the pair of f16 values
 * with the least squared error Σ(x − m − c·s)² over the group's n > 0 values v[0..n), c the nearest
 * codes, among the candidates
 *   1. min/max: m = f16(min x), s = f16((max x − m)/15) (what earlier packs stored);
 *   2. per trial scale iscale (Q4_TRIALS of them): codes
 *      clamp(round((x − min x)·iscale), 0, 15), then the least-squares s and m for those codes
 *      (Σ(x − m − c·s)² minimal), each rounded to f16;
 *   3. up to Q4_REFINE refinements of the best so far: its nearest codes, their least-squares s and
 *      m in f16, kept while the error falls.
 * A candidate's error is Σx² − 2sΣxl − 2mΣx + s²Σl² + 2smΣl + n·m² for its codes l and the f16 s, m
 * (exact for those codes, f64 sums); the codes `quantize` then stores are the nearest for the chosen
 * s and m, whose error is no larger. So no group is worse than with min/max, and the result is
 * deterministic (IEEE f64, no randomness). A constant group (max = min) keeps min/max: s = 0, m =
 * f16(x). Candidates whose s is not a positive finite f16 or whose m is not finite are skipped.
 */
function q4Params(v: Float64Array, n: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  let sx = 0;
  let sx2 = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i] as number;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
    sx += x;
    sx2 += x * x;
  }
  let mBits = f32ToF16Bits(lo);
  let m = f16BitsToF32(mBits);
  let sBits = f32ToF16Bits((hi - m) / 15);
  let s = f16BitsToF32(sBits);
  if (!(hi > lo) || !(s > 0) || !Number.isFinite(s) || !Number.isFinite(m)) return sBits + 65536 * mBits;
  nearestSums(v, n, s, m);
  let best = groupError(n, sx, sx2, s, m, sumL, sumL2, sumXL);
  const range = hi - lo;
  for (let k = 0; k < Q4_TRIALS; k++) {
    const iscale = (15 + Q4_TRIAL_FIRST + k * Q4_TRIAL_STEP) / range;
    let a = 0;
    let b = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      const x = v[i] as number;
      const t = (x - lo) * iscale + 0.5; // ≥ 0.5: truncation is floor, i.e. round half up
      const l = t >= 15 ? 15 : t | 0;
      a += l;
      b += l * l;
      c += l * x;
    }
    const fit = leastSquares(n, sx, a, b, c);
    if (fit < 0) continue;
    const fs = f16BitsToF32(fit & 0xffff);
    const fm = f16BitsToF32(fit >>> 16);
    const e = groupError(n, sx, sx2, fs, fm, a, b, c);
    if (e < best) {
      best = e;
      sBits = fit & 0xffff;
      mBits = fit >>> 16;
    }
  }
  s = f16BitsToF32(sBits);
  m = f16BitsToF32(mBits);
  for (let r = 0; r < Q4_REFINE; r++) {
    nearestSums(v, n, s, m);
    const fit = leastSquares(n, sx, sumL, sumL2, sumXL);
    if (fit < 0) break;
    const fs = f16BitsToF32(fit & 0xffff);
    const fm = f16BitsToF32(fit >>> 16);
    if (!(groupError(n, sx, sx2, fs, fm, sumL, sumL2, sumXL) < groupError(n, sx, sx2, s, m, sumL, sumL2, sumXL))) break;
    sBits = fit & 0xffff;
    mBits = fit >>> 16;
    s = fs;
    m = fm;
  }
  return sBits + 65536 * mBits;
}

/** Σ(x − m − l·s)² of n values with Σx = sx, Σx² = sx2 and codes l with Σl, Σl², Σx·l = l1, l2, xl. */
function groupError(n: number, sx: number, sx2: number, s: number, m: number, l1: number, l2: number, xl: number): number {
  return sx2 - 2 * s * xl - 2 * m * sx + s * s * l2 + 2 * s * m * l1 + n * m * m;
}

/**
 * The least-squares s and m for n values (Σx = sx) and codes with Σl, Σl², Σx·l = l1, l2, xl,
 * rounded to f16: `scaleBits + 65536·minBits`, or −1 when the codes are all equal or the f16 s is
 * not positive and finite or m not finite.
 */
function leastSquares(n: number, sx: number, l1: number, l2: number, xl: number): number {
  const d = n * l2 - l1 * l1;
  if (!(d > 0)) return -1;
  const sBits = f32ToF16Bits((n * xl - sx * l1) / d);
  const mBits = f32ToF16Bits((l2 * sx - l1 * xl) / d);
  const s = f16BitsToF32(sBits);
  if (!(s > 0) || !Number.isFinite(s) || !Number.isFinite(f16BitsToF32(mBits))) return -1;
  return sBits + 65536 * mBits;
}

/**
 * w: [rows, cols] row-major f32 → the `format` layout with `group` weights per scale (see the file
 * comment): q8 s = f16(max|w|/127); q4 s and m from `q4Params`' error-minimising search; q8m
 * m = f16(min w), s = f16((max w − m)/255). Codes are the nearest for the stored f16 parameters.
 * Deterministic. Errors: assertion failures for w.length ≠ rows·cols and those of `quantLayout`.
 */
export function quantize(w: Float32Array, rows: number, cols: number, format: QuantLayoutFormat, group = QUANT_GROUP[format]): QuantizedTensor {
  assert(w.length === rows * cols, () => `quantize: ${w.length} values for [${rows}, ${cols}]`);
  const L = quantLayout(format, rows, cols, group);
  const G = L.groupSize;
  const data = new Uint8Array(L.byteLength);
  const words = new Uint32Array(data.buffer);
  const halves = new Uint16Array(data.buffer);
  if (groupValues.length < G) groupValues = new Float64Array(G);
  const v = groupValues;
  for (let r = 0; r < rows; r++) {
    const wi = r * L.codeWordsPerRow;
    for (let g = 0; g < L.groups; g++) {
      const k0 = g * G;
      const k1 = Math.min(k0 + G, cols);
      const gi = r * L.groups + g;
      if (format === 'q4') {
        for (let k = k0; k < k1; k++) v[k - k0] = w[r * cols + k] as number;
        const bits = q4Params(v, k1 - k0);
        const scaleBits = bits & 0xffff;
        const minBits = bits >>> 16;
        const s = f16BitsToF32(scaleBits);
        const m = f16BitsToF32(minBits);
        halves[L.scaleOffset / 2 + gi] = scaleBits;
        halves[L.minOffset / 2 + gi] = minBits;
        if (!(s > 0)) continue; // codes 0: every value is m
        for (let k = k0; k < k1; k++) {
          // round half away from zero of t, clamped to [0, 15] (negative t → 0)
          const t = ((w[r * cols + k] as number) - m) / s;
          const c = t > 0 ? Math.min(15, Math.round(t)) : 0;
          words[wi + (k >> 3)] = ((words[wi + (k >> 3)] as number) | (c << (4 * (k & 7)))) >>> 0;
        }
        continue;
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = k0; k < k1; k++) {
        const x = w[r * cols + k] as number;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (format === 'q8') {
        const scaleBits = f32ToF16Bits(Math.max(-lo, hi) / 127);
        const s = f16BitsToF32(scaleBits);
        halves[L.scaleOffset / 2 + gi] = scaleBits;
        for (let k = k0; k < k1; k++) {
          const c = s > 0 ? Math.max(-127, Math.min(127, roundHalfAway((w[r * cols + k] as number) / s))) : 0;
          words[wi + (k >> 2)] = ((words[wi + (k >> 2)] as number) | ((c & 0xff) << (8 * (k & 3)))) >>> 0;
        }
      } else {
        const minBits = f32ToF16Bits(lo);
        const m = f16BitsToF32(minBits);
        const scaleBits = f32ToF16Bits((hi - m) / 255);
        const s = f16BitsToF32(scaleBits);
        halves[L.scaleOffset / 2 + gi] = scaleBits;
        halves[L.minOffset / 2 + gi] = minBits;
        if (!(s > 0)) continue; // codes 0: every value is m
        for (let k = k0; k < k1; k++) {
          const t = ((w[r * cols + k] as number) - m) / s;
          const c = t > 0 ? Math.min(255, Math.round(t)) : 0;
          words[wi + (k >> 2)] = ((words[wi + (k >> 2)] as number) | (c << (8 * (k & 3)))) >>> 0;
        }
      }
    }
  }
  return { format, rows, cols, groupSize: G, data };
}

/** The layout → [rows, cols] f32 (exactly what the kernels compute per weight: c·s, or m + c·s rounded once). */
export function dequantize(q: QuantizedTensor): Float32Array {
  const L = quantLayout(q.format, q.rows, q.cols, q.groupSize);
  assert(q.data.byteLength === L.byteLength, () => `dequantize: ${q.data.byteLength} bytes for ${q.format}[${q.rows}, ${q.cols}] G=${q.groupSize}, want ${L.byteLength}`);
  const data = q.data.byteOffset % 4 === 0 ? q.data : q.data.slice();
  const words = new Uint32Array(data.buffer, data.byteOffset, L.byteLength / 4);
  const halves = new Uint16Array(data.buffer, data.byteOffset, L.byteLength / 2);
  const out = new Float32Array(q.rows * q.cols);
  const shift = QUANT_BITS[q.format] === 8 ? 2 : 3; // log2(codes per word)
  for (let r = 0; r < q.rows; r++) {
    for (let k = 0; k < q.cols; k++) {
      const gi = r * L.groups + Math.floor(k / L.groupSize);
      const s = f16BitsToF32(halves[L.scaleOffset / 2 + gi] as number);
      const word = words[r * L.codeWordsPerRow + (k >> shift)] as number;
      // c·s is exact in f64 (≤ 8-bit code × f16), and m + c·s too (f16 terms ≥ 2^−24, |c·s| < 2^24):
      // the Float32Array store rounds once, as the kernels' fma(c, s, m) in f32 does
      if (q.format === 'q8') out[r * q.cols + k] = ((word << (24 - 8 * (k & 3))) >> 24) * s; // sign-extend byte k%4
      else {
        const c = q.format === 'q8m' ? (word >>> (8 * (k & 3))) & 255 : (word >>> (4 * (k & 7))) & 15;
        out[r * q.cols + k] = f16BitsToF32(halves[L.minOffset / 2 + gi] as number) + c * s;
      }
    }
  }
  return out;
}

/** Relative RMS error ‖w − ŵ‖/‖w‖ and the largest |w − ŵ| of q against the original w. */
export function quantError(w: Float32Array, q: QuantizedTensor): { relRms: number; maxAbs: number } {
  const d = dequantize(q);
  assert(d.length === w.length, () => `quantError: ${w.length} values vs ${q.format}[${q.rows}, ${q.cols}]`);
  let err = 0;
  let ref = 0;
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) {
    const e = Math.abs((w[i] as number) - (d[i] as number));
    err += e * e;
    ref += (w[i] as number) ** 2;
    if (e > maxAbs) maxAbs = e;
  }
  return { relRms: ref > 0 ? Math.sqrt(err / ref) : Math.sqrt(err), maxAbs };
}

/** One line for a pack report: `name q4 [R, K] 0.5625 B/w relRms 8.9e-2 maxAbs 1.2e-3`. */
export function quantReport(name: string, w: Float32Array, rows: number, cols: number, format: QuantFormat): string {
  const q = quantize(w, rows, cols, format);
  const { relRms, maxAbs } = quantError(w, q);
  const bpw = q.data.byteLength / (rows * cols);
  return `${name} ${format} [${rows}, ${cols}] ${bpw.toFixed(4)} B/w relRms ${relRms.toExponential(2)} maxAbs ${maxAbs.toExponential(2)}`;
}
