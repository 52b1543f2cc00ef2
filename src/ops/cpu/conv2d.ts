import type { Conv2dOptions } from '../ops';
import { assert, fmtShape } from '../../util/assert';
import { type CpuTensor, cpuTensor } from './tensor';

/** Resolved convolution sizes; shared by both backends so they agree on shapes and padding. */
export interface Conv2dGeometry {
  ci: number;
  /** The input's size (before the fused upsampling). */
  h: number;
  w: number;
  /** 0, or 1 when x is upsampled ×2 (nearest) before the convolution: it reads an (h·2) × (w·2) image. */
  upShift: 0 | 1;
  co: number;
  kh: number;
  kw: number;
  stride: number;
  /** Zero padding [top, left, bottom, right]. */
  pad: readonly [number, number, number, number];
  ho: number;
  wo: number;
}

/**
 * Checks x: [Ci, H, W] against w: [Co, Ci, kh, kw] (and b: [Co]) and resolves stride and padding.
 * Default padding is "same": (k−1)/2 on every side, odd kernels only. Ho = ⌊(H̃ + top + bottom − kh)/s⌋ + 1,
 * Wo likewise (torch Conv2d), H̃ = H or 2H with opts.upsample = 2. Errors (assert): rank, channel or
 * bias mismatch, stride ∉ {1, 2}, upsample ∉ {1, 2}, negative padding, an even kernel without
 * explicit padding, or an empty output.
 */
export function conv2dGeometry(
  xShape: readonly number[],
  wShape: readonly number[],
  bShape: readonly number[] | null,
  opts: Conv2dOptions = {},
): Conv2dGeometry {
  assert(xShape.length === 3, () => `conv2d: x must be [Ci, H, W], got ${fmtShape(xShape)}`);
  assert(wShape.length === 4, () => `conv2d: w must be [Co, Ci, kh, kw], got ${fmtShape(wShape)}`);
  const [ci, h, w] = xShape as [number, number, number];
  const [co, wci, kh, kw] = wShape as [number, number, number, number];
  assert(wci === ci, () => `conv2d: x ${fmtShape(xShape)} has ${ci} channels, w ${fmtShape(wShape)} expects ${wci}`);
  assert(!bShape || (bShape.length === 1 && bShape[0] === co), () => `conv2d: b ${fmtShape(bShape ?? [])} ≠ [${co}]`);
  const up = opts.upsample ?? 1;
  assert(up === 1 || up === 2, () => `conv2d: upsample ${up} not in {1, 2}`);
  const stride = opts.stride ?? 1;
  assert(stride === 1 || stride === 2, () => `conv2d: stride ${stride} not in {1, 2}`);
  if (!opts.pad) assert(kh % 2 === 1 && kw % 2 === 1, () => `conv2d: kernel ${kh}×${kw} needs explicit padding`);
  const pad = opts.pad ?? ([(kh - 1) / 2, (kw - 1) / 2, (kh - 1) / 2, (kw - 1) / 2] as const);
  assert(pad.every((v) => Number.isInteger(v) && v >= 0), () => `conv2d: padding [${pad.join(', ')}] must be non-negative integers`);
  const ho = Math.floor((up * h + pad[0] + pad[2] - kh) / stride) + 1;
  const wo = Math.floor((up * w + pad[1] + pad[3] - kw) / stride) + 1;
  assert(ho > 0 && wo > 0, () => `conv2d: empty output ${ho}×${wo} for input ${up * h}×${up * w}, kernel ${kh}×${kw}`);
  return { ci, h, w, upShift: up === 2 ? 1 : 0, co, kh, kw, stride, pad: [pad[0], pad[1], pad[2], pad[3]], ho, wo };
}

/**
 * 2-D cross-correlation with zero padding and optional bias (torch.nn.functional.conv2d, batch 1,
 * dilation 1, groups 1). x: [Ci, H, W], w: [Co, Ci, kh, kw], b: [Co] | null → [Co, Ho, Wo].
 * Diffusers Downsample2D = pad [0, 0, 1, 1] (F.pad(x, (0, 1, 0, 1))), stride 2; Upsample2D =
 * upsample 2 (x read at (⌊Y/2⌋, ⌊X/2⌋), never stored). Sums in f64.
 */
export function conv2d(x: CpuTensor, w: CpuTensor, b: CpuTensor | null, opts: Conv2dOptions = {}): CpuTensor {
  const g = conv2dGeometry(x.shape, w.shape, b?.shape ?? null, opts);
  const [top, left] = g.pad;
  const [hu, wu, s] = [g.h << g.upShift, g.w << g.upShift, g.upShift];
  const y = new Float32Array(g.co * g.ho * g.wo);
  for (let co = 0; co < g.co; co++) {
    for (let oy = 0; oy < g.ho; oy++) {
      for (let ox = 0; ox < g.wo; ox++) {
        let sum = b ? (b.data[co] as number) : 0;
        for (let ci = 0; ci < g.ci; ci++) {
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.stride + ky - top;
            if (iy < 0 || iy >= hu) continue;
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.stride + kx - left;
              if (ix < 0 || ix >= wu) continue;
              const wv = w.data[((co * g.ci + ci) * g.kh + ky) * g.kw + kx] as number;
              sum += wv * (x.data[(ci * g.h + (iy >> s)) * g.w + (ix >> s)] as number);
            }
          }
        }
        y[(co * g.ho + oy) * g.wo + ox] = sum;
      }
    }
  }
  return cpuTensor(y, [g.co, g.ho, g.wo]);
}
