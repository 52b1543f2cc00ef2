import { assert, fmtShape } from '../../util/assert';
import { f16BitsToF32, f32ToF16Bits } from '../../util/dtype';
import type { GemmOptions } from '../gemmOptions';
import { type CpuTensor, cpuTensor } from './tensor';

/** rowStats: x: [S, D] → [S, 3] of (mean, 0, 1/√(var + eps)) in f64 (biased variance), the GPU's (m, c, rstd) with c folded into m. */
export function rowStats(x: CpuTensor, eps: number): CpuTensor {
  assert(x.shape.length === 2, () => `rowStats: x${fmtShape(x.shape)} is not [S, D]`);
  const [s, d] = x.shape as [number, number];
  const out = new Float32Array(3 * s);
  for (let r = 0; r < s; r++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x.data[r * d + j] as number;
    mean /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += ((x.data[r * d + j] as number) - mean) ** 2;
    out[3 * r] = mean;
    out[3 * r + 2] = 1 / Math.sqrt(v / d + eps);
  }
  return cpuTensor(out, [s, 3]);
}

const toF16 = (v: number): number => f16BitsToF32(f32ToF16Bits(v));

/**
 * The fused linear layer, plainly (options: ../gemmOptions.ts; the GPU version is ../gpu/gemm.ts):
 * f64 sums; LayerNorm prologue from `norm.stats` (m + c, rstd); SwiGLU silu(a)·b; `into` rows written
 * or (residual) added in place; outputs rounded to f16 when `f16`; the LoRA term u·bᵀ added to the
 * product. x: [R, K1], x2: [M, K2], w: [rows, K] (decoded) → [M, N] or `into.t`.
 */
export function gemm(x: CpuTensor, w: CpuTensor, o: GemmOptions<CpuTensor> = {}): CpuTensor {
  const [xRowsTotal, K1] = x.shape as [number, number];
  const [xRow0, M] = o.xRows ?? [0, xRowsTotal];
  const K2 = o.x2 ? (o.x2.shape[1] as number) : 0;
  const K = K1 + K2;
  const [wRows, Kw] = w.shape as [number, number];
  assert(K === Kw && xRow0 + M <= xRowsTotal, () => `gemm: x ${fmtShape(x.shape)} rows [${xRow0}, +${M}), x2 K ${K2}, w ${fmtShape(w.shape)}`);
  const [row0, N] = o.rows ?? [0, wRows];
  const row1 = o.swiglu?.valueRow0 ?? 0;
  const xin = new Float64Array(K);
  const out = o.into ? o.into.t : cpuTensor(new Float32Array(M * N), [M, N], o.f16 === true);
  assert(!o.into || (o.into.t.f16 === true) === (o.f16 === true), () => `gemm: into is ${o.into?.t.f16 ? 'f16' : 'f32'}, the output is ${o.f16 ? 'f16' : 'f32'}`);
  const yRow0 = o.into?.row0 ?? 0;
  const yCol0 = o.into?.col0 ?? 0;
  const yStride = out.shape[1] as number;
  assert(yCol0 + N <= yStride && yRow0 + M <= (out.shape[0] as number), () => `gemm: into ${fmtShape(out.shape)} rows [${yRow0}, +${M}), columns [${yCol0}, +${N})`);
  const lora = o.lora ?? null;
  const R = lora ? (lora.u.shape[1] as number) : 0;
  assert(!lora || (lora.u.shape[0] === M && lora.b.shape[0] === wRows && lora.b.shape[1] === R),
    () => `gemm: LoRA u ${fmtShape(lora?.u.shape ?? [])}, b ${fmtShape(lora?.b.shape ?? [])} for M ${M}, w ${fmtShape(w.shape)}`);
  let m = 0; // the current output row (dot reads u's row m)
  const dot = (r: number) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += (xin[k] as number) * (w.data[r * K + k] as number);
    if (lora) for (let j = 0; j < R; j++) s += (lora.u.data[m * R + j] as number) * (lora.b.data[r * R + j] as number);
    return s + (o.bias ? (o.bias.data[r] as number) : 0);
  };
  for (m = 0; m < M; m++) {
    const r = xRow0 + m;
    for (let k = 0; k < K1; k++) {
      const v = x.data[r * K1 + k] as number;
      if (!o.norm) {
        xin[k] = v;
        continue;
      }
      const st = o.norm.stats.data;
      const xhat = (v - (st[3 * r] as number) - (st[3 * r + 1] as number)) * (st[3 * r + 2] as number);
      xin[k] = xhat * (1 + (o.norm.mod.data[o.norm.scaleChunk * K + k] as number)) + (o.norm.mod.data[o.norm.shiftChunk * K + k] as number);
    }
    for (let k = 0; k < K2; k++) xin[K1 + k] = o.x2?.data[m * K2 + k] as number;
    for (let n = 0; n < N; n++) {
      let a = dot(row0 + n);
      if (o.swiglu) a = (a / (1 + Math.exp(-a))) * dot(row1 + n);
      const i = (yRow0 + m) * yStride + yCol0 + n;
      if (o.residual) {
        const g = o.residual.gate ? (o.residual.gate.mod.data[o.residual.gate.chunk * N + n] as number) : 1;
        out.data[i] = (out.data[i] as number) + g * a;
      } else out.data[i] = o.f16 ? toF16(a) : a;
    }
  }
  return out;
}
