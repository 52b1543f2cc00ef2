import { describe, expect, it } from 'vitest';
import { concatCols as concatColsCpu } from '../cpu/concatCols';
import { cpuTensor } from '../cpu/tensor';
import { concatCols } from './concatCols';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';

describe('concat_cols.wgsl', () => {
  it('is an exact copy (random shapes)', async () => {
    const ctx = await testGpu();
    const rng = new Rng(3);
    for (const [m, ca, cb] of [[1, 1, 1], [7, 13, 5], [33, 64, 192]] as const) {
      const a = rng.normals(m * ca);
      const b = rng.normals(m * cb);
      const got = await ctx.read(ctx.tidy(() => concatCols(ctx, ctx.upload(a, [m, ca], 'f32', 'a'), ctx.upload(b, [m, cb], 'f32', 'b'))));
      expect(got).toEqual(concatColsCpu(cpuTensor(a, [m, ca]), cpuTensor(b, [m, cb])).data);
    }
  });

  it('hand-checked: [[1],[2]] | [[3,4],[5,6]] = [[1,3,4],[2,5,6]]', async () => {
    const ctx = await testGpu();
    const got = await ctx.read(
      concatCols(ctx, ctx.upload(new Float32Array([1, 2]), [2, 1], 'f32', 'a'), ctx.upload(new Float32Array([3, 4, 5, 6]), [2, 2], 'f32', 'b')),
    );
    expect([...got]).toEqual([1, 3, 4, 2, 5, 6]);
  });
});
