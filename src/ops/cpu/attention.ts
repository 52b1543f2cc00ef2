import type { AttentionOptions } from '../ops';
import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';
import { f16BitsToF32, f32ToF16Bits } from '../../util/dtype';

const toF16 = (v: number): number => f16BitsToF32(f32ToF16Bits(v));

/**
 * Multi-head attention, the obvious loops in float64 with an explicit softmax per row.
 * q: [Sq, H·Dh], k, v: [Sk, Hkv·Dh] (or column windows of wider rows: AttentionViews) → [Sq, H·Dh],
 * rounded to f16 with `f16`; out = softmax(q·kᵀ/√Dh + mask)·v per head.
 * GQA: query head h reads kv head ⌊h/(H/Hkv)⌋ (transformers repeat_kv). `causal`: key j visible to
 * query i iff j ≤ i (needs Sq = Sk). `keyMask`: [Sk], 0 = masked key. `batches` B: B independent
 * sequences of Sq/B query and Sk/B key rows (AttentionViews.batches).
 * Masked keys get probability exactly 0: transformers' eager attention adds the f32 minimum, which
 * gives the same result whenever a row keeps a visible key. A row with no visible key returns zeros
 * (transformers would average all values there; with right padding that never happens).
 * Errors: shape mismatches, H not a multiple of Hkv.
 */
export function attention(q: CpuTensor, k: CpuTensor, v: CpuTensor, opts: AttentionOptions<CpuTensor>): CpuTensor {
  const { heads, kvHeads, causal = false, keyMask = null } = opts;
  const [sq, qWidth] = q.shape as [number, number];
  const [sk, kWidth] = k.shape as [number, number];
  const vWidth = v.shape[1] as number;
  assert(heads > 0 && kvHeads > 0 && heads % kvHeads === 0, () => `attention: ${heads} heads not a multiple of ${kvHeads} kv heads`);
  const dh = opts.headDim ?? qWidth / heads;
  assert(q.shape.length === 2 && Number.isInteger(dh), () => `attention: q ${fmtShape(q.shape)} not [Sq, ${heads}·Dh]`);
  const qCols = heads * dh;
  const kvCols = kvHeads * dh;
  const [qCol, kCol, vCol] = [opts.qCol ?? 0, opts.kCol ?? 0, opts.vCol ?? 0];
  assert(qCol + qCols <= qWidth && kCol + kvCols <= kWidth && vCol + kvCols <= vWidth, () => `attention: windows of q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`);
  assert(v.shape[0] === sk, () => `attention: v ${fmtShape(v.shape)} and k ${fmtShape(k.shape)} have different lengths`);
  assert(!causal || sq === sk, () => `attention: causal needs Sq = Sk, got ${sq}, ${sk}`);
  assert(keyMask === null || keyMask.data.length === sk, () => `attention: keyMask has ${keyMask?.data.length} values, want ${sk}`);

  const batches = opts.batches ?? 1;
  assert(Number.isInteger(batches) && batches >= 1 && sq % batches === 0 && sk % batches === 0, () => `attention: ${batches} batches do not divide Sq ${sq} and Sk ${sk}`);
  const [sqb, skb] = [sq / batches, sk / batches]; // rows of one sequence
  const scale = 1 / Math.sqrt(dh);
  const group = heads / kvHeads;
  const out = new Float32Array(sq * qCols);
  const p = new Float64Array(skb); // probabilities of one row
  for (let h = 0; h < heads; h++) {
    const qOff = h * dh;
    const kvOff = Math.floor(h / group) * dh;
    for (let qi = 0; qi < sq; qi++) {
      const b = Math.floor(qi / sqb);
      const i = qi - b * sqb; // row within its sequence
      // scores s_j = q_i·k_j·scale over visible keys of sequence b; invisible keys stay at −∞ (probability 0)
      let max = -Infinity;
      for (let j = 0; j < skb; j++) {
        const kj = b * skb + j;
        const visible = (!causal || j <= i) && (keyMask === null || keyMask.data[kj] !== 0);
        let s = -Infinity;
        if (visible) {
          s = 0;
          for (let d = 0; d < dh; d++) s += (q.data[qi * qWidth + qCol + qOff + d] as number) * (k.data[kj * kWidth + kCol + kvOff + d] as number);
          s *= scale;
        }
        p[j] = s;
        if (s > max) max = s;
      }
      if (max === -Infinity) continue; // no visible key: the output row stays zero
      let sum = 0;
      for (let j = 0; j < skb; j++) {
        p[j] = Math.exp((p[j] as number) - max);
        sum += p[j] as number;
      }
      for (let d = 0; d < dh; d++) {
        let o = 0;
        for (let j = 0; j < skb; j++) o += (p[j] as number) * (v.data[(b * skb + j) * vWidth + vCol + kvOff + d] as number);
        out[qi * qCols + qOff + d] = opts.f16 ? toF16(o / sum) : o / sum;
      }
    }
  }
  return cpuTensor(out, [sq, qCols], opts.f16 === true);
}
