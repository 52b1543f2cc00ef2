import { beforeAll, describe, expect, it } from 'vitest';
import { attention as attentionCpu } from '../cpu/attention';
import { cpuTensor } from '../cpu/tensor';
import { type AttentionTiling, type AttentionVariant, attention, attentionTiling } from './attention';
import { testGpu } from '../../testing/gpu';
import { GpuContext } from '../../gpu/context';
import { nodeGpu } from '../../gpu/node';
import { Rng } from '../../util/rng';
import { expectClose } from '../../testing/expectClose';
import { f16ToF32, f32ToF16 } from '../../util/dtype';

// f32 dot products, exp and running sums against the float64 twin (|out| ≲ 4). Observed max abs
// error on SwiftShader ≤ 9.6e-7 (Dh 512 and Dh 128 cases).
const TOL = { atol: 3e-6, rtol: 1e-5 };
// Scores up to ~150: their f32 rounding (~|s|·2⁻²⁴·√Dh) moves the near-one-hot weights by ~1e-5
// relative. Observed max abs error 4.0e-6.
const HUGE_SCORE_TOL = { atol: 2e-5, rtol: 1e-5 };
// f16 inputs, f32 output: the twin reads the same f16-rounded values and the kernels stage them
// unchanged (packed f16 tiles), so only the f32 arithmetic differs, as with f32 inputs. Observed max
// abs error 9.5e-7 (tiled), 1.6e-6 (rows, peaky softmax) on SwiftShader and lavapipe.
const F16_IN_TOL = TOL;
// f16 output: the twin rounds its float64 result to f16 as the kernel rounds its f32 one; where a
// value sits next to a rounding boundary the two land one f16 ulp apart (2⁻¹⁰ relative for normal
// values; the atol covers subnormals). Observed max abs error 4.9e-4 (one ulp below 1) on outputs ≲ 2.
const F16_OUT_TOL = { atol: 1e-6, rtol: 2 ** -10 };

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
  /** q, k, v uploaded as f16 (the twin reads the same rounded values). */
  f16In?: boolean;
  /** f16 output (the twin rounds its output to f16 too). */
  f16Out?: boolean;
  tol?: { atol: number; rtol: number };
  /** Independent sequences (AttentionViews.batches); sq, sk are the totals. */
  batches?: number;
}

/** Kernel under test: both variants run every case (the default depends on the adapter). */
let variant: AttentionVariant = 'tiled';
const att: typeof attention = (ctx, q, k, v, opts) => attention(ctx, q, k, v, opts, variant);

/** Runs the GPU kernel (`variant` on testGpu() unless given) and the CPU twin on seeded normals; returns both outputs. */
async function runCase(c: Case, seed: number, on: { ctx?: GpuContext; variant?: AttentionVariant } = {}): Promise<{ got: Float32Array; want: Float32Array }> {
  const ctx = on.ctx ?? (await testGpu());
  const which = on.variant ?? variant;
  const rng = new Rng(seed);
  // with f16 inputs the twin reads exactly the values the kernel reads
  const stored = (x: Float32Array) => (c.f16In ? f16ToF32(f32ToF16(x)) : x);
  const q = stored(rng.normals(c.sq * c.heads * c.dh, c.qScale ?? 1));
  const k = stored(rng.normals(c.sk * c.kvHeads * c.dh));
  const v = stored(rng.normals(c.sk * c.kvHeads * c.dh));
  const mask = c.mask ?? (c.validKeys === undefined ? null : Float32Array.from({ length: c.sk }, (_, j) => (j < c.validKeys! ? 1 : 0)));
  const qShape = [c.sq, c.heads * c.dh];
  const kvShape = [c.sk, c.kvHeads * c.dh];
  const base = { heads: c.heads, kvHeads: c.kvHeads, causal: c.causal ?? false, f16: c.f16Out ?? false, ...(c.batches ? { batches: c.batches } : {}) };
  const up = (x: Float32Array, shape: number[], label: string) => (c.f16In ? ctx.upload(f32ToF16(x), shape, 'f16', label) : ctx.upload(x, shape, 'f32', label));
  const got = await ctx.read(
    ctx.tidy(() =>
      attention(
        ctx,
        up(q, qShape, 'q'),
        up(k, kvShape, 'k'),
        up(v, kvShape, 'v'),
        { ...base, keyMask: mask && ctx.upload(mask, [c.sk], 'f32', 'keyMask') },
        which,
      ),
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
  // several key blocks of the tiled kernel (BC ≤ 64) and, causal, several row blocks (BR ≤ 16)
  ['150 keys, GQA 4:2, Dh 128', { sq: 13, sk: 150, heads: 4, kvHeads: 2, dh: 128 }],
  ['causal, 150 rows and keys, Dh 64, GQA 2:1', { sq: 150, sk: 150, heads: 2, kvHeads: 1, dh: 64, causal: true }],
  // f16 inputs (packed f16 tiles in the tiled kernel)
  ['f16 in: 150 keys, GQA 4:2, Dh 64, right padding', { sq: 21, sk: 150, heads: 4, kvHeads: 2, dh: 64, validKeys: 131, f16In: true, tol: F16_IN_TOL }],
  ['f16 in: Qwen3-like causal, 150 rows and keys, GQA 4:1, Dh 128 + right padding', { sq: 150, sk: 150, heads: 4, kvHeads: 1, dh: 128, causal: true, validKeys: 141, f16In: true, tol: F16_IN_TOL }],
  ['f16 in: peaky softmax across several key blocks, Dh 16', { sq: 20, sk: 150, heads: 2, kvHeads: 2, dh: 16, qScale: 6, f16In: true, tol: F16_IN_TOL }],
  ['f16 in: Dh 32, Sq > Sk, scattered mask', { sq: 70, sk: 45, heads: 2, kvHeads: 1, dh: 32, mask: Float32Array.from({ length: 45 }, (_, j) => (j % 4 === 2 ? 0 : 1)), f16In: true, tol: F16_IN_TOL }],
  ['f16 in, Dh 12 (not a multiple of 8: f32 tiles)', { sq: 30, sk: 75, heads: 2, kvHeads: 2, dh: 12, f16In: true, tol: F16_IN_TOL }],
  ['f16 in: VAE mid-block, Dh 512, S 40', { sq: 40, sk: 40, heads: 1, kvHeads: 1, dh: 512, f16In: true, tol: F16_IN_TOL }],
  ['f16 in and out: causal, 150 rows and keys, Dh 128', { sq: 150, sk: 150, heads: 2, kvHeads: 2, dh: 128, causal: true, f16In: true, f16Out: true, tol: F16_OUT_TOL }],
  ['f32 in, f16 out: Dh 512, S 40', { sq: 40, sk: 40, heads: 1, kvHeads: 1, dh: 512, f16Out: true, tol: F16_OUT_TOL }],
  // batches: each sequence's queries see only its own keys (the CFG batch of 2), several row and key blocks per sequence
  ['2 batches of 37 rows and keys, Dh 128, f16 in', { sq: 74, sk: 74, heads: 3, kvHeads: 3, dh: 128, batches: 2, f16In: true, tol: F16_IN_TOL }],
  ['3 batches, causal + scattered key mask, GQA 4:2, Dh 16', { sq: 60, sk: 60, heads: 4, kvHeads: 2, dh: 16, batches: 3, causal: true, mask: Float32Array.from({ length: 60 }, (_, j) => (j % 7 === 3 ? 0 : 1)) }],
  ['2 batches, Sq/B 9 < Sk/B 70, peaky softmax', { sq: 18, sk: 140, heads: 2, kvHeads: 1, dh: 32, batches: 2, qScale: 6 }],
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
  // f32 and in f16 storage, output f32 or f16; the twin reads the same (f16-rounded) values. Dh 16 in
  // one key block, Dh 128 over 70 keys (several key blocks, row blocks, K/V chunks of the tiled kernel).
  for (const [S, heads, dh] of [[23, 2, 16], [70, 2, 128]] as const) {
    for (const [f16In, f16Out] of [[false, false], [true, false], [true, true], ...(dh === 128 ? [[false, true] as const] : [])] as const) {
      it(`joint q|k|v buffer, column windows, Dh ${dh}, ${f16In ? 'f16' : 'f32'} in, ${f16Out ? 'f16' : 'f32'} out`, async () => {
        const ctx = await testGpu();
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
        expectClose(got, want, f16Out ? F16_OUT_TOL : f16In ? F16_IN_TOL : TOL, 'joint windows');
      });
    }
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

});

describe('attention batches (CPU twin)', () => {
  it('a batch of B sequences equals each sequence attended alone, stacked', () => {
    const rng = new Rng(11);
    const [b, sq, sk, heads, dh] = [3, 5, 9, 2, 8];
    const q = rng.normals(b * sq * heads * dh);
    const k = rng.normals(b * sk * heads * dh);
    const v = rng.normals(b * sk * heads * dh);
    const mask = Float32Array.from({ length: b * sk }, (_, j) => (j % 4 === 1 ? 0 : 1));
    const o = { heads, kvHeads: heads };
    const got = attentionCpu(cpuTensor(q, [b * sq, heads * dh]), cpuTensor(k, [b * sk, heads * dh]), cpuTensor(v, [b * sk, heads * dh]), { ...o, batches: b, keyMask: cpuTensor(mask, [b * sk]) }).data;
    const rows = (x: Float32Array, i: number, n: number) => x.slice(i * n * heads * dh, (i + 1) * n * heads * dh);
    for (let i = 0; i < b; i++) {
      const want = attentionCpu(cpuTensor(rows(q, i, sq), [sq, heads * dh]), cpuTensor(rows(k, i, sk), [sk, heads * dh]), cpuTensor(rows(v, i, sk), [sk, heads * dh]), { ...o, keyMask: cpuTensor(mask.slice(i * sk, (i + 1) * sk), [sk]) }).data;
      expect(Array.from(rows(got, i, sq)), `sequence ${i}`).toEqual(Array.from(want));
    }
    expect(() => attentionCpu(cpuTensor(q, [b * sq, heads * dh]), cpuTensor(k, [b * sk, heads * dh]), cpuTensor(v, [b * sk, heads * dh]), { ...o, batches: 2 })).toThrow(/2 batches do not divide/);
  });
});

describe('attention tiled kernel: tiling', () => {
  /** Workgroup bytes of attention.wgsl's arrays for a tiling, as the shader declares them (Dawn rounds each to 16). */
  function declaredBytes(dh: number, t: AttentionTiling): number {
    const unit = t.f16 ? 8 : 4; // values per vec4u unit
    const r16 = (b: number) => Math.ceil(b / 16) * 16;
    const qs = 16 * t.br * (dh / unit + 1); // array<vec4u, BR·(DHU + 1)>
    const kvs = 16 * t.bc * (t.dc / unit + 1); // array<vec4u, BC·(DCU + 1)>
    const ps = 4 * t.br * (t.bc + 1); // array<f32, BR·(BC + 1)>
    const partials = 4 * t.br * t.tpr; // pmax, psum: array<f32, BR·TPR>
    return r16(qs) + r16(kvs) + r16(ps) + 2 * r16(partials);
  }

  it('tiles fit 16 KiB of workgroup memory, ≤ 256 threads and the shader\'s register arrays for every used head dim', () => {
    for (const f16 of [false, true]) {
      for (const dh of [16, 32, 64, 128, 512]) {
        const t = attentionTiling(dh, f16);
        const what = `Dh ${dh} ${f16 ? 'f16' : 'f32'}: ${JSON.stringify(t)}`;
        expect(declaredBytes(dh, t), what).toBeLessThanOrEqual(16384);
        expect(t.br * t.tpr, what).toBeLessThanOrEqual(256);
        expect(t.bc, what).toBe(t.tpr * t.kpt);
        expect(t.kpt, what).toBeLessThanOrEqual(8); // MAX_KPT
        expect(t.f16, what).toBe(f16); // every used Dh is a multiple of 8
        const unit = t.f16 ? 8 : 4;
        expect(Math.ceil(dh / unit / t.tpr) * (unit / 4), what).toBeLessThanOrEqual(8); // MAX_ACC
        expect(t.dc === dh || (dh % t.dc === 0 && (t.dc / unit) % t.tpr === 0), what).toBe(true);
      }
    }
    const tiling = (br: number, tpr: number, kpt: number, dc: number, f16: boolean) => ({ br, tpr, kpt, bc: tpr * kpt, dc, f16 });
    expect(attentionTiling(16)).toEqual(tiling(16, 8, 8, 16, false));
    expect(attentionTiling(64)).toEqual(tiling(16, 8, 4, 64, false));
    expect(attentionTiling(128)).toEqual(tiling(16, 8, 4, 32, false));
    expect(attentionTiling(512)).toEqual(tiling(4, 16, 1, 64, false));
    expect(attentionTiling(16, true)).toEqual(tiling(16, 8, 8, 16, true));
    expect(attentionTiling(64, true)).toEqual(tiling(16, 8, 4, 64, true));
    expect(attentionTiling(128, true)).toEqual(tiling(16, 8, 4, 128, true));
    expect(attentionTiling(512, true)).toEqual(tiling(8, 16, 1, 128, true));
    expect(declaredBytes(128, attentionTiling(128, true))).toBe(16192);
    expect(attentionTiling(12, true).f16).toBe(false); // Dh % 8 ≠ 0: f32 tiles
    expect(() => attentionTiling(18)).toThrow(/multiple of 4/);
    expect(() => attentionTiling(1024)).toThrow(/> 512/);
    expect(() => attentionTiling(1024, true)).toThrow(/> 512/);
  });

  // The test device asks for the adapter's maximum workgroup storage; a device with WebGPU's default
  // limits (16 KiB) rejects any pipeline over it, so every used tiling is compiled and run there.
  it('runs on a device with the default limits for every used head dim, f32 and f16', async () => {
    const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
    const device = await adapter!.requestDevice({ label: 'default limits' });
    expect(device.limits.maxComputeWorkgroupStorageSize).toBe(16384);
    const ctx = new GpuContext(device, false);
    try {
      for (const f16In of [false, true]) {
        for (const dh of [16, 32, 64, 128, 512]) {
          const c: Case = { sq: 20, sk: 70, heads: 1, kvHeads: 1, dh, f16In };
          const { got, want } = await runCase(c, dh + (f16In ? 1 : 0), { ctx, variant: 'tiled' });
          expectClose(got, want, TOL, `default limits, Dh ${dh}, ${f16In ? 'f16' : 'f32'} in`);
        }
      }
    } finally {
      ctx.destroy();
    }
  });
});
