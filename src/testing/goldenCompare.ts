/**
 * Golden comparisons: rel_l2 and max_abs against the per-tensor float32 thresholds in case.json
 * (test/golden/README.md §5). Observed errors are printed so closing notes can quote them.
 */
import { expect } from 'vitest';
import { maxAbs, relL2 } from './expectClose';
import type { GoldenCase, GoldenTensor } from './golden';
import { goldenTensor } from './golden';

/** Asserts got ≈ golden[name] within the case's fp32 tolerance for `tolName` (default: name). */
export function expectGolden(c: GoldenCase, got: Float32Array, name: string, what: string, tolName = name, golden?: GoldenTensor): { relL2: number; maxAbs: number } {
  const want = golden ?? goldenTensor(c.tensors, name);
  const tol = c.meta.tolerances.fp32[tolName];
  if (!tol) throw new Error(`case ${c.meta.case}: no fp32 tolerance for ${tolName}`);
  expect(got.length, `${what}: element count`).toBe(want.data.length);
  const wantF = want.data as Float32Array;
  const r = relL2(got, wantF);
  const m = maxAbs(got, wantF);
  console.log(`[golden] ${c.meta.case} ${what}: rel_l2 ${r.toExponential(2)} (≤ ${tol.rel_l2}), max_abs ${m.toExponential(2)} (≤ ${tol.max_abs})`);
  if (tol.rel_l2 !== undefined) expect(r, `${what} rel_l2`).toBeLessThanOrEqual(tol.rel_l2);
  if (tol.max_abs !== undefined) expect(m, `${what} max_abs`).toBeLessThanOrEqual(tol.max_abs);
  return { relL2: r, maxAbs: m };
}

/** Rows [start, start+count) of a row-major [rows, cols] golden tensor (drops the batch dim). */
/**
 * A PNG written by the CLI against the case's image.png: same size and channels, at most
 * `image_png_fp32.max_levels` off anywhere and `mean_levels` on average (README §5). Logs both.
 */
export function expectGoldenPng(c: GoldenCase, got: { width: number; height: number; channels: number; data: ArrayLike<number> }, want: { width: number; height: number; channels: number; data: ArrayLike<number> }, what: string): void {
  expect([got.width, got.height, got.channels]).toEqual([want.width, want.height, want.channels]);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.data.length; i++) {
    const d = Math.abs((got.data[i] as number) - (want.data[i] as number));
    max = Math.max(max, d);
    sum += d;
  }
  const mean = sum / want.data.length;
  console.log(`[golden] ${what}: max ${max} levels, mean ${mean.toFixed(4)}`);
  expect(max).toBeLessThanOrEqual(c.meta.tolerances.image_png_fp32.max_levels);
  expect(mean).toBeLessThanOrEqual(c.meta.tolerances.image_png_fp32.mean_levels);
}

export function goldenRows(t: GoldenTensor, start: number, count: number): Float32Array {
  const cols = t.shape[t.shape.length - 1] as number;
  return (t.data as Float32Array).slice(start * cols, (start + count) * cols);
}
