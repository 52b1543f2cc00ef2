import { describe, expect, it } from 'vitest';
import { upsampleNearest2x as upsampleCpu } from '../cpu/upsampleNearest2x';
import { cpuTensor } from '../cpu/tensor';
import { upsampleNearest2x } from './upsampleNearest2x';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';

// Pure data movement: results must be bit-identical (no tolerance).
describe('upsample_nearest.wgsl', () => {
  it.each([
    [1, 1, 1],
    [3, 5, 7],
    [16, 20, 19],
    [2, 17, 20],
  ])('matches the CPU twin exactly: [%i, %i, %i]', async (c, h, w) => {
    const ctx = await testGpu();
    const x = new Rng(c + h + w).normals(c * h * w, 1);
    const y = upsampleNearest2x(ctx, ctx.upload(x, [c, h, w], 'f32', 'x'));
    expect(y.shape).toEqual([c, 2 * h, 2 * w]);
    const got = await ctx.read(y);
    ctx.release(y);
    expect(got).toEqual(upsampleCpu(cpuTensor(x, [c, h, w])).data);
  });

  it('hand-checked: [[1, 2], [3, 4]] → each value fills a 2×2 block', async () => {
    const ctx = await testGpu();
    const y = upsampleNearest2x(ctx, ctx.upload(new Float32Array([1, 2, 3, 4]), [1, 2, 2], 'f32', 'x'));
    // prettier-ignore
    expect(Array.from(await ctx.read(y))).toEqual([
      1, 1, 2, 2,
      1, 1, 2, 2,
      3, 3, 4, 4,
      3, 3, 4, 4,
    ]);
  });
});
