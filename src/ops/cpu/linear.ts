import type { LinearOptions } from '../ops';
import { type CpuTensor, cpuTensor } from './tensor';
import { assert, fmtShape } from '../../util/assert';

/**
 * y = x·Wᵀ (+ bias), nn.Linear semantics (torch.nn.functional.linear), f64 accumulation.
 * x: [M, K], w: [N, K] (decoded f32), bias: [N] → y: [M, N], or [M, count] using weight rows and bias
 * entries [start, start+count) when `opts.rows = [start, count]`. Errors: assertion failures for
 * mismatched shapes or a row range outside w.
 */
export function linear(x: CpuTensor, w: CpuTensor, opts: LinearOptions<CpuTensor> = {}): CpuTensor {
  assert(x.shape.length === 2 && w.shape.length === 2, () => `linear: x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)} must be 2-D`);
  const [M, K] = x.shape as [number, number];
  const [rowsTotal, Kw] = w.shape as [number, number];
  assert(K === Kw, () => `linear: x ${fmtShape(x.shape)} and w ${fmtShape(w.shape)} disagree on K (${K} vs ${Kw})`);
  const [row0, N] = opts.rows ?? [0, rowsTotal];
  assert(row0 >= 0 && N >= 0 && row0 + N <= rowsTotal, () => `linear: rows [${row0}, +${N}) outside w ${fmtShape(w.shape)}`);
  const bias = opts.bias ?? null;
  if (bias) assert(bias.data.length === rowsTotal, () => `linear: bias ${fmtShape(bias.shape)} for ${rowsTotal} weight rows`);
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      // y[m, n] = Σ_k x[m, k] · w[row0 + n, k] + bias[row0 + n]
      let s = 0;
      for (let k = 0; k < K; k++) s += (x.data[m * K + k] as number) * (w.data[(row0 + n) * K + k] as number);
      y[m * N + n] = s + (bias ? (bias.data[row0 + n] as number) : 0);
    }
  }
  return cpuTensor(y, [M, N]);
}
