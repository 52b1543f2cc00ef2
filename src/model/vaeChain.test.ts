/**
 * The banded VAE's plan (vaeChain.ts) as numbers: band windows hold every row their own rows need
 * (checked by an independent forward pass over which rows come out right), and the passes of a
 * plan are well formed — at the klein 4B decoder's and encoder's shapes and the tiny model's.
 */
import { describe, expect, it } from 'vitest';
import { type BlockSpec, type ChainSpec, type PassPlan, type Rows, type Shape, chainShapes, defaultChainBudget, passGeometry, planChain, rowScales } from './vaeChain';

const res = (co: number): BlockSpec => ({ kind: 'res', co });
const up = (co: number): BlockSpec => ({ kind: 'conv', co, k: 3, resample: 'up' });
const down = (co: number): BlockSpec => ({ kind: 'conv', co, k: 3, resample: 'down' });

/** klein 4B's decoder after the mid block (block_out_channels [128, 256, 512, 512], 3 resnets per up block). */
function decoder(h: number, w: number): ChainSpec {
  const blocks = [res(512), res(512), res(512), up(512), res(512), res(512), res(512), up(512), res(256), res(256), res(256), up(256), res(128), res(128), res(128)];
  return { input: [512, h / 8, w / 8], blocks: [...blocks, { kind: 'normConv', co: 3, k: 3 }] };
}

/** klein 4B's encoder up to latent resolution: conv_in, 4 down blocks of 2 resnets, 3 downsamplers. */
function encoder(h: number, w: number): ChainSpec {
  const blocks = [res(128), res(128), down(128), res(256), res(256), down(256), res(512), res(512), down(512), res(512), res(512)];
  return { input: [3, h, w], blocks: [{ kind: 'conv', co: 128, k: 3, resample: 'none' }, ...blocks] };
}

/**
 * The rows of `target` that come out right when every tensor of the pass is computed on the band's
 * window (zero padding at window edges), derived forward from the ops' semantics: a row is right
 * when every input row it reads is right or lies outside the image (true zero padding).
 */
function validRows(spec: ChainSpec, target: number, stored: ReadonlySet<number>, win: Rows): Rows {
  const shapes = chainShapes(spec);
  const scale = rowScales(shapes);
  const memo = new Map<number, Rows>();
  const conv = (r: Rows, hIn: number, p: number, stride: number, padTop: number, hOut: number): Rows => {
    // output o reads input rows [o·stride − padTop, o·stride − padTop + 2p]
    const ok = (o: number) => {
      const [lo, hi] = [Math.max(0, o * stride - padTop), Math.min(hIn - 1, o * stride - padTop + 2 * p)];
      return lo > hi || (lo >= r[0] && hi < r[1]);
    };
    let a = 0;
    while (a < hOut && !ok(a)) a++;
    let b = a;
    while (b < hOut && ok(b)) b++;
    return [a, b];
  };
  const valid = (id: number): Rows => {
    const hit = memo.get(id);
    if (hit) return hit;
    const [, h] = shapes[id] as Shape;
    const w: Rows = [win[0] / (scale[id] as number), win[1] / (scale[id] as number)];
    let r: Rows;
    if (stored.has(id)) r = w;
    else {
      const k = Math.ceil(id / 2);
      const blk = spec.blocks[k - 1] as BlockSpec;
      const hin = (shapes[2 * k - 2] as Shape)[1];
      if (id % 2 === 1) r = conv(valid(id - 1), hin, 1, 1, 1, h);
      else if (blk.kind === 'res') {
        const c = conv(valid(id - 1), h, 1, 1, 1, h);
        const x = valid(id - 2);
        r = [Math.max(c[0], x[0]), Math.min(c[1], x[1])];
      } else if (blk.kind === 'conv' && blk.resample === 'up') {
        const x = valid(id - 2);
        r = conv([2 * x[0], 2 * x[1]], h, 1, 1, 1, h);
      } else if (blk.kind === 'conv' && blk.resample === 'down') r = conv(valid(id - 2), hin, 1, 2, 0, h);
      else r = conv(valid(id - 2), hin, (blk.k - 1) / 2, 1, (blk.k - 1) / 2, h);
      r = [Math.max(r[0], w[0]), Math.min(r[1], w[1])]; // computed on the window only
    }
    memo.set(id, r);
    return r;
  };
  return valid(target);
}

/** Checks one pass's bands: they tile the target, windows are equal, aligned, inside, and right where owned. */
function checkBands(spec: ChainSpec, p: PassPlan, stored: ReadonlySet<number>): void {
  const shapes = chainShapes(spec);
  const scale = rowScales(shapes);
  const fine = (shapes[0] as Shape)[1] * (scale[0] as number);
  const n = (p.bands[0] as PassPlan['bands'][number]).win[1] - (p.bands[0] as PassPlan['bands'][number]).win[0];
  let next = 0;
  for (const b of p.bands) {
    expect(b.own[0]).toBe(next);
    next = b.own[1];
    expect(b.win[1] - b.win[0]).toBe(n);
    expect(b.win[0] >= 0 && b.win[1] <= fine).toBe(true);
    for (const id of [...stored, p.target]) expect(b.win[0] % (scale[id] as number)).toBe(0);
    const v = validRows(spec, p.target, stored, b.win);
    expect(v[0] <= b.own[0] && b.own[1] <= v[1], `pass ${p.target}: own rows [${b.own}] outside the right rows [${v}] of window [${b.win}]`).toBe(true);
  }
  expect(next).toBe((shapes[p.target] as Shape)[1]);
}

describe('vaeChain geometry', () => {
  it('shapes: the decoder doubles three times to 8× its input, the encoder halves three times', () => {
    const d = chainShapes(decoder(1024, 768));
    expect(d[0]).toEqual([512, 128, 96]);
    expect(d[d.length - 1]).toEqual([3, 1024, 768]);
    expect(d[25]).toEqual([128, 1024, 768]); // c_13: up_blocks.3.resnets.0's first conv
    const e = chainShapes(encoder(512, 384));
    expect(e[e.length - 1]).toEqual([512, 64, 48]);
    expect(rowScales(e)[e.length - 1]).toBe(8);
  });

  it('windows hold every row their own rows need, for any target and stored set', () => {
    for (const spec of [decoder(256, 128), encoder(256, 128)]) {
      const m = spec.blocks.length;
      for (let target = 1; target <= 2 * m; target++) {
        if (!chainShapes(spec)[target]) continue;
        // stored: the input only (deepest recomputation), or the tensor just before the target
        for (const stored of [new Set([0]), new Set([Math.max(0, target - 2 + (target % 2))])]) {
          for (const rows of [1, 3, 8, 64]) {
            const g = passGeometry(spec, target, stored, rows);
            checkBands(spec, { target, stats: true, store: false, whole: false, sources: [], drop: [], bands: g.bands }, stored);
          }
        }
      }
    }
  });
});

describe('planChain', () => {
  /** Replays a plan: every GroupNorm a pass applies has its statistics, sources are stored, the last pass stores the output. */
  function checkPlan(spec: ChainSpec, passes: PassPlan[]): void {
    const m = spec.blocks.length;
    const kind = (id: number) => (spec.blocks[Math.ceil(id / 2) - 1] as BlockSpec).kind;
    const deps = (id: number) => (id % 2 === 1 ? [id - 1] : kind(id) === 'res' ? [id - 1, id - 2] : [id - 2]);
    const normalises = (id: number) => (id % 2 === 1 || kind(id) === 'res' ? id - 1 : kind(id) === 'normConv' ? id - 2 : null);
    let stored = new Set([0]);
    const stats = new Set<number>();
    for (const p of passes) {
      checkBands(spec, p, stored);
      for (const id of p.sources) expect(stored.has(id)).toBe(true);
      const computed = new Set<number>();
      const visit = (id: number): void => {
        if (stored.has(id) || computed.has(id)) return;
        computed.add(id);
        deps(id).forEach(visit);
      };
      visit(p.target);
      for (const id of computed) {
        const n = normalises(id);
        if (n !== null) expect(stats.has(n), `pass ${p.target} computes ${id}, normalising ${n} without statistics`).toBe(true);
      }
      if (p.stats) stats.add(p.target);
      if (p.store) stored = p.target % 2 === 1 ? new Set([...stored, p.target]) : new Set([p.target]);
    }
    const last = passes[passes.length - 1] as PassPlan;
    expect([last.target, last.store, last.whole]).toEqual([2 * m, true, true]);
  }

  it('klein 4B decoder at 1024²: streams stored, the full-resolution upsampler output (1 GiB) recomputed', () => {
    const spec = decoder(1024, 1024);
    const budget = defaultChainBudget(spec);
    expect(budget).toEqual({ storeBytes: 800 * 2 ** 20, windowBytes: 32 * 2 ** 20 });
    const passes = planChain(spec, budget);
    checkPlan(spec, passes);
    const storedIds = passes.filter((p) => p.store).map((p) => p.target);
    expect(storedIds).not.toContain(24); // U2's output [256, 1024, 1024]
    expect(storedIds).toEqual(expect.arrayContaining([22, 26, 28, 30, 32]));
    expect(passes.filter((p) => p.target === 24).map((p) => p.stats)).toEqual([true]); // its statistics only
  });

  it('klein 4B encoder at 1024², and both chains at 2048², 1360×768 and the tiny sizes are well formed', () => {
    for (const spec of [encoder(1024, 1024), decoder(2048, 2048), encoder(768, 1360), decoder(768, 1360), decoder(64, 64)]) {
      checkPlan(spec, planChain(spec, defaultChainBudget(spec)));
      checkPlan(spec, planChain(spec, { storeBytes: 0, windowBytes: 2 ** 20 }));
    }
  });
});
