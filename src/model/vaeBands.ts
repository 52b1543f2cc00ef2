/**
 * Runs a VAE chain in row bands (the plan and why it is exact: vaeChain.ts). Stored tensors live
 * as row chunks; a band's window is gathered from them (ops.copyRows), every block on the way is
 * computed on the window with the same ops as the whole-tensor code (vaeBlocks.ts), GroupNorms
 * applied with statistics gathered by earlier passes (ops.groupNormApply).
 */
import type { Ops } from '../ops/ops';
import { assert } from '../util/assert';
import { type ChainBlock, type Conv, GN_EPS, type Norm, chainWhole, resampleOptions } from './vaeBlocks';
import {
  type Band,
  type BlockSpec,
  type ChainBudget,
  type ChainSpec,
  type PassPlan,
  type Rows,
  type Shape,
  chainShapes,
  defaultChainBudget,
  largestTensorBytes,
  planChain,
  rowScales,
} from './vaeChain';

/**
 * A chain runs in bands when one of its full-size tensors would exceed this: half of WebGPU's
 * default 128 MiB binding limit (the decoder from 256² up: [256, 256, 256] f32 is 64 MiB).
 */
export const VAE_BAND_THRESHOLD_BYTES = 64 * 2 ** 20;

/** How decode / encodeLatent run their full-resolution chain. */
export interface VaeBandOptions extends Partial<ChainBudget> {
  /** true / false forces bands on / off; default: on when a full-size tensor exceeds VAE_BAND_THRESHOLD_BYTES. */
  banded?: boolean;
}

/** Whether the chain `blocks` on an input of `shape` runs in bands (opts.banded, else by VAE_BAND_THRESHOLD_BYTES). */
export function chainBanded<T>(ops: Ops<T>, blocks: readonly ChainBlock<T>[], shape: Shape, opts: VaeBandOptions = {}): boolean {
  return opts.banded ?? largestTensorBytes(chainSpec(ops, shape, blocks)) > VAE_BAND_THRESHOLD_BYTES;
}

/**
 * The chain `blocks` on `input` ([C, H, W] = s_0) → its output: whole (chainWhole) or in bands
 * (chainBanded; planChain + runChain, budgets from `opts` or defaultChainBudget), bit-equal either
 * way. The chain frees `input` when `giveInput`.
 */
export function runVaeChain<T>(ops: Ops<T>, blocks: readonly ChainBlock<T>[], groups: number, input: T, giveInput: boolean, opts: VaeBandOptions = {}): T {
  const shape = ops.shape(input) as unknown as Shape;
  if (!chainBanded(ops, blocks, shape, opts)) return chainWhole(ops, blocks, groups, input, giveInput);
  const spec = chainSpec(ops, shape, blocks);
  const given = Object.fromEntries(Object.entries(opts).filter(([k, v]) => k !== 'banded' && v !== undefined));
  return runChain(ops, spec, blocks, groups, input, planChain(spec, { ...defaultChainBudget(spec), ...given }), giveInput);
}

/** The weight-free description of `blocks` over an input of shape `input`. */
export function chainSpec<T>(ops: Ops<T>, input: Shape, blocks: readonly ChainBlock<T>[]): ChainSpec {
  const co = (c: Conv<T>) => ops.shape(c.weight)[0] as number;
  const k = (c: Conv<T>) => ops.shape(c.weight)[2] as number;
  return {
    input,
    blocks: blocks.map((b): BlockSpec => {
      if (b.kind === 'res') return { kind: 'res', co: co(b.w.conv1) };
      if (b.kind === 'conv') return { kind: 'conv', co: co(b.conv), k: k(b.conv), resample: b.resample };
      return { kind: 'normConv', co: co(b.conv), k: k(b.conv) };
    }),
  };
}

interface Chunk<T> {
  t: T;
  /** First row. */
  row: number;
  rows: number;
}

interface Stored<T> {
  chunks: Chunk<T>[];
  /** The caller's tensor (the chain's input unless given): never released here. */
  borrowed: boolean;
}

interface Value<T> {
  t: T;
  /** A temporary of this band (false: a stored chunk used as is). */
  owned: boolean;
}

/**
 * Runs `passes` (planChain over chainSpec(blocks)) on `input` = s_0: [C, H, W] and returns the last
 * pass's target (the chain's output, one tensor). Frees the pool's free buffers before the first
 * pass and after each (ops.trim): a pass's windows differ in size from the next's, and the stage
 * before the VAE may have left gigabytes of them. Errors (assert): a plan whose last pass does not
 * store the chain's output, or that applies a GroupNorm before gathering its statistics.
 */
export function runChain<T>(
  ops: Ops<T>,
  spec: ChainSpec,
  blocks: readonly ChainBlock<T>[],
  groups: number,
  input: T,
  passes: readonly PassPlan[],
  /** The chain frees `input` once no pass needs it (else it stays the caller's). */
  giveInput = false,
): T {
  const shapes = chainShapes(spec);
  const scale = rowScales(shapes);
  const shape = (id: number) => shapes[id] as Shape;
  const rowsOf = (id: number, win: Rows): Rows => [win[0] / (scale[id] as number), win[1] / (scale[id] as number)];
  const stored = new Map<number, Stored<T>>([[0, { chunks: [{ t: input, row: 0, rows: spec.input[1] }], borrowed: !giveInput }]]);
  const stats = new Map<number, T>();
  const last = passes[passes.length - 1] as PassPlan;
  assert(last.store && last.target === 2 * blocks.length, 'runChain: the last pass must store the chain output');

  /** The window of tensor `id` for one band, computed (or gathered) with the blocks' ops. */
  const bandValues = (win: Rows) => {
    const memo = new Map<number, Value<T>>();
    const drop = (id: number) => {
      const v = memo.get(id);
      if (v?.owned) ops.release(v.t);
      memo.delete(id);
    };
    const norm = (x: T, n: Norm<T>, of: number): T => {
      const s = stats.get(of);
      assert(s, () => `runChain: no GroupNorm statistics for tensor ${of}`);
      return ops.groupNormApply(x, s, n.weight, n.bias, GN_EPS, true);
    };
    const consume = (t: T, y: T): T => (ops.release(t), y);
    const get = (id: number): T => {
      let v = memo.get(id);
      if (!v) memo.set(id, (v = compute(id)));
      return v.t;
    };
    const compute = (id: number): Value<T> => {
      const s = stored.get(id);
      if (s) return gather(s, rowsOf(id, win), shape(id));
      const blk = blocks[Math.ceil(id / 2) - 1] as ChainBlock<T>;
      let y: T;
      if (id % 2 === 1) {
        const w = (blk as Extract<ChainBlock<T>, { kind: 'res' }>).w;
        const n1 = norm(get(id - 1), w.norm1, id - 1);
        return { t: consume(n1, ops.conv2d(n1, w.conv1.weight, w.conv1.bias)), owned: true };
      } else if (blk.kind === 'res') {
        const n2 = norm(get(id - 1), blk.w.norm2, id - 1);
        drop(id - 1);
        const h = consume(n2, ops.conv2d(n2, blk.w.conv2.weight, blk.w.conv2.bias));
        const x = get(id - 2);
        const sc = blk.w.conv_shortcut ? ops.conv2d(x, blk.w.conv_shortcut.weight, blk.w.conv_shortcut.bias, { pad: [0, 0, 0, 0] }) : x;
        y = ops.residual(h, sc);
        if (sc !== x) ops.release(sc);
      } else if (blk.kind === 'conv') {
        y = ops.conv2d(get(id - 2), blk.conv.weight, blk.conv.bias, resampleOptions(blk.resample));
      } else {
        const n = norm(get(id - 2), blk.norm, id - 2);
        y = consume(n, ops.conv2d(n, blk.conv.weight, blk.conv.bias));
      }
      drop(id - 2);
      return { t: y, owned: true };
    };
    return { get, memo };
  };

  /** Rows [r0, r1) of a stored tensor: its chunk if one matches exactly, else a copy. */
  const gather = (s: Stored<T>, [r0, r1]: Rows, [c, , w]: Shape): Value<T> => {
    const exact = s.chunks.find((k) => k.row === r0 && k.rows === r1 - r0);
    if (exact) return { t: exact.t, owned: false };
    const t = ops.empty([c, r1 - r0, w], 'vae.window');
    for (const k of s.chunks) {
      const [lo, hi] = [Math.max(r0, k.row), Math.min(r1, k.row + k.rows)];
      if (lo < hi) ops.copyRows(t, k.t, lo - r0, lo - k.row, hi - lo);
    }
    return { t, owned: true };
  };

  const runPass = (p: PassPlan) => {
    const [c, h, w] = shape(p.target);
    const partials = p.stats ? ops.empty([groups, h, 3], 'vae.gn_partials') : null;
    const single = p.bands.length === 1;
    const out: Stored<T> | null = p.store ? { chunks: p.whole && !single ? [{ t: ops.empty([c, h, w], 'vae.stored'), row: 0, rows: h }] : [], borrowed: false } : null;
    const freeAfter = dropSchedule(p, (id) => stored.get(id), (id, b) => rowsOf(id, b.win));
    p.bands.forEach((band, j) => {
      const [a, b] = band.own;
      const [ws, we] = rowsOf(p.target, band.win);
      const chunk = ops.tidy(() => {
        const { get, memo } = bandValues(band.win);
        const v = get(p.target);
        if (partials) ops.groupNormStats(v, groups, partials, a, [a - ws, b - a]);
        if (!out) return null;
        if (p.whole && !single) {
          ops.copyRows((out.chunks[0] as Chunk<T>).t, v, a, a - ws, b - a);
          return null;
        }
        if (ws === a && we === b && memo.get(p.target)?.owned) return v; // the window is exactly the own rows
        return ops.copyRows(ops.empty([c, b - a, w], 'vae.stored'), v, 0, a - ws, b - a);
      });
      if (chunk) out?.chunks.push({ t: chunk, row: a, rows: b - a });
      const freed = freeAfter.get(j) ?? [];
      // same-size chunks are reused by the next band's output chunk (a stream updated in place);
      // others would stay in the pool as free buffers: destroy them
      const reusable = out && !p.whole ? bytesOf([c, b - a, w]) : -1;
      const odd = freed.some((t) => bytesOf(ops.shape(t)) !== reusable);
      for (const t of freed) ops.release(t);
      if (odd) ops.trim();
    });
    if (partials) {
      stats.set(p.target, ops.groupNormMerge(partials));
      ops.release(partials);
    }
    for (const id of p.drop) stored.delete(id);
    if (out) stored.set(p.target, out);
    ops.trim();
  };

  ops.trim();
  for (const p of passes) runPass(p);
  for (const s of stats.values()) ops.release(s);
  return ((stored.get(last.target) as Stored<T>).chunks[0] as Chunk<T>).t;
}

function bytesOf(shape: readonly number[]): number {
  return 4 * shape.reduce((p, v) => p * v, 1);
}

/**
 * For each band index, the chunks of the pass's dropped tensors that no later band reads (freed
 * right after that band); chunks no band reads are freed after band 0. Borrowed tensors are never freed.
 */
function dropSchedule<T>(p: PassPlan, get: (id: number) => Stored<T> | undefined, rows: (id: number, b: Band) => Rows): Map<number, T[]> {
  const at = new Map<number, T[]>();
  for (const id of p.drop) {
    const s = get(id);
    if (!s || s.borrowed) continue;
    for (const k of s.chunks) {
      let lastBand = 0;
      p.bands.forEach((b, j) => {
        const [r0, r1] = rows(id, b);
        if (r0 < k.row + k.rows && k.row < r1) lastBand = j;
      });
      at.set(lastBand, [...(at.get(lastBand) ?? []), k.t]);
    }
  }
  return at;
}
