import { describe, expect, it } from 'vitest';
import { embedding as embeddingCpu } from '../cpu/embedding';
import { cpuTensor } from '../cpu/tensor';
import { embedding } from './embedding';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { type DType, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../util/dtype';

// A lookup is exact: f32 copies bits and 16-bit values decode exactly, so results must be equal.

describe('embedding.wgsl', () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as DType[]) {
    it(`matches the CPU twin, ${dtype} table [50, 67] (odd D: 16-bit rows start mid-word)`, async () => {
      const ctx = await testGpu();
      const [V, D] = [50, 67];
      const rng = new Rng(7);
      const values = rng.normals(V * D);
      const ids = Int32Array.from({ length: 37 }, (_, i) => (i === 0 ? 0 : i === 1 ? V - 1 : Math.floor(rng.uniform() * V)));
      let decoded = values;
      const got = await ctx.read(
        ctx.tidy(() => {
          if (dtype === 'f32') return embedding(ctx, ids, ctx.upload(values, [V, D], 'f32', 'table'));
          const bits = dtype === 'bf16' ? f32ToBf16(values) : f32ToF16(values);
          decoded = dtype === 'bf16' ? bf16ToF32(bits) : f16ToF32(bits);
          return embedding(ctx, ids, ctx.upload(bits, [V, D], dtype, 'table'));
        }),
      );
      expect(Array.from(got)).toEqual(Array.from(embeddingCpu(ids, cpuTensor(decoded, [V, D])).data));
    });
  }

  it('hand-checked: table [[1, 2], [3, 4], [5, 6]] (bf16), ids [2, 0, 2] → [[5, 6], [1, 2], [5, 6]]', async () => {
    const ctx = await testGpu();
    const table = f32ToBf16(new Float32Array([1, 2, 3, 4, 5, 6]));
    const got = await ctx.read(ctx.tidy(() => embedding(ctx, new Int32Array([2, 0, 2]), ctx.upload(table, [3, 2], 'bf16', 't'))));
    expect(Array.from(got)).toEqual([5, 6, 1, 2, 5, 6]);
  });

  it('rejects ids outside [0, V) with the id and V', async () => {
    const ctx = await testGpu();
    ctx.tidy(() => {
      const t = ctx.upload(new Float32Array(6), [3, 2], 'f32', 't');
      expect(() => embedding(ctx, new Int32Array([0, 3]), t)).toThrow(/id 3 at position 1 outside the table's \[0, 3\)/);
      expect(() => embedding(ctx, new Int32Array([-1]), t)).toThrow(/id -1/);
    });
  });
});
