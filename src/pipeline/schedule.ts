/**
 * FLUX.2 [klein] rectified-flow schedule (flux2-klein.md §6) and the transformer's sinusoidal
 * timestep input (§4.3). Everything rounds to float32 where the reference (diffusers 0.38
 * `FlowMatchEulerDiscreteScheduler.set_timesteps` with numpy float32 sigmas, torch float32
 * `get_timestep_embedding`) does, so the golden sigmas/timesteps match to the last ulp.
 */
import { InvalidInput } from '../errors';

const f32 = Math.fround;

/**
 * Empirical μ for N target image tokens (references excluded) and S steps — diffusers
 * `compute_empirical_mu` (= BFL `sampling.py`), float64. Interpolates between fitted 10-step and
 * 200-step lines in S; for N > 4300 only the 200-step line is used (discontinuous at 4300).
 * μ(16, 4) = 1.9452163656, μ(1024, 4) = 2.030690, μ(4096, 4) = 2.291180.
 */
export function empiricalMu(imageSeqLen: number, steps: number): number {
  const a1 = 8.73809524e-5;
  const b1 = 1.89833333;
  const a2 = 0.00016927;
  const b2 = 0.45666666;
  if (imageSeqLen > 4300) return a2 * imageSeqLen + b2;
  const m200 = a2 * imageSeqLen + b2;
  const m10 = a1 * imageSeqLen + b1;
  const a = (m200 - m10) / 190.0;
  const b = m200 - 200.0 * a;
  return a * steps + b;
}

/** numpy `linspace(start, stop, num)` in float64 (y_k = k·step + start, last element = stop). */
function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let k = 0; k < num; k++) y[k] = k * step + start;
  y[num - 1] = stop;
  return y;
}

/**
 * σ_0 … σ_{S−1}, 0 → Float32Array(S+1). Base sigmas `linspace(1, 1/S, S)` (float64, pipeline) cast to
 * float32 (scheduler), then the exponential time shift σ = e^μ / (e^μ + (1/s − 1)) with numpy
 * float32 arithmetic (e^μ rounded to float32 first), then a final 0. Throws InvalidInput for
 * non-positive N or S.
 */
export function fluxSigmas(imageSeqLen: number, steps: number): Float32Array {
  if (!(Number.isSafeInteger(steps) && steps >= 1 && Number.isSafeInteger(imageSeqLen) && imageSeqLen >= 1)) {
    throw new InvalidInput(`schedule: steps and image tokens must be positive integers, got S=${steps}, N=${imageSeqLen}`);
  }
  const eMu = f32(Math.exp(empiricalMu(imageSeqLen, steps)));
  const base = linspace(1, 1 / steps, steps);
  const sigmas = new Float32Array(steps + 1); // last stays 0
  for (let k = 0; k < steps; k++) {
    const s = f32(base[k] as number);
    const d = f32(f32(1 / s) - 1);
    sigmas[k] = f32(eMu / f32(eMu + d));
  }
  return sigmas;
}

/** Scheduler timesteps 1000·σ_k (float32), k < S: [1000, 954.51532, 874.92413, 699.85425] for N=16, S=4. */
export function fluxTimesteps(sigmas: Float32Array): Float32Array {
  return sigmas.slice(0, -1).map((s) => f32(s * 1000));
}

/**
 * What the pipeline hands the transformer each step: `timestep / 1000` in float32 (golden
 * `model_timestep`); ≈ σ_k but not always bit-equal to it.
 */
export function modelTimesteps(sigmas: Float32Array): Float32Array {
  return fluxTimesteps(sigmas).map((t) => f32(t / 1000));
}

/**
 * Sinusoidal input of the time embedder: `sigma` = the model timestep (see modelTimesteps) →
 * Float32Array(dim) = [cos(t·f_k) for k < dim/2, then sin(t·f_k)], t = f32(sigma·1000) (no bf16
 * rounding, golden README §4), f_k = exp(−ln(10000)·k/(dim/2)).
 * Matches diffusers `get_timestep_embedding(flip_sin_to_cos=True, downscale_freq_shift=0)` in
 * float32: exponent = f32(f32(−ln 10000)·k)/half, exp, t·f_k each rounded to float32; cos/sin of that
 * float32 argument are taken in float64 and rounded (torch's float32 sin/cos may differ by 1 ulp).
 */
export function timestepEmbeddingInput(sigma: number, dim = 256): Float32Array {
  if (!(Number.isSafeInteger(dim) && dim > 0 && dim % 2 === 0)) {
    throw new InvalidInput(`timestep embedding: dim must be a positive even integer, got ${dim}`);
  }
  const half = dim / 2;
  const t = f32(sigma * 1000);
  const negLog = f32(-Math.log(10000));
  const out = new Float32Array(dim);
  for (let k = 0; k < half; k++) {
    const freq = f32(Math.exp(f32(f32(negLog * k) / half)));
    const arg = f32(t * freq);
    out[k] = Math.cos(arg);
    out[half + k] = Math.sin(arg);
  }
  return out;
}
