/**
 * The banded VAE's plan: shapes, halos and passes, as plain numbers (no ops; vaeBands.ts runs it).
 *
 * The full-resolution part of a VAE is a chain of blocks over one stream, s_0 → s_1 → … → s_m
 * (conv_in, resnets, up/down samplers, the final norm + conv). Tensors are numbered in the order
 * they are computed: id 2k is s_k, id 2k − 1 is c_k, the first conv's output inside resnet block k
 * (the input of its second GroupNorm).
 *
 * A GroupNorm needs statistics over its whole input, which depends on earlier GroupNorms, so the
 * chain runs as passes. A pass sweeps the image in row bands and computes one target tensor from
 * the stored ones, applying every GroupNorm on the way with statistics already known; it gathers
 * the target's own statistics (per-row partials, ops.groupNormStats) and/or stores it (in row
 * chunks, so no buffer exceeds the window size). What is stored costs memory, what is not is
 * computed again; planChain decides greedily under a byte budget.
 *
 * A band (its own rows of the target) is computed on a window: its own rows plus every row some
 * op on the way needs (the halo), with zero padding only at the true image border. Rows near a
 * window edge that is not the image border come out wrong and are never used. Every window of a
 * pass has the same size, so the buffer pool reuses one set of buffers for all bands. Each output
 * pixel is computed by the same kernel from the same inputs in the same order as without bands,
 * and the GroupNorm partials are per (group, row), independent of the band: bit-equal results.
 */
import { assert } from '../util/assert';

/** A block without its weights: what shapes and halos depend on. */
export type BlockSpec =
  /** conv_in (resample 'none'), decoder upsampler ('up': nearest ×2, then the conv; fused), encoder
   *  downsampler ('down': zero-pad right/bottom by 1, 3×3 stride 2). */
  | { kind: 'conv'; co: number; k: number; resample: 'none' | 'up' | 'down' }
  /** ResnetBlock2D: 3×3 convs, 1×1 shortcut when channels change. */
  | { kind: 'res'; co: number }
  /** GroupNorm + SiLU + conv (the decoder's conv_norm_out + conv_out). */
  | { kind: 'normConv'; co: number; k: number };

/** [C, H, W]. */
export type Shape = readonly [number, number, number];

export interface ChainSpec {
  /** s_0. */
  input: Shape;
  blocks: readonly BlockSpec[];
}

/** Shape per tensor id; null for the odd id of a block that is not a resnet. Errors (assert): a downsampler on an odd size. */
export function chainShapes(spec: ChainSpec): (Shape | null)[] {
  const shapes: (Shape | null)[] = [spec.input];
  let [, h, w] = spec.input;
  for (const b of spec.blocks) {
    if (b.kind === 'conv' && b.resample !== 'none') {
      assert(b.resample === 'up' || (h % 2 === 0 && w % 2 === 0), () => `vae chain: cannot halve ${h}×${w}`);
      [h, w] = b.resample === 'up' ? [2 * h, 2 * w] : [h / 2, w / 2];
    }
    const s: Shape = [b.co, h, w];
    shapes.push(b.kind === 'res' ? s : null, s);
  }
  return shapes;
}

/** Rows [a, b) of a tensor. */
export type Rows = readonly [number, number];

/** The rows of each direct input (tensor id, rows) that rows r of tensor `id` (≥ 1) need, clipped to the inputs' heights. */
export function inputRows(spec: ChainSpec, shapes: readonly (Shape | null)[], id: number, r: Rows): [number, Rows][] {
  const [a, b] = r;
  const k = Math.ceil(id / 2);
  const blk = spec.blocks[k - 1] as BlockSpec;
  const clip = (dep: number, lo: number, hi: number): [number, Rows] => {
    const h = (shapes[dep] as Shape)[1];
    return [dep, [Math.max(0, lo), Math.min(h, hi)]];
  };
  if (id % 2 === 1) return [clip(id - 1, a - 1, b + 1)]; // c_k = conv1(norm1(s_{k−1})), 3×3
  if (blk.kind === 'res') return [clip(id - 1, a - 1, b + 1), clip(id - 2, a, b)]; // conv2(norm2(c_k)) + shortcut(s_{k−1})
  const p = (blk.k - 1) / 2;
  if (blk.kind === 'conv' && blk.resample === 'up') return [clip(id - 2, Math.floor((a - p) / 2), Math.ceil((b + p) / 2))];
  if (blk.kind === 'conv' && blk.resample === 'down') return [clip(id - 2, 2 * a, 2 * b + 1)]; // out row o reads 2o, 2o+1, 2o+2
  return [clip(id - 2, a - p, b + p)];
}

export interface Band {
  /** The target rows this band produces. */
  own: Rows;
  /** The window, in rows of the chain's finest level; every tensor of the pass is computed on it. */
  win: Rows;
}

export interface PassPlan {
  target: number;
  /** Gather the target's GroupNorm statistics. */
  stats: boolean;
  /** Keep the target for later passes (the last pass: the chain's result). */
  store: boolean;
  /** Stored as one tensor (small enough, or the result) rather than one chunk per band. */
  whole: boolean;
  /** Stored tensors the pass reads. */
  sources: number[];
  /** Stored tensors no longer needed after this pass: freed chunk by chunk, behind the last band that reads them. */
  drop: number[];
  bands: Band[];
}

/** Rows of the chain's finest level per row of each tensor (powers of two). */
export function rowScales(shapes: readonly (Shape | null)[]): number[] {
  const fine = Math.max(...shapes.map((s) => s?.[1] ?? 0));
  return shapes.map((s) => (s ? fine / s[1] : 0));
}

interface Geometry {
  bands: Band[];
  /** Tensors the pass computes or gathers. */
  ids: number[];
  /** Bytes of the largest tensor computed on a window. */
  windowBytes: number;
}

/**
 * The bands of `target` with `ownRows` own rows each (the last may have fewer), given what is
 * stored: windows in rows of the chain's finest level, all of one size, starting at multiples of
 * every involved tensor's row scale, clamped into the image; plus the tensors involved and the
 * bytes of the largest one on a window.
 */
export function passGeometry(spec: ChainSpec, target: number, stored: ReadonlySet<number>, ownRows: number): Geometry {
  const shapes = chainShapes(spec);
  const scale = rowScales(shapes);
  const fine = (shapes[0] as Shape)[1] * (scale[0] as number);
  const h = (shapes[target] as Shape)[1];
  const ids = new Set<number>();
  const spans: { own: Rows; lo: number; hi: number }[] = [];
  for (let a = 0; a < h; a += ownRows) {
    const own: Rows = [a, Math.min(h, a + ownRows)];
    const need = new Map<number, Rows>([[target, own]]);
    for (let id = target; id >= 0; id--) {
      const r = need.get(id);
      if (!r) continue;
      ids.add(id);
      if (stored.has(id)) continue;
      for (const [dep, [lo, hi]] of inputRows(spec, shapes, id, r)) {
        const old = need.get(dep);
        need.set(dep, old ? [Math.min(old[0], lo), Math.max(old[1], hi)] : [lo, hi]);
      }
    }
    let [lo, hi] = [Infinity, -Infinity];
    for (const [id, [x, y]] of need) [lo, hi] = [Math.min(lo, x * (scale[id] as number)), Math.max(hi, y * (scale[id] as number))];
    spans.push({ own, lo, hi });
  }
  // one window size for all bands; starts aligned so that every tensor's window is whole rows
  const align = Math.max(...[...ids].map((id) => scale[id] as number));
  const down = (v: number) => Math.floor(v / align) * align;
  const n = Math.min(fine, Math.max(...spans.map((s) => Math.ceil(s.hi / align) * align - down(s.lo))));
  const bands = spans.map(({ own, lo }) => {
    const start = Math.min(Math.max(0, down(lo)), fine - n);
    return { own, win: [start, start + n] as Rows };
  });
  let windowBytes = 0;
  for (const id of ids) {
    const [c, , w] = shapes[id] as Shape;
    windowBytes = Math.max(windowBytes, (4 * c * n * w) / (scale[id] as number));
  }
  return { bands, ids: [...ids].sort((x, y) => x - y), windowBytes };
}

export interface ChainBudget {
  /** Bytes of full-size tensors kept between passes (the stream, a resnet's first conv output). */
  storeBytes: number;
  /** Bytes of the largest tensor a band computes; also the largest stored chunk. ≤ 128 MiB (WebGPU's default binding limit). */
  windowBytes: number;
  /** Own rows per band at every pass's target (tests force small bands); default: the most that fit windowBytes. */
  bandRows?: number;
}

/** Bytes of the chain's largest tensor (f32). */
export function largestTensorBytes(spec: ChainSpec): number {
  return Math.max(...chainShapes(spec).map((s) => (s ? 4 * s[0] * s[1] * s[2] : 0)));
}

const MiB = 2 ** 20;

/**
 * The default budgets. All of a chain's activations (stored tensors, band windows, the pool's free
 * buffers) aim at 896 MiB up to 1 MP (the finest level's H·W), 512 MiB more per further MP, at
 * most 1.375 GiB (from 2 MP). Windows get 32 rows of the widest tensor (32 MiB at 1024²) within
 * [32, 128] MiB, about three of them live at once, and the rest is for stored tensors (800 MiB at
 * 1024²: the full-resolution stream and the half-resolution one). While the full-resolution stream
 * fits, windows stay ≤ 48 MiB so that it does; beyond (2048²: 2 GiB) every full-resolution
 * GroupNorm is recomputed from half resolution, and wider windows save more of that work.
 */
export function defaultChainBudget(spec: ChainSpec): ChainBudget {
  const all = chainShapes(spec);
  const shapes = all.filter((s): s is Shape => s !== null);
  const fine = shapes.reduce((a, s) => (s[1] * s[2] > a[1] * a[2] ? s : a));
  const mp = (fine[1] * fine[2]) / 2 ** 20;
  const total = Math.min(1408, 896 + 512 * Math.max(0, mp - 1)) * MiB;
  const widest = Math.max(...shapes.map((s) => 4 * s[0] * s[2]));
  // the smallest full-resolution tensor a pass could store (not the input, not the output)
  const stream = Math.min(...all.slice(1, -1).map((s) => (s && s[1] === fine[1] ? 4 * s[0] * s[1] * s[2] : Infinity)));
  const cap = stream + 5 * 48 * MiB <= total ? 48 * MiB : 128 * MiB;
  const windowBytes = Math.min(cap, Math.max(32 * MiB, 32 * widest));
  return { storeBytes: Math.max(0, total - 3 * windowBytes), windowBytes };
}

/**
 * Bands whose windows fit `budget.windowBytes`: as few as possible, of equal height (every band
 * computes a whole window, so a short last band would cost as much as a full one); or the forced bandRows.
 */
function chooseBands(spec: ChainSpec, target: number, stored: ReadonlySet<number>, budget: ChainBudget): Geometry {
  const h = (chainShapes(spec)[target] as Shape)[1];
  if (budget.bandRows !== undefined) return passGeometry(spec, target, stored, Math.min(h, budget.bandRows));
  let rows = h;
  for (;;) {
    const g = passGeometry(spec, target, stored, rows);
    if (g.windowBytes <= budget.windowBytes || rows === 1) return rows === h ? g : passGeometry(spec, target, stored, Math.ceil(h / Math.ceil(h / rows)));
    const win = (g.bands[0] as Band).win;
    const halo = (win[1] - win[0]) / (rowScales(chainShapes(spec))[target] as number) - rows; // window rows beyond the own ones
    rows = Math.max(1, Math.min(rows - 1, Math.floor(((rows + halo) * budget.windowBytes) / g.windowBytes) - halo));
  }
}

/**
 * The passes that run `spec`: greedily, every tensor is stored when the budget allows (storing
 * s_k frees its sources chunk by chunk, so it needs max(stored, s_k) bytes), else recomputed from
 * the last stored ones by the passes that need it. A GroupNorm's statistics are gathered by the
 * pass that stores its input, or by a pass of their own. The last pass stores the chain's output
 * whole. Errors (assert): a non-positive window budget or a negative store budget.
 */
export function planChain(spec: ChainSpec, budget: ChainBudget): PassPlan[] {
  assert(budget.windowBytes > 0 && budget.storeBytes >= 0, 'planChain: budgets must be positive');
  const shapes = chainShapes(spec);
  const bytes = (id: number) => 4 * (shapes[id] as Shape).reduce((p, v) => p * v, 1);
  const m = spec.blocks.length;
  let stored = new Set<number>([0]);
  const statsKnown = new Set<number>();
  const storedBytes = () => [...stored].reduce((s, id) => s + bytes(id), 0);
  const passes: PassPlan[] = [];
  const run = (target: number, stats: boolean, store: boolean) => {
    const g = chooseBands(spec, target, stored, budget);
    const last = target === 2 * m;
    const whole = last || g.bands.length === 1 || bytes(target) <= budget.windowBytes;
    const keep = target % 2 === 1; // a stored c_k still needs s_{k−1} (the shortcut): nothing dropped
    passes.push({ target, stats, store, whole, sources: g.ids.filter((id) => stored.has(id)), drop: store && !keep ? [...stored] : [], bands: g.bands });
    if (stats) statsKnown.add(target);
    if (store) stored = keep ? new Set([...stored, target]) : new Set([target]);
  };
  const ensureStats = (id: number) => {
    if (!statsKnown.has(id)) run(id, true, false);
  };
  const normed = (k: number) => k <= m && (spec.blocks[k - 1] as BlockSpec).kind !== 'conv';
  for (let k = 1; k <= m; k++) {
    if (normed(k)) ensureStats(2 * k - 2);
    if ((spec.blocks[k - 1] as BlockSpec).kind === 'res') run(2 * k - 1, true, storedBytes() + bytes(2 * k - 1) <= budget.storeBytes);
    if (k === m || Math.max(storedBytes(), bytes(2 * k)) <= budget.storeBytes) run(2 * k, normed(k + 1), true);
  }
  return passes;
}
