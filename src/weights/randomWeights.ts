/**
 * Random bf16 weights in place of a checkpoint (benchmarks): the same `get(name, shape)` the model
 * loaders call on a WeightLoader, answered with seeded noise at a plausible scale, so activations
 * stay finite through the whole pipeline:
 * - ≥ 2-D (linear [out, in], conv [Co, Ci, kh, kw], embedding [V, D]): ±[s, 2s) with a random
 *   sign and mantissa, s = 2^⌊log2(1/(1.5·√fan_in))⌋, i.e. RMS ≈ 1/√fan_in within a factor 2;
 * - 1-D: `running_var` U[0.5, 2], `running_mean` and `*.bias` U[−0.02, 0.02], norm weights 1 ± 0.1.
 * Fast enough for the 4B model: the ≥ 2-D path writes bf16 bit patterns straight from a
 * xorshift32 stream (two weights per draw) into one reused scratch array; nothing is kept on the
 * host after `ops.weight` (which copies). Each tensor's stream is seeded from (seed, name), and each
 * token embedding row from (seed, name, id), so a tensor has the same values however often and in
 * whatever order it is made (low-memory mode makes each stage's weights again for every image).
 * With `quant`, 2-D weights are made directly in their quantized layout (util/quant.ts; the format
 * per tensor from quantRule.ts): random codes with
 * per-group scales (and q4 mins) that give the same ±[s, 2s) range, so benchmarks of q4/q8 models
 * need no host-side quantization of 4 B values.
 */
import type { Ops } from '../ops/ops';
import { numel } from '../util/assert';
import { type QuantFormat, bf16ToF32, f32ToF16Bits } from '../util/dtype';
import { quantLayout } from '../util/quant';
import type { StorageFormat, TokenEmbedding, WeightGetter } from './weightGetter';
import type { QuantizeOnLoad } from './load';
import { quantFormatFor } from './quantRule';

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** FNV-1a of `s`, mixed into `seed`: a nonzero xorshift32 state. */
function streamState(seed: number, s: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

/** bf16 bits of f32 `v` (truncation; exact for the values used here up to 1 ulp). */
function bf16Bits(v: number): number {
  F32[0] = v;
  return (U32[0] as number) >>> 16;
}

export class RandomWeights<T> implements WeightGetter<T> {
  /** Bytes produced so far (bf16). */
  loadedBytes = 0;
  private scratch = new Uint16Array(0);
  private state = 1;
  private readonly seed: number;

  constructor(
    private readonly ops: Ops<T>,
    seed = 1,
    /**
     * Store `component`'s weights in the formats quantizing to `format` gives them (quantRule.ts, as
     * a q4/q8 pack or quantize-on-load stores them: 2-D weights quantized, none of the VAE's).
     */
    private readonly quant?: QuantizeOnLoad,
  ) {
    this.seed = Math.imul(seed + 1, 0x9e3779b9) >>> 0;
  }

  storageFormat(name: string, shape: readonly number[]): StorageFormat {
    return { format: this.quantFormat(name, shape) ?? 'bf16' };
  }

  private quantFormat(name: string, shape: readonly number[]): QuantFormat | null {
    return this.quant ? quantFormatFor(this.quant.component, name, shape, this.quant.format) : null;
  }

  async get(name: string, shape: readonly number[]): Promise<T> {
    const q = this.quantFormat(name, shape);
    if (q) return this.getQuantized(name, shape[0] as number, shape[1] as number, q);
    const n = numel(shape);
    if (this.scratch.length < n) this.scratch = new Uint16Array(Math.max(n, 2 * this.scratch.length));
    const out = this.scratch.subarray(0, n);
    this.state = streamState(this.seed, name);
    if (shape.length >= 2) this.fillSpread(out, numel(shape.slice(1)));
    else if (/running_var$/.test(name)) this.fillUniform(out, 0.5, 2);
    else if (/(running_mean|\.bias)$/.test(name)) this.fillUniform(out, -0.02, 0.02);
    else this.fillUniform(out, 0.9, 1.1);
    this.loadedBytes += 2 * n;
    return this.ops.weight(new Uint8Array(out.buffer, out.byteOffset, 2 * n), 'bf16', shape, name);
  }

  /** rows × cols in `format`: uniform random codes; per group q8 scale s/64, or q4 min −2s and scale 4s/15 (values within ±2s). */
  private getQuantized(name: string, rows: number, cols: number, format: QuantFormat): T {
    const L = quantLayout(format, rows, cols);
    const data = new Uint8Array(L.byteLength);
    const codes = new Uint32Array(data.buffer, 0, L.scaleOffset / 4);
    let x = streamState(this.seed, name);
    for (let i = 0; i < codes.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      codes[i] = x >>> 0;
    }
    const s = 2 ** Math.floor(Math.log2(1 / (1.5 * Math.sqrt(cols))));
    const table = (L.minOffset < 0 ? L.byteLength - L.scaleOffset : L.minOffset - L.scaleOffset) / 2;
    new Uint16Array(data.buffer, L.scaleOffset, table).fill(f32ToF16Bits(format === 'q8' ? s / 64 : (4 * s) / 15));
    if (L.minOffset >= 0) new Uint16Array(data.buffer, L.minOffset, table).fill(f32ToF16Bits(-2 * s));
    this.loadedBytes += L.byteLength;
    return this.ops.weight(data, format, [rows, cols], name);
  }

  /** Random [V, D] rows with the ≥ 2-D scale (fan_in = D), made per id on lookup; none are counted in `loadedBytes`. */
  tokenEmbedding(name: string, shape: readonly [number, number]): TokenEmbedding {
    const [v, d] = shape;
    return {
      shape,
      rows: async (ids) => {
        const bits = new Uint16Array(ids.length * d);
        for (const [t, id] of ids.entries()) {
          if (!(id >= 0 && id < v)) throw new Error(`${name}: id ${id} at position ${t} outside the table's [0, ${v})`);
          this.state = streamState(this.seed, `${name}[${id}]`);
          this.fillSpread(bits.subarray(t * d, (t + 1) * d), d);
        }
        return bf16ToF32(bits);
      },
    };
  }

  /** ±[s, 2s), s = 2^⌊log2(1/(1.5·√fanIn))⌋: bf16 = sign | exponent of s | random 7-bit mantissa. */
  private fillSpread(out: Uint16Array, fanIn: number): void {
    const e = Math.floor(Math.log2(1 / (1.5 * Math.sqrt(fanIn))));
    const expBits = ((e + 127) & 0xff) << 7;
    let x = this.state;
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = (x & 0x807f) | expBits;
      out[i + 1] = ((x >>> 16) & 0x807f) | expBits;
    }
    if (i < n) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = (x & 0x807f) | expBits;
    }
    this.state = x >>> 0 || 1;
  }

  private fillUniform(out: Uint16Array, lo: number, hi: number): void {
    let x = this.state;
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = bf16Bits(lo + ((x >>> 0) / 4294967296) * (hi - lo));
    }
    this.state = x >>> 0 || 1;
  }
}
