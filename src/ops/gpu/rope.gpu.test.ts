import { describe, expect, it } from 'vitest';
import { rope as ropeCpu } from '../cpu/rope';
import { fluxRopeTable, qwenRopeTable } from '../../model/ropeTables';
import { type CpuTensor, cpuTensor } from '../cpu/tensor';
import type { RopeLayout } from '../ops';
import { rope } from './rope';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';

// Two products and one add per output (FMA contraction and rounding order differ from the f64
// oracle): observed max abs error 9.5e-7 on outputs up to |12| (≈ 1 ulp) on SwiftShader.
const TOL = { atol: 1e-6, rtol: 1e-6 };

/** A random [S, Dh/2, 2] table of (cos θ, sin θ). */
function randomTable(rng: Rng, s: number, half: number): CpuTensor {
  const t = new Float32Array(s * half * 2);
  for (let i = 0; i < s * half; i++) {
    const a = rng.uniform() * 2 * Math.PI;
    t[2 * i] = Math.cos(a);
    t[2 * i + 1] = Math.sin(a);
  }
  return cpuTensor(t, [s, half, 2]);
}

async function runRope(x: CpuTensor, table: CpuTensor, heads: number, layout: RopeLayout): Promise<Float32Array> {
  const ctx = await testGpu();
  return ctx.read(
    ctx.tidy(() =>
      rope(ctx, ctx.upload(x.data, x.shape, 'f32', 'x'), ctx.upload(table.data, table.shape, 'f32', 'table'), heads, layout),
    ),
  );
}

describe('rope.wgsl', () => {
  // [S, H, Dh, layout]: DiT-like and Qwen3-like heads, odd token/head counts, tiny Dh.
  const cases: [number, number, number, RopeLayout][] = [
    [7, 3, 128, 'interleaved'],
    [5, 4, 128, 'halfSplit'],
    [13, 5, 6, 'interleaved'],
    [3, 1, 2, 'halfSplit'],
    [31, 3, 10, 'halfSplit'],
  ];
  it.each(cases)('matches the CPU twin: S %i, H %i, Dh %i, %s', async (s, h, dh, layout) => {
    const rng = new Rng(s * 131 + h * 17 + dh);
    const x = cpuTensor(rng.normals(s * h * dh, 3), [s, h * dh]);
    const table = randomTable(rng, s, dh / 2);
    const got = await runRope(x, table, h, layout);
    expectClose(got, ropeCpu(x, table, h, layout).data, TOL, `rope ${layout}`);
  });

  it('with real tables: FLUX ids (interleaved) and Qwen3 positions (halfSplit)', async () => {
    const rng = new Rng(9);
    const ids = new Int32Array([0, 0, 0, 0, 0, 0, 0, 7, 0, 3, 5, 0, 10, 31, 2, 0]); // 2 text, 2 image tokens
    const flux = fluxRopeTable(ids, [32, 32, 32, 32], 2000);
    const xf = cpuTensor(rng.normals(4 * 2 * 128, 2), [4, 256]);
    expectClose(await runRope(xf, flux, 2, 'interleaved'), ropeCpu(xf, flux, 2, 'interleaved').data, TOL, 'flux');
    const qwen = qwenRopeTable(9, 128, 1e6);
    const xq = cpuTensor(rng.normals(9 * 3 * 128, 2), [9, 384]);
    expectClose(await runRope(xq, qwen, 3, 'halfSplit'), ropeCpu(xq, qwen, 3, 'halfSplit').data, TOL, 'qwen');
  });

  // One token, one head, Dh = 4, x = [1, 2, 3, 4]; pair 0 at 90° (cos 0, sin 1), pair 1 at 60°
  // (cos 0.5, sin 0.8660254).
  const table = cpuTensor(new Float32Array([0, 1, 0.5, Math.sqrt(3) / 2]), [1, 2, 2]);
  const x = cpuTensor(new Float32Array([1, 2, 3, 4]), [1, 4]);

  it('hand-checked interleaved: pairs (0,1), (2,3)', async () => {
    // (1, 2) by 90°: (1·0 − 2·1, 2·0 + 1·1) = (−2, 1);
    // (3, 4) by 60°: (3·0.5 − 4·0.8660254, 4·0.5 + 3·0.8660254) = (−1.9641016, 4.5980762).
    expectClose(await runRope(x, table, 1, 'interleaved'), [-2, 1, -1.9641016, 4.5980762], { atol: 1e-6, rtol: 0 }, 'interleaved');
  });

  it('hand-checked halfSplit: pairs (0,2), (1,3)', async () => {
    // (x0, x2) = (1, 3) by 90°: (1·0 − 3·1, 3·0 + 1·1) = (−3, 1) → y0 = −3, y2 = 1;
    // (x1, x3) = (2, 4) by 60°: (2·0.5 − 4·0.8660254, 4·0.5 + 2·0.8660254) = (−2.4641016, 3.7320508).
    expectClose(await runRope(x, table, 1, 'halfSplit'), [-3, -2.4641016, 1, 3.7320508], { atol: 1e-6, rtol: 0 }, 'halfSplit');
  });

  it('rejects a table whose Dh does not match x', async () => {
    const ctx = await testGpu();
    const xt = ctx.upload(new Float32Array(8), [1, 8], 'f32', 'x');
    const tt = ctx.upload(new Float32Array(6), [1, 3, 2], 'f32', 'table');
    expect(() => rope(ctx, xt, tt, 2, 'interleaved')).toThrow(/x\[1, 8\] is not 2 heads × Dh 6/);
  });
});
