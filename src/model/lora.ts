/**
 * LoRAs at run time: y = W·x + Σ_i strength_i·scale_i·B_i·(A_i·x) for every transformer weight W a
 * LoRA changes, the stored (possibly q4/q8) W untouched — switching, re-weighting or removing a LoRA
 * costs no reload. Per weight, the A matrices of all active LoRAs are stacked into one [R, in] f32
 * tensor and their B matrices, with strength·scale folded in, into one [out, R] f32 tensor (R = Σ
 * ranks), so that several LoRAs cost one extra small GEMM plus a K-extension of the main one:
 *
 *   gemm(x, W, opts) → u = gemm(x, A_stack, same prologue and input rows): [M, R] f32,
 *                      y = gemm(x, W, { ...opts, lora: { u, b: B_stack } })   (u·B_stackᵀ added before the epilogue)
 *   linear(x, W)     → y = linear(x, W); y += (x·A_stackᵀ)·B_stackᵀ          (embedders, modulations: no epilogue)
 *
 * The term is added in f32 before SwiGLU and the gated residual, exactly where diffusers' merged
 * weight W + ΔW would act. Files are parsed by ../weights/lora.ts (names, fused qkv, alpha).
 */
import type { Ops } from '../ops/ops';
import type { GemmOptions } from '../ops/gemmOptions';
import type { LinearOptions } from '../ops/ops';
import type { ParsedLora } from '../weights/lora';

/** A LoRA and the strength a request gives it. */
export interface ActiveLora {
  lora: ParsedLora;
  strength: number;
}

/** The stacked low-rank factors of one weight: a [R, in], b [out, R] (strength·scale folded in), both f32. */
export interface LoraTerm<T> {
  a: T;
  b: T;
  rank: number;
}

/**
 * The stacked terms of `active` per weight name (our names, e.g. `transformer_blocks.0.attn.to_q.weight`),
 * as persistent f32 weight tensors (release with releaseLoraTerms). LoRAs of strength 0 are left out,
 * so strength 0 gives the same numbers as no LoRA at all.
 */
export function buildLoraTerms<T>(ops: Ops<T>, active: readonly ActiveLora[]): Map<string, LoraTerm<T>> {
  const parts = new Map<string, { a: Float32Array; b: Float32Array; r: number; s: number; inF: number; outF: number }[]>();
  for (const { lora, strength } of active) {
    if (strength === 0) continue;
    for (const l of lora.layers) {
      const list = parts.get(l.target) ?? [];
      list.push({ a: l.a, b: l.b, r: l.rank, s: strength * l.scale, inF: l.inFeatures, outF: l.outFeatures });
      parts.set(l.target, list);
    }
  }
  const terms = new Map<string, LoraTerm<T>>();
  const aStacks = new Map<string, T>(); // one A stack for q, k, v of a fused qkv LoRA (their A is the same array)
  const ids = new Map<Float32Array, number>();
  const idOf = (a: Float32Array) => ids.get(a) ?? (ids.set(a, ids.size), ids.size - 1);
  for (const [name, list] of parts) {
    const { inF, outF } = list[0] as (typeof list)[number];
    const R = list.reduce((n, p) => n + p.r, 0);
    const a = new Float32Array(R * inF);
    const b = new Float32Array(outF * R);
    let off = 0;
    for (const p of list) {
      a.set(p.a, off * inF);
      for (let o = 0; o < outF; o++) for (let j = 0; j < p.r; j++) b[o * R + off + j] = p.s * (p.b[o * p.r + j] as number);
      off += p.r;
    }
    const upload = (v: Float32Array, shape: number[], what: string) => ops.weight(new Uint8Array(v.buffer), 'f32', shape, `lora ${what} ${name}`);
    const key = list.map((p) => idOf(p.a)).join(',');
    const aT = aStacks.get(key) ?? upload(a, [R, inF], 'A');
    aStacks.set(key, aT);
    terms.set(name, { a: aT, b: upload(b, [outF, R], 'B'), rank: R });
  }
  return terms;
}

/** Frees the terms' tensors (an A stack shared by several weights once). */
export function releaseLoraTerms<T>(ops: Ops<T>, terms: ReadonlyMap<string, LoraTerm<T>>): void {
  const done = new Set<T>();
  for (const t of terms.values()) {
    for (const x of [t.a, t.b]) {
      if (!done.has(x)) ops.release(x);
      done.add(x);
    }
  }
}

/**
 * `ops` with every gemm and linear over a weight in `terms` (keyed by the weight tensor) given its
 * LoRA term; everything else forwarded unchanged. Without terms, `ops` itself.
 * The down projection u = A·x̂ of a LayerNorm prologue is kept for the next call with the same
 * prologue object, input rows and A stack: q, k, v of a fused-qkv LoRA, and a single block's
 * projection cut into q|k|v and MLP calls, compute it once (a prologue object lives for one block,
 * and the block's tidy scope frees the kept u).
 */
export function withLoras<T>(ops: Ops<T>, terms: ReadonlyMap<T, LoraTerm<T>>): Ops<T> {
  if (terms.size === 0) return ops;
  let kept: { x: T; a: T; norm: object; rows: string; u: T } | null = null;
  const gemm = (x: T, w: T, o: GemmOptions<T> = {}): T => {
    const t = terms.get(w);
    if (!t) return ops.gemm(x, w, o);
    const down: GemmOptions<T> = {};
    if (o.xRows) down.xRows = o.xRows;
    if (o.x2) down.x2 = o.x2;
    if (o.norm) down.norm = o.norm;
    const rows = String(o.xRows ?? [0, ops.shape(x)[0]]);
    const reuse = o.norm && kept && kept.x === x && kept.a === t.a && kept.norm === o.norm && kept.rows === rows;
    const u = reuse ? (kept as { u: T }).u : ops.gemm(x, t.a, down);
    const y = ops.gemm(x, w, { ...o, lora: { u, b: t.b } });
    if (reuse) return y;
    if (kept) ops.release(kept.u);
    kept = null;
    if (o.norm) kept = { x, a: t.a, norm: o.norm, rows, u };
    else ops.release(u);
    return y;
  };
  const linear = (x: T, w: T, o?: LinearOptions<T>): T => {
    const y = ops.linear(x, w, o);
    const t = terms.get(w);
    if (!t) return y;
    const u = ops.gemm(x, t.a);
    ops.gemm(u, t.b, { into: { t: y, row0: 0 }, residual: {}, ...(o?.rows ? { rows: o.rows } : {}) });
    ops.release(u);
    return y;
  };
  return new Proxy(ops, {
    get(target, prop) {
      if (prop === 'gemm') return gemm;
      if (prop === 'linear') return linear;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}
