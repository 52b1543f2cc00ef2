/**
 * Host-side RoPE (cos, sin) tables for ops.rope: built on the CPU because WGSL sin/cos lose
 * accuracy for large angles. Both return [S, Dh/2, 2] f32 with (cos, sin) of each rotated pair.
 */
import { assert } from '../util/assert';
import { type CpuTensor, cpuTensor } from '../ops/cpu/tensor';

/**
 * FLUX.2 multi-axis table. ids: [S, A] positions per axis (A = axesDims.length; klein: (t, h, w, l)),
 * axesDims: [A] head-dim share of each axis (even; sum = Dh) → [S, Dh/2, 2].
 * For axis a and k ∈ [0, d_a/2): ω = 1/theta^(2k/d_a), angle = pos_a·ω; pairs are laid out axis
 * after axis (axis 0's d_a/2 pairs first). float64 math, cast to f32: matches diffusers
 * Flux2PosEmbed → get_1d_rotary_pos_embed(use_real=True, repeat_interleave_real=True,
 * freqs_dtype=float64), whose repeat_interleave gives each pair (2p, 2p+1) the same angle.
 */
export function fluxRopeTable(ids: Int32Array, axesDims: readonly number[], theta: number): CpuTensor {
  const axes = axesDims.length;
  assert(axes > 0 && ids.length % axes === 0, () => `fluxRopeTable: ${ids.length} ids are not rows of ${axes} axes`);
  assert(axesDims.every((d) => d > 0 && d % 2 === 0), () => `fluxRopeTable: axis dims [${axesDims.join(', ')}] must be even`);
  const s = ids.length / axes;
  const half = axesDims.reduce((a, d) => a + d, 0) / 2;
  const out = new Float32Array(s * half * 2);
  for (let t = 0; t < s; t++) {
    let p = 0; // pair index within the head
    for (let a = 0; a < axes; a++) {
      const d = axesDims[a] as number;
      const pos = ids[t * axes + a] as number;
      for (let k = 0; k < d / 2; k++, p++) {
        const angle = pos * (1 / theta ** ((2 * k) / d));
        out[(t * half + p) * 2] = Math.cos(angle);
        out[(t * half + p) * 2 + 1] = Math.sin(angle);
      }
    }
  }
  return cpuTensor(out, [s, half, 2]);
}

/**
 * Qwen3 table for positions 0..seqLen−1 → [seqLen, headDim/2, 2]. Matches transformers
 * Qwen3RotaryEmbedding (default rope): inv_freq_i = 1.0 / (base ** (arange(0, dim, 2).float() / dim))
 * in float32 (exponent, power and quotient each rounded to f32), angle = f32(pos · inv_freq_i),
 * then cos/sin of that f32 angle (here in float64, cast to f32). Pair i rotates (i, i + headDim/2).
 */
export function qwenRopeTable(seqLen: number, headDim: number, theta: number): CpuTensor {
  assert(headDim > 0 && headDim % 2 === 0, () => `qwenRopeTable: head dim ${headDim} must be even`);
  const half = headDim / 2;
  const f = Math.fround;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = f(1 / f(f(theta) ** f((2 * i) / headDim)));
  const out = new Float32Array(seqLen * half * 2);
  for (let pos = 0; pos < seqLen; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = f(pos * (invFreq[i] as number));
      out[(pos * half + i) * 2] = Math.cos(angle);
      out[(pos * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return cpuTensor(out, [seqLen, half, 2]);
}
