import { assert, fmtShape } from '../../util/assert';
import type { CpuTensor } from './tensor';

/** round() with ties to even, like WGSL `round` and numpy. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d !== 0.5) return d < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Decoded image → RGBA8 bytes: v = round(clamp(x/2 + 0.5, 0, 1)·255), half to even (diffusers
 * VaeImageProcessor.postprocess), alpha 255, in f32 arithmetic like the shader.
 * x: [3, H, W] nominally in [−1, 1] → H·W·4 bytes, row-major pixels, r g b a.
 */
export async function toRgba8(x: CpuTensor): Promise<Uint8ClampedArray> {
  assert(x.shape.length === 3 && x.shape[0] === 3, () => `toRgba8: x must be [3, H, W], got ${fmtShape(x.shape)}`);
  const n = (x.shape[1] as number) * (x.shape[2] as number);
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = Math.fround((x.data[ch * n + i] as number) * 0.5 + 0.5); // x·0.5 is exact: one rounding
      out[i * 4 + ch] = roundHalfEven(Math.fround(Math.min(Math.max(v, 0), 1) * 255));
    }
    out[i * 4 + 3] = 255;
  }
  return out;
}
