import { describe, expect, it } from 'vitest';
import { residual as residualCpu } from '../cpu/residual';
import { cpuTensor } from '../cpu/tensor';
import { residual } from './residual';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';

// x + g·y in f32 vs the oracle's f64 then one f32 rounding: half an ulp of the result (rtol) plus,
// unless fused, half an ulp of g·y (|g·y| ≲ 160 → 7.6e-6, atol; it dominates where x + g·y cancels).
// Observed max abs error 6.1e-5 on |x| ~ 1e3 (half an ulp of 1024) and 1.7e-6 at |want| 0.14, SwiftShader.
const TOL = { atol: 8e-6, rtol: 2e-7 };

describe('residual.wgsl', () => {
  // [S, D, chunks k (0 = plain), chunk]
  const cases: [number, number, number, number][] = [
    [5, 3072, 6, 2],
    [7, 33, 3, 0],
    [3, 257, 0, 0],
    [1, 1, 2, 1],
    [301, 300, 0, 0], // 90,300 values: more than 256 workgroups
  ];
  it.each(cases)('matches the CPU twin in place: S %i, D %i, k %i, chunk %i', async (s, d, k, chunk) => {
    const ctx = await testGpu();
    const rng = new Rng(s * 1009 + d + k);
    const x = rng.normals(s * d, 300);
    const y = rng.normals(s * d, 10);
    const mod = rng.normals(Math.max(k, 1) * d, 1);
    const got = await ctx.read(
      ctx.tidy(() => {
        const xt = ctx.upload(x, [s, d], 'f32', 'x');
        const gate = k ? { mod: ctx.upload(mod, [k * d], 'f32', 'mod'), chunk } : undefined;
        const out = residual(ctx, xt, ctx.upload(y, [s, d], 'f32', 'y'), gate);
        expect(out).toBe(xt);
        return out;
      }),
    );
    const want = residualCpu(cpuTensor(x.slice(), [s, d]), cpuTensor(y, [s, d]), k ? { mod: cpuTensor(mod, [k * d]), chunk } : undefined);
    expectClose(got, want.data, TOL, 'residual');
  });

  it('hand-checked: x = [[1, 2], [3, 4]], y = [[10, 20], [30, 40]], mod chunk 1 = [2, −1]', async () => {
    // plain: x + y = [11, 22, 33, 44]; then gated with [2, −1] per column:
    // [11 + 2·10, 22 − 20, 33 + 2·30, 44 − 40] = [31, 2, 93, 4].
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array([1, 2, 3, 4]), [2, 2], 'f32', 'x');
    const y = ctx.upload(new Float32Array([10, 20, 30, 40]), [2, 2], 'f32', 'y');
    const mod = ctx.upload(new Float32Array([0.5, 0.5, 2, -1]), [4], 'f32', 'mod');
    residual(ctx, x, y);
    expectClose(await ctx.read(x), [11, 22, 33, 44], { atol: 0, rtol: 0 }, 'plain');
    residual(ctx, x, y, { mod, chunk: 1 });
    expectClose(await ctx.read(x), [31, 2, 93, 4], { atol: 0, rtol: 0 }, 'gated');
    for (const t of [x, y, mod]) ctx.release(t);
  });

  it('rejects x aliasing y and a chunk outside mod', async () => {
    const ctx = await testGpu();
    const x = ctx.upload(new Float32Array(4), [2, 2], 'f32', 'x');
    const y = ctx.upload(new Float32Array(4), [2, 2], 'f32', 'y');
    const mod = ctx.upload(new Float32Array(4), [4], 'f32', 'mod');
    expect(() => residual(ctx, x, x)).toThrow(/same buffer/);
    expect(() => residual(ctx, x, y, { mod, chunk: 2 })).toThrow(/chunk 2 outside mod\[4\] as chunks of D=2/);
    for (const t of [x, y, mod]) ctx.release(t);
  });
});
