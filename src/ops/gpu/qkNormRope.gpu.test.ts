/**
 * qk_norm_rope.wgsl against its CPU twin and against the unfused pair it replaces (rmsNorm then rope
 * on each window): both RoPE layouts, GQA, two weight sets split by row, f32 and f16 buffers; the
 * columns outside the q and k windows (v, padding) must come back unchanged.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../../testing/gpu';
import { expectClose } from '../../testing/expectClose';
import { Rng } from '../../util/rng';
import { f16ToF32, f32ToBf16, bf16ToF32, f32ToF16 } from '../../util/dtype';
import { qkNormRope as qkNormRopeCpu } from '../cpu/qkNormRope';
import { rmsNorm as rmsNormCpu } from '../cpu/rmsNorm';
import { rope as ropeCpu } from '../cpu/rope';
import { cpuTensor } from '../cpu/tensor';
import type { RopeLayout } from '../ops';
import { qkNormRope } from './qkNormRope';

// f32: the GPU sums squares in f32 (the twin in f64), then the same products; values O(1): observed
// max abs error 4.8e-7. f16 buffers: both round the results to f16, at most one ulp apart (2⁻¹⁰).
const TOL = { atol: 2e-6, rtol: 1e-5 };
const TOL_F16 = { atol: 4e-3, rtol: 2e-3 };

interface Case {
  name: string;
  s: number;
  heads: number;
  kvHeads: number;
  dh: number;
  layout: RopeLayout;
  f16: boolean;
  split?: number;
  /** Rows per sequence (QkNormRopeOptions.period): the table has this many rows. */
  period?: number;
}

const CASES: Case[] = [
  { name: 'FLUX-like: interleaved, 2 heads, text/image weights split at row 5', s: 13, heads: 2, kvHeads: 2, dh: 16, layout: 'interleaved', f16: false, split: 5 },
  { name: 'Qwen3-like: half-split, GQA 4:2, one weight set', s: 9, heads: 4, kvHeads: 2, dh: 16, layout: 'halfSplit', f16: false },
  { name: 'f16 buffer, interleaved, split', s: 11, heads: 2, kvHeads: 2, dh: 32, layout: 'interleaved', f16: true, split: 3 },
  { name: 'f16 buffer, half-split (elements of a pair in different words)', s: 7, heads: 2, kvHeads: 1, dh: 16, layout: 'halfSplit', f16: true },
  { name: 'batch of 2 (period 9): interleaved, split at row 4 of each sequence', s: 18, heads: 2, kvHeads: 2, dh: 16, layout: 'interleaved', f16: false, split: 4, period: 9 },
  { name: 'f16 batch of 3 (period 5), split at 2', s: 15, heads: 2, kvHeads: 2, dh: 32, layout: 'interleaved', f16: true, split: 2, period: 5 },
];

describe('qkNormRope (qk_norm_rope.wgsl)', () => {
  for (const c of CASES) {
    it(`matches the CPU twin and rmsNorm+rope: ${c.name}`, async () => {
      const ctx = await testGpu();
      const rng = new Rng(c.s * 7 + c.dh);
      const qCols = c.heads * c.dh;
      const kCols = c.kvHeads * c.dh;
      const pad = 6;
      const width = pad + qCols + kCols + kCols; // pad | q | k | v
      const [qCol, kCol] = [pad, pad + qCols];
      const raw = rng.normals(c.s * width, 2);
      const stored = c.f16 ? f16ToF32(f32ToF16(raw)) : raw;
      const tp = c.period ?? c.s; // table rows
      const angles = rng.normals(tp * (c.dh / 2), 3);
      const table = new Float32Array(tp * c.dh).map((_, i) => (i % 2 === 0 ? Math.cos(angles[i >> 1] as number) : Math.sin(angles[i >> 1] as number)));
      const wBits = [0, 1, 2, 3].map(() => f32ToBf16(rng.normals(c.dh, 0.1).map((v) => v + 1)));
      const wv = wBits.map((b) => bf16ToF32(b));
      const eps = 1e-6;
      const got = await ctx.read(
        ctx.tidy(() => {
          const x = c.f16 ? ctx.upload(f32ToF16(raw), [c.s, width], 'f16', 'x') : ctx.upload(raw, [c.s, width], 'f32', 'x');
          const w = wBits.map((b, i) => ctx.upload(b, [c.dh], 'bf16', `w${i}`));
          const after = c.split === undefined ? {} : { after: { split: c.split, normQ: w[2]!, normK: w[3]! } };
          return qkNormRope(ctx, x, ctx.upload(table, [tp, c.dh / 2, 2], 'f32', 'table'), { heads: c.heads, kvHeads: c.kvHeads, headDim: c.dh, qCol, kCol, normQ: w[0]!, normK: w[1]!, ...after, layout: c.layout, eps, ...(c.period ? { period: c.period } : {}) });
        }),
      );
      const wc = wv.map((v) => cpuTensor(v, [c.dh]));
      const after = c.split === undefined ? {} : { after: { split: c.split, normQ: wc[2]!, normK: wc[3]! } };
      const tableC = cpuTensor(table, [tp, c.dh / 2, 2]);
      const opts = { heads: c.heads, kvHeads: c.kvHeads, headDim: c.dh, qCol, kCol, normQ: wc[0]!, normK: wc[1]!, ...after, layout: c.layout, eps };
      const want = qkNormRopeCpu(cpuTensor(Float32Array.from(stored), [c.s, width]), tableC, { ...opts, ...(c.period ? { period: c.period } : {}) }, c.f16).data;
      if (c.period) {
        // the twin with a period equals the twin on each sequence alone
        for (let b = 0; b < c.s / c.period; b++) {
          const seq = stored.slice(b * c.period * width, (b + 1) * c.period * width);
          const alone = qkNormRopeCpu(cpuTensor(seq, [c.period, width]), tableC, opts, c.f16).data;
          expect(Array.from(want.subarray(b * c.period * width, (b + 1) * c.period * width)), `sequence ${b}`).toEqual(Array.from(alone));
        }
      }
      expectClose(got, want, c.f16 ? TOL_F16 : TOL, c.name);
      // outside the windows: bit-identical
      const outside = (a: Float32Array) => Array.from(a).filter((_, i) => i % width < pad || i % width >= pad + qCols + kCols);
      expect(outside(got)).toEqual(outside(stored));
      // the twin equals rmsNorm then rope of the q window of a row range (the unfused ops)
      if (!c.f16) {
        const rows = c.split ?? tp;
        const qWin = new Float32Array(rows * qCols).map((_, i) => stored[Math.floor(i / qCols) * width + qCol + (i % qCols)] as number);
        const unfused = ropeCpu(rmsNormCpu(cpuTensor(qWin, [rows, qCols]), wc[0]!, eps, c.dh), cpuTensor(table.subarray(0, rows * c.dh), [rows, c.dh / 2, 2]), c.heads, c.layout).data;
        const fused = new Float32Array(rows * qCols).map((_, i) => want[Math.floor(i / qCols) * width + qCol + (i % qCols)] as number);
        expectClose(fused, unfused, TOL, `${c.name}: twin vs rmsNorm + rope`);
      }
    });
  }
});
