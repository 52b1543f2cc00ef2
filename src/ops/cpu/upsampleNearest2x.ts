import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/** Nearest-neighbour ×2: y[c, Y, X] = x[c, ⌊Y/2⌋, ⌊X/2⌋]. x: [C, H, W] → [C, 2H, 2W]. */
export function upsampleNearest2x(x: CpuTensor): CpuTensor {
  assert(x.shape.length === 3, () => `upsampleNearest2x: x must be [C, H, W], got ${fmtShape(x.shape)}`);
  const [c, h, w] = x.shape as [number, number, number];
  const y = new Float32Array(c * 4 * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < 2 * h; oy++) {
      for (let ox = 0; ox < 2 * w; ox++) {
        y[(ch * 2 * h + oy) * 2 * w + ox] = x.data[(ch * h + (oy >> 1)) * w + (ox >> 1)] as number;
      }
    }
  }
  return cpuTensor(y, [c, 2 * h, 2 * w]);
}
