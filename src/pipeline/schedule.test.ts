import { describe, expect, it } from 'vitest';
import { expectClose, relL2 } from '../testing/expectClose';
import { goldenModelSource, goldenTensor, loadGoldenCase } from '../testing/golden';
import { bf16ToF32 } from '../util/dtype';
import { openComponent } from '../weights/safetensors';
import { empiricalMu, fluxSigmas, fluxTimesteps, modelTimesteps, timestepEmbeddingInput } from './schedule';

/**
 * Golden sigmas / timesteps / model_timestep: observed error 0 (bit-exact float32 reproduction of
 * the numpy/torch float32 chain); 1e-7 leaves under one ulp at 1.0 (1.19e-7).
 */
const GOLDEN_SIGMA_TOL = { atol: 1e-7, rtol: 0 };
/** flux2-klein.md §6.3 tables are float64 rounded to 6 decimals: ≤ 5e-7 rounding + ≤ 1.2e-7 float32; observed 4.3e-7 (512²). */
const TABLE_SIGMA_TOL = { atol: 1e-6, rtol: 0 };
/** §6.3 μ values are printed to 6 decimals. */
const TABLE_MU_TOL = 5e-7;

describe('empiricalMu (flux2-klein.md §6.1)', () => {
  it('matches the golden μ for N = 16, S = 4 to float64 precision', async () => {
    const { meta } = await loadGoldenCase('t2i-64');
    expect(empiricalMu(16, 4)).toBe(meta.mu); // 1.9452163656143495, same float64 formula
  });

  it('matches the §6.3 table (S = 4; S = 50 for the base model)', () => {
    const table: [number, number, number][] = [
      [256, 4, 1.965567],
      [1024, 4, 2.03069],
      [2304, 4, 2.139227],
      [4096, 4, 2.29118],
      [4080, 4, 2.289823],
      [1024, 50, 1.701956],
      [4096, 50, 2.023351],
    ];
    for (const [n, s, mu] of table) expect(Math.abs(empiricalMu(n, s) - mu), `N=${n} S=${s}`).toBeLessThan(TABLE_MU_TOL);
  });

  it('N > 4300 uses only the 200-step line (independent of S, discontinuous at 4300)', () => {
    expect(Math.abs(empiricalMu(9216, 4) - 2.016659)).toBeLessThan(TABLE_MU_TOL);
    expect(Math.abs(empiricalMu(16384, 4) - 3.229986)).toBeLessThan(TABLE_MU_TOL);
    expect(empiricalMu(16384, 50)).toBe(empiricalMu(16384, 4));
    // hand check: 0.00016927·4301 + 0.45666666 = 1.18469693
    expect(empiricalMu(4301, 4)).toBeCloseTo(1.18469693, 8);
    expect(empiricalMu(4300, 4) - empiricalMu(4301, 4)).toBeGreaterThan(1); // the jump
  });
});

describe('fluxSigmas / timesteps vs golden t2i-64', () => {
  it('sigmas, timesteps and model_timestep match the golden float32 values', async () => {
    const { meta, tensors } = await loadGoldenCase('t2i-64');
    const sigmas = fluxSigmas(meta.image_seq_len, meta.num_inference_steps);
    expect(sigmas.length).toBe(5);
    expect(sigmas[4]).toBe(0);
    expectClose(sigmas, goldenTensor(tensors, 'sigmas').data as Float32Array, GOLDEN_SIGMA_TOL, 'sigmas');
    expectClose(sigmas, meta.sigmas, GOLDEN_SIGMA_TOL, 'case.json sigmas');
    const ts = fluxTimesteps(sigmas);
    // timesteps are ~1000× larger: one float32 ulp at 954 is 6.1e-5; observed 0
    expectClose(ts, goldenTensor(tensors, 'timesteps').data as Float32Array, { atol: 0, rtol: 1e-7 }, 'timesteps');
    expectClose(modelTimesteps(sigmas), goldenTensor(tensors, 'model_timestep').data as Float32Array, GOLDEN_SIGMA_TOL, 'model_timestep');
  });

  it('512² and 1024² (flux2-klein.md §6.3)', () => {
    expectClose(fluxSigmas(1024, 4), [1, 0.958085, 0.883982, 0.717497, 0], TABLE_SIGMA_TOL, '512² sigmas');
    expectClose(fluxSigmas(4096, 4), [1, 0.967384, 0.908144, 0.7672, 0], TABLE_SIGMA_TOL, '1024² sigmas');
    expectClose(fluxSigmas(16384, 4), [1, 0.986986, 0.961947, 0.893915, 0], TABLE_SIGMA_TOL, '2048² sigmas');
  });

  it('base model S = 50 at 1024² starts 1, 0.99731, 0.99452 and ends 0.32559, 0.23963, 0.13372, 0', () => {
    const s = fluxSigmas(4096, 50);
    expect(s.length).toBe(51);
    expectClose(s.subarray(0, 3), [1, 0.99731, 0.99452], { atol: 5e-6, rtol: 0 }, 'head'); // table has 5 decimals
    expectClose(s.subarray(47), [0.32559, 0.23963, 0.13372, 0], { atol: 5e-6, rtol: 0 }, 'tail');
  });

  it('S = 1 is [1, 0]; bad inputs throw', () => {
    expect([...fluxSigmas(16, 1)]).toEqual([1, 0]);
    expect(() => fluxSigmas(16, 0)).toThrow(/S=0/);
    expect(() => fluxSigmas(0, 4)).toThrow(/N=0/);
  });
});

describe('timestepEmbeddingInput', () => {
  it('σ = 0: cos half all 1, sin half all 0', () => {
    const e = timestepEmbeddingInput(0);
    expect(e.length).toBe(256);
    expect(e.subarray(0, 128).every((v) => v === 1)).toBe(true);
    expect(e.subarray(128).every((v) => v === 0)).toBe(true);
  });

  it('hand-checked entries for σ = 1 (t = 1000)', () => {
    const e = timestepEmbeddingInput(1);
    // k = 0: f = 1 → cos(1000) = 0.5623790762907029, sin(1000) = 0.8268795405320025
    expect(e[0]).toBe(Math.fround(0.5623790762907029));
    expect(e[128]).toBe(Math.fround(0.8268795405320025));
    // k = 64: f = exp(−ln(1e4)/2) = 0.01 (float32 0.0099999998) → t·f ≈ 10: cos(10) = −0.83907, sin(10) = −0.54402
    expect(e[64]).toBeCloseTo(-0.8390715, 5);
    expect(e[192]).toBeCloseTo(-0.5440211, 5);
  });

  /** float32 chain vs the float64 formula: observed 4.7e-5 (float32 rounding of t·f ≈ 1000 is ≤ 3e-5 rad, plus f's). */
  const F64_FORMULA_TOL = { atol: 1e-4, rtol: 0 };

  it('agrees with the float64 formula to float32 argument rounding, for each golden model timestep', () => {
    for (const sigma of [1, 0.95451534, 0.8749241, 0.69985425]) {
      const t = Math.fround(sigma * 1000);
      const want = new Float64Array(256);
      for (let k = 0; k < 128; k++) {
        const f = Math.exp((-Math.log(10000) * k) / 128);
        want[k] = Math.cos(t * f);
        want[128 + k] = Math.sin(t * f);
      }
      expectClose(timestepEmbeddingInput(sigma), want, F64_FORMULA_TOL, `sinusoid σ=${sigma}`);
    }
    expect(timestepEmbeddingInput(0.5, 8).length).toBe(8);
    expect(() => timestepEmbeddingInput(0.5, 7)).toThrow(/even/);
  });
});

/**
 * End-to-end check of the sinusoid layout (cos first) through model-a's time embedder:
 * temb = W2·silu(W1·sinusoid(1000·t)), no biases, vs debug `tr.step0.temb`, evaluated in float64.
 * Observed relL2 3.8e-6: torch's float32 exp may be 1 ulp off the correctly rounded frequency, and
 * t = 1000 amplifies that to ~6e-5 rad in the argument (the plain float64 formula gives 1.1e-5).
 * A swapped cos/sin order gives 1.16.
 */
const TEMB_REL_L2 = 1e-5;

describe('timestepEmbeddingInput through model-a time embedder', () => {
  it('reproduces golden tr.step0.temb for model_timestep[0]', async () => {
    const { tensors, debug } = await loadGoldenCase('t2i-64');
    const ckpt = await openComponent(goldenModelSource(), 'transformer');
    const load = async (name: string): Promise<{ w: Float32Array; rows: number; cols: number }> => {
      const info = ckpt.info(name);
      const w = bf16ToF32(new Uint16Array((await ckpt.read(name)).slice().buffer));
      return { w, rows: info.shape[0] as number, cols: info.shape[1] as number };
    };
    const l1 = await load('time_guidance_embed.timestep_embedder.linear_1.weight'); // [D, 256]
    const l2 = await load('time_guidance_embed.timestep_embedder.linear_2.weight'); // [D, D]
    const matvec = (m: typeof l1, x: ArrayLike<number>): Float64Array => {
      const y = new Float64Array(m.rows);
      for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) y[r] = (y[r] as number) + (m.w[r * m.cols + c] as number) * (x[c] as number);
      return y;
    };
    const t0 = (goldenTensor(tensors, 'model_timestep').data as Float32Array)[0] as number;
    const h = matvec(l1, timestepEmbeddingInput(t0)).map((v) => v / (1 + Math.exp(-v)));
    const temb = matvec(l2, h);
    const want = goldenTensor(await debug(), 'tr.step0.temb').data as Float32Array;
    expect(want.length).toBe(temb.length);
    expect(relL2(temb, want)).toBeLessThan(TEMB_REL_L2);
  });
});
