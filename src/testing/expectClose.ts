/**
 * Numeric comparison for tests. `expectClose` checks every element against atol + rtol·|want|
 * and reports the worst element; `relL2`/`maxAbs` give the golden-data metrics
 * (test/golden/README.md §5).
 */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** ‖got − want‖₂ / ‖want‖₂ over the whole tensor. */
export function relL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = (got[i] as number) - (want[i] as number);
    num += d * d;
    den += (want[i] as number) ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** max |got − want|. */
export function maxAbs(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs((got[i] as number) - (want[i] as number)));
  return m;
}

/** Cosine similarity a·b / (‖a‖‖b‖). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Root mean square of x. */
export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / Math.max(x.length, 1));
}

/** Throws with index, got, want and the worst error unless every element is within tolerance. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, what = 'tensor'): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} ≠ ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    const err = Math.abs(g - w);
    const allowed = tol.atol + tol.rtol * Math.abs(w);
    if (!(err <= allowed)) {
      bad++;
      const excess = Number.isFinite(err) ? err / allowed : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad) {
    throw new Error(
      `${what}: ${bad}/${want.length} elements off; worst at ${worst}: got ${got[worst]}, want ${want[worst]} ` +
        `(|err| ${Math.abs((got[worst] as number) - (want[worst] as number)).toExponential(3)}, ` +
        `allowed ${(tol.atol + tol.rtol * Math.abs(want[worst] as number)).toExponential(3)}); max abs ${maxAbs(got, want).toExponential(3)}`,
    );
  }
}
