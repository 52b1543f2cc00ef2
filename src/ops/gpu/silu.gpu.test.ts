import { describe, expect, it } from 'vitest';
import { silu as siluCpu } from '../cpu/silu';
import { cpuTensor } from '../cpu/tensor';
import { silu } from './silu';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';

// WGSL exp is within a few ulp; observed max error 2.4e-7 on SwiftShader for |x| ≤ 8.
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe('silu.wgsl', () => {
  it('matches the CPU twin on random data, including a multi-row grid', async () => {
    const ctx = await testGpu();
    const x = new Rng(1).normals(70_001, 3);
    const got = await ctx.read(ctx.tidy(() => silu(ctx, ctx.upload(x, [x.length], 'f32', 'x'))));
    expectClose(got, siluCpu(cpuTensor(x, [x.length])).data, TOL, 'silu');
  });

  it('hand-checked values: silu(0)=0, silu(1)=0.7310586', async () => {
    const ctx = await testGpu();
    const x = new Float32Array([0, 1, -1]);
    const got = await ctx.read(silu(ctx, ctx.upload(x, [3], 'f32', 'x')));
    expect(got[0]).toBe(0);
    expect(got[1]).toBeCloseTo(0.7310586, 6);
    expect(got[2]).toBeCloseTo(-0.2689414, 6);
  });
});
