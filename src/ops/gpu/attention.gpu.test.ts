import { beforeAll, describe, expect, it } from 'vitest';
import { attention as attentionCpu } from '../cpu/attention';
import { cpuTensor } from '../cpu/tensor';
import { type AttentionVariant, attention, attentionTiling } from './attention';
import { testGpu } from '../../testing/gpu';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { f16ToF32, f32ToF16 } from '../../util/dtype';

// f32 dot products, exp and running sums against the float64 twin (|out| ≲ 4). Observed max abs
// error on SwiftShader ≤ 9.6e-7 (Dh 512 and Dh 128 cases).
const TOL = { atol: 3e-6, rtol: 1e-5 };
// Scores up to ~150: their f32 rounding (~|s|·2⁻²⁴·√Dh) moves the near-one-hot weights by ~1e-5
// relative. Observed max abs error 4.0e-6.
const HUGE_SCORE_TOL = { atol: 2e-5, rtol: 1e-5 };

interface Case {
  sq: number;
  sk: number;
  heads: number;
  kvHeads: number;
  dh: number;
  causal?: boolean;
  /** Right padding: keys ≥ validKeys are masked. */
  validKeys?: number;
  /** Explicit key mask (overrides validKeys). */
  mask?: Float32Array;
  /** Multiplies q (peaky softmax, running max changes across key blocks). */
  qScale?: number;
  tol?: { atol: number; rtol: number };
}

/** Kernel under test: both variants run every case (the default depends on the adapter). */
let variant: AttentionVariant = 'tiled';
const att: typeof attention = (ctx, q, k, v, opts) => attention(ctx, q, k, v, opts, variant);

/** Runs the GPU kernel and the CPU twin on seeded normals; returns both outputs. */
async function runCase(c: Case, seed: number): Promise<{ got: Float32Array; want: Float32Array }> {
  const ctx = await testGpu();
  const rng = new Rng(seed);
  const q = rng.normals(c.sq * c.heads * c.dh, c.qScale ?? 1);
  const k = rng.normals(c.sk * c.kvHeads * c.dh);
  const v = rng.normals(c.sk * c.kvHeads * c.dh);
  const mask = c.mask ?? (c.validKeys === undefined ? null : Float32Array.from({ length: c.sk }, (_, j) => (j < c.validKeys! ? 1 : 0)));
  const qShape = [c.sq, c.heads * c.dh];
  const kvShape = [c.sk, c.kvHeads * c.dh];
  const base = { heads: c.heads, kvHeads: c.kvHeads, causal: c.causal ?? false };
  const got = await ctx.read(
    ctx.tidy(() =>
      att(ctx, ctx.upload(q, qShape, 'f32', 'q'), ctx.upload(k, kvShape, 'f32', 'k'), ctx.upload(v, kvShape, 'f32', 'v'), {
        ...base,
        keyMask: mask && ctx.upload(mask, [c.sk], 'f32', 'keyMask'),
      }),
    ),
  );
  const want = attentionCpu(cpuTensor(q, qShape), cpuTensor(k, kvShape), cpuTensor(v, kvShape), {
    ...base,
    keyMask: mask && cpuTensor(mask, [c.sk]),
  }).data;
  return { got, want };
}

const CASES: [string, Case][] = [
  ['MHA, rows and keys not multiples of the tiles', { sq: 20, sk: 20, heads: 2, kvHeads: 2, dh: 16 }],
  ['GQA 4:2, Dh 64', { sq: 19, sk: 19, heads: 4, kvHeads: 2, dh: 64 }],
  ['GQA 8:2, Dh 128, causal', { sq: 17, sk: 17, heads: 8, kvHeads: 2, dh: 128, causal: true }],
  ['Qwen3-like: GQA 4:1, Dh 128, causal + right padding', { sq: 21, sk: 21, heads: 4, kvHeads: 1, dh: 128, causal: true, validKeys: 13 }],
  ['GQA 8:2, Dh 16, causal + right padding, several row blocks', { sq: 37, sk: 37, heads: 8, kvHeads: 2, dh: 16, causal: true, validKeys: 30 }],
  ['Sq < Sk, no causal', { sq: 5, sk: 37, heads: 3, kvHeads: 3, dh: 32 }],
  ['Sq > Sk, no causal', { sq: 33, sk: 7, heads: 2, kvHeads: 1, dh: 16 }],
  ['scattered key mask', { sq: 18, sk: 18, heads: 2, kvHeads: 2, dh: 16, mask: Float32Array.from({ length: 18 }, (_, j) => (j % 3 === 1 ? 0 : 1)) }],
  ['peaky softmax across 5 key blocks', { sq: 9, sk: 70, heads: 1, kvHeads: 1, dh: 16, qScale: 6 }],
  // scores up to ~150: exp overflows unless the running max really is the max
  ['near one-hot softmax, huge scores', { sq: 9, sk: 70, heads: 1, kvHeads: 1, dh: 16, qScale: 40, tol: HUGE_SCORE_TOL }],
  ['VAE mid-block: one head, Dh 512, S 40', { sq: 40, sk: 40, heads: 1, kvHeads: 1, dh: 512 }],
];

describe.each(['tiled', 'rows'] as const)('attention %s kernel', (which) => {
  beforeAll(() => {
    variant = which;
  });

  CASES.forEach(([name, c], i) => {
    it(`matches the CPU twin: ${name}`, async () => {
      const { got, want } = await runCase(c, 100 + i);
      expectClose(got, want, c.tol ?? TOL, name);
    });
  });

  // q, k, v as column windows of one joint [S, 3·H·Dh + 8] buffer (the fused projections' output), in
  // f32 and in f16 storage, output f32 or f16. The twin reads the same (f16-rounded) values and rounds
  // its output like the kernel: at most one f16 ulp apart (2⁻¹⁰ relative) where a value sits near a
  // rounding boundary; observed max abs error 9.8e-4 on outputs ≲ 2.
  for (const [f16In, f16Out] of [[false, false], [true, false], [true, true]] as const) {
    it(`joint q|k|v buffer, column windows, ${f16In ? 'f16' : 'f32'} in, ${f16Out ? 'f16' : 'f32'} out`, async () => {
      const ctx = await testGpu();
      const [S, heads, dh] = [23, 2, 16];
      const width = 3 * heads * dh + 8; // 8 extra columns before the windows
      const rng = new Rng(f16In ? 5 : 6);
      const raw = rng.normals(S * width);
      const stored = f16In ? f16ToF32(f32ToF16(raw)) : raw;
      const o = { heads, kvHeads: heads, headDim: dh, qCol: 8, kCol: 8 + heads * dh, vCol: 8 + 2 * heads * dh, f16: f16Out };
      const got = await ctx.read(
        ctx.tidy(() => {
          const joint = f16In ? ctx.upload(f32ToF16(raw), [S, width], 'f16', 'qkv') : ctx.upload(raw, [S, width], 'f32', 'qkv');
          return att(ctx, joint, joint, joint, o);
        }),
      );
      const j = cpuTensor(stored, [S, width]);
      const want = attentionCpu(j, j, j, o).data;
      expectClose(got, want, f16In || f16Out ? { atol: 2e-3, rtol: 2e-3 } : TOL, 'joint windows');
    });
  }

  it('hand-checked: two keys with equal scores → mean of their values', async () => {
    const ctx = await testGpu();
    // Dh 16, one query, two keys equal to each other: both scores are q·k/4, softmax = (½, ½),
    // so out = (v0 + v1)/2 = (1 + 3)/2 = 2 in dim 0 and (−2 + 6)/2 = 2 in dim 1, 0 elsewhere.
    const q = new Float32Array(16).fill(0.5);
    const k = new Float32Array(32).fill(0.25);
    const v = new Float32Array(32);
    v.set([1, -2], 0);
    v.set([3, 6], 16);
    const got = await ctx.read(
      ctx.tidy(() =>
        att(ctx, ctx.upload(q, [1, 16], 'f32', 'q'), ctx.upload(k, [2, 16], 'f32', 'k'), ctx.upload(v, [2, 16], 'f32', 'v'), {
          heads: 1,
          kvHeads: 1,
        }),
      ),
    );
    expect(got[0]).toBeCloseTo(2, 6);
    expect(got[1]).toBeCloseTo(2, 6);
    expect(Array.from(got.subarray(2))).toEqual(new Array(14).fill(0));
  });

  it('causal row 0 returns v[0]; a row with no visible key returns zeros, not NaN', async () => {
    const ctx = await testGpu();
    const rng = new Rng(7);
    const [s, dh] = [3, 16];
    const q = rng.normals(s * dh);
    const k = rng.normals(s * dh);
    const v = rng.normals(s * dh);
    const run = (causal: boolean, mask: number[]) =>
      ctx.read(
        ctx.tidy(() =>
          att(ctx, ctx.upload(q, [s, dh], 'f32', 'q'), ctx.upload(k, [s, dh], 'f32', 'k'), ctx.upload(v, [s, dh], 'f32', 'v'), {
            heads: 1,
            kvHeads: 1,
            causal,
            keyMask: ctx.upload(new Float32Array(mask), [s], 'f32', 'keyMask'),
          }),
        ),
      );
    const causal = await run(true, [1, 1, 1]);
    // row 0 sees only key 0: softmax = (1), out = v[0] up to the f32 rounding of p·v / p
    expectClose(causal.subarray(0, dh), v.subarray(0, dh), { atol: 0, rtol: 1e-6 }, 'row 0');
    // key 0 masked: causal row 0 sees nothing → zeros; rows 1, 2 match the twin
    const masked = await run(true, [0, 1, 1]);
    expect(Array.from(masked.subarray(0, dh))).toEqual(new Array(dh).fill(0));
    const want = attentionCpu(cpuTensor(q, [s, dh]), cpuTensor(k, [s, dh]), cpuTensor(v, [s, dh]), {
      heads: 1,
      kvHeads: 1,
      causal: true,
      keyMask: cpuTensor(new Float32Array([0, 1, 1]), [s]),
    }).data;
    expectClose(masked, want, TOL, 'masked');
    // every key masked, no causal: all zeros
    const none = await run(false, [0, 0, 0]);
    expect(Array.from(none)).toEqual(new Array(s * dh).fill(0));
  });

  it('tiles fit 16 KiB of workgroup memory and ≤ 256 threads for every used head dim', () => {
    for (const dh of [16, 32, 64, 128, 512]) {
      const { br, bc, dc } = attentionTiling(dh);
      // qs [BR][Dh] + kvs [BC][DC + 4] (vec4 padding) + ss, ps [BR][BC]
      const floats = br * dh + bc * (dc + 4) + 2 * br * bc;
      expect(floats * 4, `Dh ${dh}`).toBeLessThanOrEqual(16384);
      expect(br * bc).toBeLessThanOrEqual(256);
      expect(dc === dh || (dh % dc === 0 && dc % (4 * bc) === 0), `Dh ${dh}: DC ${dc}`).toBe(true);
    }
    expect(attentionTiling(128)).toEqual({ br: 16, bc: 16, dc: 64 });
    expect(attentionTiling(512)).toEqual({ br: 4, bc: 16, dc: 64 });
    expect(() => attentionTiling(18)).toThrow(/multiple of 4/);
    expect(() => attentionTiling(1024)).toThrow(/> 512/);
  });
});
