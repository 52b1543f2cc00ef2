import { describe, expect, it } from 'vitest';
import { concatRows as concatRowsCpu, sliceRows as sliceRowsCpu } from '../cpu/rows';
import { cpuTensor } from '../cpu/tensor';
import { concatRows, sliceRows } from './rows';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { numel } from '../../util/assert';

// Copies move bits: results must be equal.

describe('concatRows / sliceRows (copyBufferToBuffer)', () => {
  for (const [sa, sb] of [[[3, 5], [4, 5]], [[2, 3, 7], [1, 3, 7]], [[1, 1], [9, 1]], [[0, 6], [2, 6]]] as const) {
    it(`concatRows matches the CPU twin for [${sa}] + [${sb}]`, async () => {
      const ctx = await testGpu();
      const rng = new Rng(sa[0] + 10 * sb[0]);
      const a = rng.normals(numel(sa));
      const b = rng.normals(numel(sb));
      const y = ctx.tidy(() => concatRows(ctx, ctx.upload(a, sa, 'f32', 'a'), ctx.upload(b, sb, 'f32', 'b')));
      const want = concatRowsCpu(cpuTensor(a, sa), cpuTensor(b, sb));
      expect(y.shape).toEqual(want.shape);
      expect(Array.from(await ctx.read(y))).toEqual(Array.from(want.data));
    });
  }

  for (const [shape, start, count] of [[[10, 7], 3, 4], [[5, 2, 3], 0, 5], [[5, 2, 3], 4, 1], [[4, 3], 2, 0]] as const) {
    it(`sliceRows matches the CPU twin for [${shape}] rows ${start}+${count}`, async () => {
      const ctx = await testGpu();
      const x = new Rng(shape[0] + start).normals(numel(shape));
      const y = ctx.tidy(() => sliceRows(ctx, ctx.upload(x, shape, 'f32', 'x'), start, count));
      const want = sliceRowsCpu(cpuTensor(x, shape), start, count);
      expect(y.shape).toEqual(want.shape);
      expect(Array.from(await ctx.read(y))).toEqual(Array.from(want.data));
    });
  }

  it('hand-checked: [[1, 2]] + [[3, 4], [5, 6]] → [[1, 2], [3, 4], [5, 6]]; rows 1..2 → [[3, 4], [5, 6]]', async () => {
    const ctx = await testGpu();
    const [cat, slice] = ctx.tidy(() => {
      const y = concatRows(ctx, ctx.upload(new Float32Array([1, 2]), [1, 2], 'f32', 'a'), ctx.upload(new Float32Array([3, 4, 5, 6]), [2, 2], 'f32', 'b'));
      return [y, sliceRows(ctx, y, 1, 2)];
    });
    expect(Array.from(await ctx.read(cat))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await ctx.read(slice))).toEqual([3, 4, 5, 6]);
  });

  it('rejects mismatched trailing dims, bad ranges and non-f32 tensors', async () => {
    const ctx = await testGpu();
    ctx.tidy(() => {
      const a = ctx.upload(new Float32Array(6), [2, 3], 'f32', 'a');
      const b = ctx.upload(new Float32Array(8), [2, 4], 'f32', 'b');
      const h = ctx.upload(new Uint16Array(6), [2, 3], 'bf16', 'h');
      expect(() => concatRows(ctx, a, b)).toThrow(/\[2, 3\] and \[2, 4\] differ/);
      expect(() => concatRows(ctx, a, h)).toThrow(/f32 only/);
      expect(() => sliceRows(ctx, a, 1, 2)).toThrow(/rows \[1, 3\) outside \[2, 3\]/);
    });
  });
});
