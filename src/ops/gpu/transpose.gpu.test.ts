import { describe, expect, it } from 'vitest';
import { transpose as transposeCpu } from '../cpu/transpose';
import { cpuTensor } from '../cpu/tensor';
import { transpose } from './transpose';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';

// A transpose moves bits: results must be equal.

describe('transpose.wgsl', () => {
  // Odd sizes leave partial 16×16 tiles on both edges. (The grid only folds into y beyond 65 535
  // tiles, e.g. [2, 1048592]: that case takes 45 s on SwiftShader, so it is not run here.)
  for (const [R, C] of [[1, 1], [16, 16], [17, 33], [5, 300], [64, 3], [100, 70]] as const) {
    it(`matches the CPU twin for [${R}, ${C}]`, async () => {
      const ctx = await testGpu();
      const x = new Rng(R * 31 + C).normals(R * C);
      const got = await ctx.read(ctx.tidy(() => transpose(ctx, ctx.upload(x, [R, C], 'f32', 'x'))));
      const want = transposeCpu(cpuTensor(x, [R, C])).data;
      expect(got.length).toBe(want.length);
      let bad = 0;
      for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) bad++;
      expect(bad).toBe(0);
    });
  }

  it('hand-checked: [[1, 2, 3], [4, 5, 6]] → [[1, 4], [2, 5], [3, 6]]', async () => {
    const ctx = await testGpu();
    const got = await ctx.read(ctx.tidy(() => transpose(ctx, ctx.upload(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'f32', 'x'))));
    expect(Array.from(got)).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
