/**
 * How far a quantized model drifts from the float32 golden on one case (tests only): runs golden
 * case `name` (its prompt, noise and reference images) and checks final_latents' cosine and
 * decoded's rel_l2, logging both with decoded's cosine. Used by the q4/q8 and GGUF pack checks
 * (pipeline/quantized.test.ts) and the K-quant checks (pipeline/kquant.test.ts).
 */
import { expect } from 'vitest';
import type { Pipeline } from '../pipeline/generate';
import type { Dump } from '../pipeline/observers';
import { cosine, relL2 } from './expectClose';
import { type GoldenCaseName, addGoldenLoras, goldenRequest, goldenTensor, loadGoldenCase } from './golden';

export interface DriftBounds {
  minFinalCosine: number;
  maxDecodedRelL2: number;
}

/** Fails when final_latents' cosine is below `bounds.minFinalCosine` or decoded's rel_l2 above `bounds.maxDecodedRelL2`. */
export async function expectDrift<T>(p: Pipeline<T>, name: GoldenCaseName, bounds: DriftBounds, label: string): Promise<void> {
  const c = await loadGoldenCase(name);
  const req = await goldenRequest(c);
  await addGoldenLoras(p, c);
  const dump: Dump = new Map();
  await p.generate(req, { dump });
  const [final, decoded] = (['final_latents', 'decoded'] as const).map((t) => ({ got: dump.get(t)!.data as Float32Array, want: goldenTensor(c.tensors, t).data as Float32Array }));
  const finalCos = cosine(final!.got, final!.want);
  const r = relL2(decoded!.got, decoded!.want);
  console.log(`${label} ${name}: final_latents cosine ${finalCos.toFixed(5)}; decoded cosine ${cosine(decoded!.got, decoded!.want).toFixed(5)}, rel_l2 ${r.toExponential(2)}`);
  expect(finalCos, `${label} ${name} final_latents cosine`).toBeGreaterThanOrEqual(bounds.minFinalCosine);
  expect(r, `${label} ${name} decoded rel_l2`).toBeLessThanOrEqual(bounds.maxDecodedRelL2);
}
