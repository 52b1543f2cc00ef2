import { describe, expect, it } from 'vitest';
import { linear as linearCpu } from '../cpu/linear';
import { cpuTensor } from '../cpu/tensor';
import { linear, uploadQuantized } from './linear';
import type { GpuTensor } from '../../gpu/context';
import { testGpu, testGpuVariants } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { bf16ToF32, f32ToBf16 } from '../../util/dtype';
import { QUANT_GROUP, type QuantLayoutFormat, dequantize, quantize } from '../../util/quant';
import { dequantize as ggmlDequantize } from '../../weights/ggufQuants';
import { GGUF_REPACK_EXACT, GGUF_REPACK_GROUP, repackGguf } from '../../weights/ggufRepack';
import { quantizeGgml } from '../../weights/ggufWrite';

// The oracle is the CPU linear (f64 sums) on dequantize(q), which is exactly the Ŵ the kernels form
// in registers (c·s exact in f32, mn + c·s rounded once: fma), so only the f32 accumulation order
// differs: error ~ √K·ulp(|x|·|w|). Outputs are O(1) (w ~ N(0, 1/K)); observed max abs error 2.6e-6
// (q4, M = 70, K = 256; ≤ 7e-7 for M ≤ 5; q8m alike) on SwiftShader, as for the bf16 kernels (linear.gpu.test.ts).
const TOL = { atol: 5e-6, rtol: 1e-5 };

interface Case {
  format: QuantLayoutFormat;
  M: number;
  K: number;
  N: number;
  rows?: [number, number];
  /** Weights per scale (the kernels' GROUP override); default QUANT_GROUP (q8/q4 64, q8m 32). */
  group?: number;
}

// M = 1, 5 run matvec_q.wgsl, M = 70 matmul_q.wgsl (two 64-row tiles). K = 64 is one group, 256 four;
// N = 33 leaves a partial tile / partial 8-output workgroup. Every case has a bf16 bias. q8m (GGUF
// Q5_1 / Q5_K repacks) at its default G = 32 and at 16.
const CASES: Case[] = [];
for (const format of ['q8', 'q4', 'q8m'] as const) {
  for (const M of [1, 5, 70]) {
    CASES.push({ format, M, K: 64, N: 33, rows: [3, 29] });
    CASES.push({ format, M, K: 256, N: 128, rows: [17, 100] });
  }
  CASES.push({ format, M: 70, K: 256, N: 33 });
  // G = 32 (GGUF repacks): K = 100 is 4 groups, the last with 4 real columns (3 groups of 64 would be 2);
  // G = 16 (GGUF Q3_K / Q6_K repacks): 7 groups, two per q4 code word pair, one per 4 q8 words
  for (const M of [3, 70]) CASES.push({ format, M, K: 100, N: 33, rows: [2, 30], group: 32 });
  for (const M of [3, 70]) CASES.push({ format, M, K: 100, N: 33, rows: [2, 30], group: 16 });
}

describe('linear on quantized weights (matmul_q.wgsl, matvec_q.wgsl)', () => {
  for (const c of CASES) {
    const name = `${c.format} G=${c.group ?? QUANT_GROUP[c.format]} M=${c.M} K=${c.K} N=${c.N} rows:${c.rows ?? 'all'}`;
    it(`matches the CPU linear on dequantize(q): ${name}`, async () => {
      // matvec (M ≤ 8) has a subgroup variant: run both reductions
      const contexts = c.M <= 8 ? await testGpuVariants() : [{ name: 'default', ctx: await testGpu() }];
      for (const { name: variant, ctx } of contexts) {
        const rng = new Rng(c.M * 1000 + c.K * 10 + c.N + { q8: 0, q4: 7, q8m: 13 }[c.format]);
        const xv = rng.normals(c.M * c.K);
        const q = quantize(rng.normals(c.N * c.K, 1 / Math.sqrt(c.K)), c.N, c.K, c.format, c.group);
        const bBits = f32ToBf16(rng.normals(c.N));
        const got = await ctx.read(
          ctx.tidy(() => {
            const x = ctx.upload(xv, [c.M, c.K], 'f32', 'x');
            const bias = ctx.upload(bBits, [c.N], 'bf16', 'b');
            return linear(ctx, x, uploadQuantized(ctx, q.data, c.format, [c.N, c.K], 'w', c.group), c.rows ? { bias, rows: c.rows } : { bias });
          }),
        );
        const bias = cpuTensor(bf16ToF32(bBits), [c.N]);
        const want = linearCpu(cpuTensor(xv, [c.M, c.K]), cpuTensor(dequantize(q), [c.N, c.K]), c.rows ? { bias, rows: c.rows } : { bias });
        expect(got.length).toBe(c.M * (c.rows?.[1] ?? c.N));
        expectClose(got, want.data, TOL, `${name} (${variant})`);
      }
    });
  }

  // GGUF blocks repacked (ggufRepack.ts) hold what `quantize` never writes: Q4_0's negative scales
  // (d = max / −8) with min −8·d > 0, Q4_1's and Q5_1's free min (q8m codes 0…31), Q8_0 and Q5_0
  // codes as they are; Q3_K's negative scales with min −4·s, Q6_K codes −32…31 (G = 16), Q4_K's and
  // Q5_K's fitted scale/min (G = 32). Oracle: the CPU linear on the GGUF decoder's values for the
  // exact repacks (equal bit for bit to dequantize of the repack, ggufRepack.test.ts), on dequantize
  // of the repack for the K-quants (f16 scales).
  for (const type of ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K', 'Q3_K'] as const) {
    it(`GGUF ${type} repacked at G = ${GGUF_REPACK_GROUP[type]} through both kernels matches the CPU linear on the ${GGUF_REPACK_EXACT.has(type) ? 'GGUF values' : 'repacked values'}`, async () => {
      const ctx = await testGpu();
      const [N, K] = [20, type.endsWith('_K') ? 256 : 96];
      const rng = new Rng(type.charCodeAt(1) * 7 + type.charCodeAt(3));
      const bytes = quantizeGgml(type, rng.normals(N * K, 1 / Math.sqrt(K)));
      const q = repackGguf(type, bytes, N, K);
      expect(q.groupSize).toBe(GGUF_REPACK_GROUP[type]);
      const wv = GGUF_REPACK_EXACT.has(type) ? ggmlDequantize(type, bytes, N * K) : dequantize(q);
      for (const M of [2, 70]) { // 2 → matvec_q.wgsl, 70 → matmul_q.wgsl
        const xv = rng.normals(M * K);
        const got = await ctx.read(ctx.tidy(() => linear(ctx, ctx.upload(xv, [M, K], 'f32', 'x'), uploadQuantized(ctx, q.data, q.format, [N, K], 'w', q.groupSize))));
        expectClose(got, linearCpu(cpuTensor(xv, [M, K]), cpuTensor(wv, [N, K])).data, TOL, `${type} M=${M}`);
      }
    });
  }

  it('hand-checked q8 row through both kernels', async () => {
    const ctx = await testGpu();
    // One row [−1, 0, 0.5, 1] (K = 4, padded to one group of 64): s = f16(1/127), codes [−127, 0, 64, 127],
    // Ŵ = [−127s, 0, 64s, 127s]. x = [1, 1, 1, 1] → y = 64s; x = [2, 0, 0, 1] → y = −127s.
    const s = dequantize(quantize(new Float32Array([0, 0, 0, 1]), 1, 4, 'q8'))[3]! / 127;
    const q = quantize(new Float32Array([-1, 0, 0.5, 1]), 1, 4, 'q8');
    for (const M of [2, 10]) { // 2 → matvec_q.wgsl, 10 → matmul_q.wgsl
      const xv = new Float32Array(M * 4).map((_, i) => (Math.floor(i / 4) % 2 ? [2, 0, 0, 1][i % 4]! : 1));
      const got = await ctx.read(
        ctx.tidy(() => linear(ctx, ctx.upload(xv, [M, 4], 'f32', 'x'), uploadQuantized(ctx, q.data, 'q8', [1, 4], 'w'))),
      );
      expect(Array.from(got)).toEqual(Array.from({ length: M }, (_, m) => Math.fround((m % 2 ? -127 : 64) * s)));
    }
  });

  it('rejects a byte buffer that does not match the layout', async () => {
    const ctx = await testGpu();
    const q = quantize(new Float32Array(128), 2, 64, 'q4');
    expect(() => uploadQuantized(ctx, q.data, 'q4', [2, 128], 'w')).toThrow(/bytes for q4\[2, 128\]/);
    expect(() => uploadQuantized(ctx, q.data, 'q4', [2, 64], 'w', 32)).toThrow(/bytes for q4\[2, 64\] G=32/); // a G = 64 buffer read as G = 32
    const w: GpuTensor = uploadQuantized(ctx, q.data, 'q4', [2, 64], 'w');
    expect([w.shape, w.group]).toEqual([[2, 64], 64]);
    ctx.release(w);
  });
});
