import { describe, expect, it } from 'vitest';
import { linear as linearCpu } from '../cpu/linear';
import { cpuTensor } from '../cpu/tensor';
import { linear } from './linear';
import type { GpuContext, GpuTensor } from '../../gpu/context';
import { testGpu, testGpuVariants } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// Both sides use the same (decoded) weights; the GPU sums K products in f32 (fma, in a different
// order than the f64 CPU oracle), so the error grows like √K·ulp(|x|·|w|). Outputs are O(1) by
// construction (w scaled by 1/√K); observed max abs error 2.4e-6 (M = 130, K = 256) on SwiftShader.
const TOL = { atol: 5e-6, rtol: 1e-5 };

/** Uploads `values` as a tensor in `dtype`; returns it with the exactly decoded f32 values. */
function uploadAs(ctx: GpuContext, values: Float32Array, shape: number[], dtype: DType, label: string): [GpuTensor, Float32Array] {
  if (dtype === 'f32') return [ctx.upload(values, shape, 'f32', label), values];
  const bits = dtype === 'bf16' ? f32ToBf16(values) : f32ToF16(values);
  return [ctx.upload(bits, shape, dtype, label), dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits)];
}

interface Case {
  M: number;
  K: number;
  /** Weight rows (output features of the full weight). */
  N: number;
  dtype: DType;
  bias?: DType;
  rows?: [number, number];
}

// M ≤ 8 runs matvec.wgsl, M > 8 matmul.wgsl (64×64 tiles, K steps of 16). Odd K with an odd row
// start puts 16-bit rows mid-word; N, M, K not multiples of the tiles exercise the edges.
const CASES: Case[] = [
  { M: 1, K: 16, N: 1, dtype: 'f32' },
  { M: 1, K: 67, N: 33, dtype: 'bf16', bias: 'bf16' },
  { M: 1, K: 256, N: 200, dtype: 'f16', rows: [37, 130] },
  { M: 5, K: 67, N: 200, dtype: 'f16', bias: 'f32', rows: [3, 190] },
  { M: 8, K: 67, N: 33, dtype: 'bf16', bias: 'f16', rows: [1, 31] },
  { M: 9, K: 16, N: 33, dtype: 'bf16' },
  { M: 64, K: 67, N: 128, dtype: 'f32', bias: 'f32' },
  { M: 130, K: 256, N: 200, dtype: 'bf16', bias: 'bf16', rows: [1, 199] },
  { M: 130, K: 67, N: 33, dtype: 'f16', rows: [5, 27] },
];

describe('linear (matmul.wgsl, matvec.wgsl)', () => {
  for (const c of CASES) {
    const name = `M=${c.M} K=${c.K} N=${c.N} w:${c.dtype} bias:${c.bias ?? '-'} rows:${c.rows ?? 'all'}`;
    it(`matches the CPU twin: ${name}`, async () => {
      // matvec (M ≤ 8) has a subgroup variant: run both reductions
      const contexts = c.M <= 8 ? await testGpuVariants() : [{ name: 'default', ctx: await testGpu() }];
      for (const { name: variant, ctx } of contexts) {
        const rng = new Rng(c.M * 1000 + c.K * 10 + c.N);
        const xv = rng.normals(c.M * c.K);
        const wv = rng.normals(c.N * c.K, 1 / Math.sqrt(c.K));
        const bv = rng.normals(c.N);
        const got = await ctx.read(
          ctx.tidy(() => {
            const x = ctx.upload(xv, [c.M, c.K], 'f32', 'x');
            const [w, wDecoded] = uploadAs(ctx, wv, [c.N, c.K], c.dtype, 'w');
            wv.set(wDecoded);
            let bias: GpuTensor | null = null;
            if (c.bias) {
              const [b, bDecoded] = uploadAs(ctx, bv, [c.N], c.bias, 'b');
              bv.set(bDecoded);
              bias = b;
            }
            return linear(ctx, x, w, c.rows ? { bias, rows: c.rows } : { bias });
          }),
        );
        const bias = c.bias ? cpuTensor(bv, [c.N]) : null;
        const want = linearCpu(cpuTensor(xv, [c.M, c.K]), cpuTensor(wv, [c.N, c.K]), c.rows ? { bias, rows: c.rows } : { bias });
        expect(got.length).toBe(c.M * (c.rows?.[1] ?? c.N));
        expectClose(got, want.data, TOL, `${name} (${variant})`);
      }
    });
  }

  it('hand-checked values on both kernels, bf16 weights and bias, rows = [1, 2]', async () => {
    const ctx = await testGpu();
    // W rows: r0 = [9, 9, 9] (skipped by rows), r1 = [1, 0, −1], r2 = [0.5, 0.5, 0.5]; bias [99, 10, 20];
    // all exact in bf16. x row [1, 2, 3] → [1 − 3 + 10, 0.5·6 + 20] = [8, 23];
    // x row [4, 5, 6] → [4 − 6 + 10, 0.5·15 + 20] = [8, 27.5].
    const w = f32ToBf16(new Float32Array([9, 9, 9, 1, 0, -1, 0.5, 0.5, 0.5]));
    const b = f32ToBf16(new Float32Array([99, 10, 20]));
    for (const M of [2, 10]) { // 2 → matvec.wgsl; 10 (rows alternating) → matmul.wgsl
      const xv = new Float32Array(M * 3).map((_, i) => (Math.floor(i / 3) % 2) * 3 + (i % 3) + 1);
      const got = await ctx.read(
        ctx.tidy(() =>
          linear(ctx, ctx.upload(xv, [M, 3], 'f32', 'x'), ctx.upload(w, [3, 3], 'bf16', 'w'), {
            bias: ctx.upload(b, [3], 'bf16', 'b'),
            rows: [1, 2],
          }),
        ),
      );
      const want = Array.from({ length: M }, (_, m) => (m % 2 ? [8, 27.5] : [8, 23])).flat();
      expect(Array.from(got)).toEqual(want);
    }
  });

  it('rejects mismatched K, bad row ranges and wrong bias lengths', async () => {
    const ctx = await testGpu();
    ctx.tidy(() => {
      const x = ctx.upload(new Float32Array(6), [2, 3], 'f32', 'x');
      const w = ctx.upload(new Float32Array(8), [2, 4], 'f32', 'w');
      const w3 = ctx.upload(new Float32Array(6), [2, 3], 'f32', 'w3');
      expect(() => linear(ctx, x, w)).toThrow(/K \(3 vs 4\)/);
      expect(() => linear(ctx, x, w3, { rows: [1, 2] })).toThrow(/rows \[1, \+2\)/);
      expect(() => linear(ctx, x, w3, { bias: ctx.upload(new Float32Array(3), [3], 'f32', 'b') })).toThrow(/bias \[3\] for 2/);
    });
  });
});
