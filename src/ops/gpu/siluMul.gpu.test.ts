import { describe, expect, it } from 'vitest';
import { siluMul as siluMulCpu } from '../cpu/siluMul';
import { cpuTensor } from '../cpu/tensor';
import { siluMul } from './siluMul';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';

// WGSL exp within a few ulp, then a division and a product in f32 vs the f64 oracle: observed max
// abs error 3.8e-6 on outputs up to |53|, max relative 5.5e-7, on SwiftShader.
const TOL = { atol: 1e-6, rtol: 2e-6 };

describe('silu_mul.wgsl', () => {
  it.each([[1], [255], [257], [70_001]])('matches the CPU twin on %i values', async (n) => {
    const ctx = await testGpu();
    const rng = new Rng(n);
    const gate = rng.normals(n, 3);
    const up = rng.normals(n, 2);
    const got = await ctx.read(
      ctx.tidy(() => siluMul(ctx, ctx.upload(gate, [n], 'f32', 'gate'), ctx.upload(up, [n], 'f32', 'up'))),
    );
    expectClose(got, siluMulCpu(cpuTensor(gate, [n]), cpuTensor(up, [n])).data, TOL, 'siluMul');
  });

  it('hand-checked: silu([0, 1, −1, −100]) ⊙ [5, 2, 3, 7] = [0, 1.4621172, −0.8068243, −0]', async () => {
    // silu(1) = 1/(1 + e⁻¹) = 0.7310586 → ×2 = 1.4621172; silu(−1) = −1/(1 + e) = −0.2689414 → ×3;
    // silu(−100): exp(100) overflows f32 to +Inf → −100/Inf = −0, not NaN.
    const ctx = await testGpu();
    const gate = new Float32Array([0, 1, -1, -100]);
    const up = new Float32Array([5, 2, 3, 7]);
    const got = await ctx.read(ctx.tidy(() => siluMul(ctx, ctx.upload(gate, [2, 2], 'f32', 'g'), ctx.upload(up, [2, 2], 'f32', 'u'))));
    expectClose(got, [0, 1.4621172, -0.8068243, 0], { atol: 1e-6, rtol: 0 }, 'hand-checked');
  });

  it('rejects mismatched shapes', async () => {
    const ctx = await testGpu();
    const g = ctx.upload(new Float32Array(6), [2, 3], 'f32', 'g');
    const u = ctx.upload(new Float32Array(6), [3, 2], 'f32', 'u');
    expect(() => siluMul(ctx, g, u)).toThrow(/gate\[2, 3\] vs up\[3, 2\]/);
  });
});
