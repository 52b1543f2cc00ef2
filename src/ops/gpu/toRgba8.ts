import code from '../../../shaders/to_rgba8.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert, fmtShape } from '../../util/assert';

const SHADER = { file: 'to_rgba8.wgsl', code };

/**
 * Decoded image → RGBA8 bytes for ImageData: v = round(clamp(x/2 + 0.5, 0, 1)·255), half to even
 * (diffusers VaeImageProcessor.postprocess), alpha 255. x: [3, H, W] f32 nominally in [−1, 1] →
 * H·W·4 bytes, row-major pixels, r g b a. Reads back (waits for the GPU); the packed buffer is freed.
 * Errors (assert): x not f32 [3, H, W].
 */
export async function toRgba8(ctx: GpuContext, x: GpuTensor): Promise<Uint8ClampedArray> {
  assert(x.dtype === 'f32' && x.shape.length === 3 && x.shape[0] === 3, () => `toRgba8: x must be f32 [3, H, W], got ${x.dtype}${fmtShape(x.shape)}`);
  const n = (x.shape[1] as number) * (x.shape[2] as number);
  const rgba = ctx.alloc([n], 'toRgba8'); // one packed u32 per pixel, in f32-sized words
  try {
    ctx.dispatch({ shader: SHADER, bindings: [x, rgba], params: [n], workgroups: grid1d(n, 256) });
    const bytes = await ctx.readBytes(rgba);
    return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } finally {
    ctx.release(rgba);
  }
}
