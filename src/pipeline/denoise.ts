/**
 * The sampler: Euler steps of the rectified-flow ODE (diffusers FlowMatchEulerDiscreteScheduler.step,
 * docs/flux2-klein.md §6.5). Generic over the Ops backend and over what computes the velocity.
 */
import type { Ops } from '../ops/ops';

/** Called around each step; `after` sees x after the update and the velocity v it used ([N, C] both). */
export interface StepHooks<T> {
  before?(i: number): void;
  after?(i: number, x: T, v: T): Promise<void>;
}

/**
 * For i = 0 … S−1:  v = velocity(x, σ_i);  x ← x + (σ_{i+1} − σ_i)·v   (float32, σ_S = 0).
 * x: [N, C] latent tokens, updated in place; sigmas: [S + 1]. `velocity` returns a new [N, C] tensor
 * (its temporaries are freed; v itself is released after `hooks.after`).
 */
export async function denoise<T>(ops: Ops<T>, x: T, sigmas: Float32Array, velocity: (x: T, sigma: number) => T, hooks: StepHooks<T> = {}): Promise<void> {
  const c = ops.shape(x)[1] as number;
  for (let i = 0; i + 1 < sigmas.length; i++) {
    hooks.before?.(i);
    const sigma = sigmas[i] as number;
    const dt = Math.fround((sigmas[i + 1] as number) - sigma);
    const v = ops.tidy(() => velocity(x, sigma));
    try {
      // x += dt·v, as a gated residual with a constant gate row
      ops.tidy(() => ops.residual(x, v, { mod: ops.fromHost(new Float32Array(c).fill(dt), [1, c], 'dt'), chunk: 0 }));
      await hooks.after?.(i, x, v);
    } finally {
      ops.release(v);
    }
  }
}
