import { describe, expect, it } from 'vitest';
import { copyRows as copyRowsCpu } from '../cpu/copyRows';
import { cpuTensor } from '../cpu/tensor';
import { copyRows } from './copyRows';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';

// Pure data movement: results must be bit-identical (no tolerance).
describe('copy_rows.wgsl', () => {
  it.each([
    // [C, src H, dst H, W, src row, dst row, rows]
    [1, 4, 4, 3, 0, 0, 4],
    [3, 9, 5, 7, 2, 1, 4],
    [5, 6, 11, 4, 0, 7, 4],
    [2, 8, 8, 1, 7, 0, 1],
  ])('matches the CPU twin exactly: C %i, %i → %i rows of width %i, rows from %i to %i, %i rows', async (c, hs, hd, w, sr, dr, rows) => {
    const ctx = await testGpu();
    const rng = new Rng(c + hs + hd + w);
    const src = rng.normals(c * hs * w, 1);
    const dst = rng.normals(c * hd * w, 1);
    const y = copyRows(ctx, ctx.upload(dst, [c, hd, w], 'f32', 'dst'), ctx.upload(src, [c, hs, w], 'f32', 'src'), dr, sr, rows);
    const want = copyRowsCpu(cpuTensor(dst.slice(), [c, hd, w]), cpuTensor(src, [c, hs, w]), dr, sr, rows);
    expect(await ctx.read(y)).toEqual(want.data);
  });

  it('hand-checked: row 1 of a [2, 2, 2] image into row 0 of another, the rest untouched', async () => {
    const ctx = await testGpu();
    const src = ctx.upload(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2], 'f32', 'src');
    const dst = ctx.upload(new Float32Array(8).fill(-1), [2, 2, 2], 'f32', 'dst');
    expect(Array.from(await ctx.read(copyRows(ctx, dst, src, 0, 1, 1)))).toEqual([3, 4, -1, -1, 7, 8, -1, -1]);
  });

  it('rejects mismatched widths and rows outside either image', async () => {
    const ctx = await testGpu();
    const a = ctx.upload(new Float32Array(12), [2, 3, 2], 'f32', 'a');
    const b = ctx.upload(new Float32Array(12), [2, 2, 3], 'f32', 'b');
    const c = ctx.upload(new Float32Array(8), [2, 2, 2], 'f32', 'c');
    expect(() => copyRows(ctx, a, b, 0, 0, 1)).toThrow(/equal C and W/);
    expect(() => copyRows(ctx, a, c, 2, 0, 2)).toThrow(/2 rows from src row 0/);
    expect(() => copyRows(ctx, a, a, 0, 1, 1)).toThrow(/same buffer/);
  });
});
