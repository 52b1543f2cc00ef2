import code from '../../../shaders/conv2d.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import { assert } from '../../util/assert';
import type { Conv2dOptions } from '../ops';
import { conv2dGeometry } from '../cpu/conv2d';
import { dtypeCode } from './dtypeCode';

const SHADER = { file: 'conv2d.wgsl', code };
const TILE = 64; // output channels and pixels per workgroup (TM, TN in the shader)

/**
 * 2-D convolution as an implicit GEMM (shaders/conv2d.wgsl). x: [Ci, H, W] f32, w: [Co, Ci, kh, kw]
 * and b: [Co] | null in f32/f16/bf16 → [Co, Ho, Wo] f32 (sizes and padding: conv2dGeometry; stride
 * 1 or 2, padding [top, left, bottom, right], default "same"; opts.upsample 2 reads x upsampled ×2
 * by nearest neighbour, fused). Matches torch F.conv2d (after F.interpolate(scale_factor=2)).
 */
export function conv2d(ctx: GpuContext, x: GpuTensor, w: GpuTensor, b: GpuTensor | null, opts: Conv2dOptions = {}): GpuTensor {
  assert(x.dtype === 'f32', () => `conv2d: x (${x.label}) must be f32, got ${x.dtype}`);
  const g = conv2dGeometry(x.shape, w.shape, b?.shape ?? null, opts);
  const y = ctx.alloc([g.co, g.ho, g.wo], 'conv2d');
  const [gx, gz] = grid1d(Math.ceil((g.ho * g.wo) / TILE), 1);
  ctx.dispatch({
    shader: SHADER,
    constants: {
      KH: g.kh,
      KW: g.kw,
      W_DTYPE: dtypeCode(w, 'conv2d weight'),
      B_DTYPE: dtypeCode(b, 'conv2d bias'),
      HAS_BIAS: b ? 1 : 0,
    },
    // Without a bias the shader never reads binding 2; w stands in (two read-only bindings may alias).
    bindings: [x, w, b ?? w, y],
    params: [g.ci, g.h, g.w, g.co, g.ho, g.wo, g.stride, g.pad[0], g.pad[1], g.upShift],
    workgroups: [gx, Math.ceil(g.co / TILE), gz],
    flops: 2 * g.co * g.ho * g.wo * g.ci * g.kh * g.kw,
  });
  return y;
}
