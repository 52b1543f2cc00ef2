import { describe, expect, it } from 'vitest';
import { toRgba8 as toRgba8Cpu } from '../cpu/toRgba8';
import { cpuTensor } from '../cpu/tensor';
import { toRgba8 } from './toRgba8';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';

// The shader and the twin do the same f32 operations (x·0.5 + 0.5 has one rounding even when fused,
// clamp, ·255, round half to even), so the bytes must be identical: no tolerance.
describe('to_rgba8.wgsl', () => {
  it.each([
    [1, 1],
    [17, 20],
    [9, 13],
  ])('matches the CPU twin byte for byte: %i×%i', async (h, w) => {
    const ctx = await testGpu();
    const x = new Rng(h * w).normals(3 * h * w, 0.8); // ~20% outside [−1, 1]: exercises the clamp
    const got = await ctx.tidy(() => toRgba8(ctx, ctx.upload(x, [3, h, w], 'f32', 'x')));
    expect(got.length).toBe(h * w * 4);
    expect(got).toEqual(await toRgba8Cpu(cpuTensor(x, [3, h, w])));
  });

  it('matches the twin at every rounding boundary (x for v·255 = k + ½ and its f32 neighbours)', async () => {
    // 431 of these 765 inputs give an exact f32 tie, 237 of them with an odd floor, where rounding
    // half up instead of half to even would differ (counted on the host).
    const ctx = await testGpu();
    const n = 255 * 3;
    const x = new Float32Array(3 * n);
    const bits = new Uint32Array(x.buffer);
    for (let k = 0; k < 255; k++) {
      for (let d = 0; d < 3; d++) {
        const i = 3 * k + d;
        x[i] = (2 * (k + 0.5)) / 255 - 1;
        if (d > 0 && x[i] !== 0) bits[i] = (bits[i] as number) + (d === 1 ? 1 : -1); // ± 1 ulp
      }
    }
    x.copyWithin(n, 0, n);
    x.copyWithin(2 * n, 0, n);
    const got = await toRgba8(ctx, ctx.upload(x, [3, 1, n], 'f32', 'x'));
    expect(got).toEqual(await toRgba8Cpu(cpuTensor(x, [3, 1, n])));
  });

  it('hand-checked: −1, 0, 1 → 0, 128, 255 and out-of-range values clamp', async () => {
    const ctx = await testGpu();
    // 0 → 0.5·255 = 127.5, a tie, rounds to even 128 (truncation would give 127); −1 → 0, 1 → 255.
    // Pixels (r, g, b): (−1, 0, 1), (0, 1, −1), (1, −1, 0), (−3, 2.5, 1) → clamps to (0, 255, 255).
    const x = new Float32Array([-1, 0, 1, -3, /* g */ 0, 1, -1, 2.5, /* b */ 1, -1, 0, 1]);
    const got = await toRgba8(ctx, ctx.upload(x, [3, 2, 2], 'f32', 'x'));
    expect(Array.from(got)).toEqual([0, 128, 255, 255, 128, 255, 0, 255, 255, 0, 128, 255, 0, 255, 255, 255]);
    expect(Array.from(await toRgba8Cpu(cpuTensor(x, [3, 2, 2])))).toEqual(Array.from(got));
  });
});
