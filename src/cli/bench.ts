/**
 * `npm run bench -- --config DIR [--size N | --width W --height H] [--steps N] [--no-warmup]
 *   [--no-profile] [--low-memory] [--backend gpu|cpu] [--seed S] [--json]`
 *
 * Times the whole text-to-image pipeline (Qwen3 encoding of a fixed 512-token prompt, N Euler
 * steps of the transformer, VAE decode + RGBA8) on RANDOM bf16 weights (RandomWeights) at the
 * shapes of DIR/{text_encoder,transformer,vae}/config.json — no checkpoint needed, so the real
 * klein 4B is `--config bench/configs/flux2-klein-4b` (≈ 14 GB of GPU memory for the weights).
 * Prints ms per stage, FLOPs per stage (CountingOps: linear, attention, conv2d), and, with a GPU
 * that has 'timestamp-query', GPU time per kernel entry point and achieved GFLOP/s per kind
 * (linear = matmul + matvec, attention = attention + attention_rows, conv2d = conv2d), plus the
 * dispatch count, peak GPU memory and the adapter. `--json` prints the same as one JSON object.
 *
 * Peak GPU memory is reported per stage (encode, each step, decode; a stage runs from its first
 * progress event to the next stage's): `live` = weights + activations in use, `alloc` = every device
 * buffer the engine holds (weights + the whole buffer pool, free buffers included). `--low-memory`
 * runs the pipeline in LoadOptions.lowMemory mode: each stage makes its random weights when it
 * starts and frees them (and the pool) when it ends; the time that takes is reported apart.
 *
 * `--warmup` (default; `--no-warmup` skips it) runs the pipeline once untimed first (shader
 * compilation, buffer pool). Profiling (default on when supported) puts every dispatch in its own
 * timestamped pass, which adds some overhead to the stage times; `--no-profile` for clean ones.
 */
import { Command, InvalidArgumentError } from 'commander';
import { GpuContext } from '../gpu/context';
import { requestDevice } from '../gpu/device';
import { nodeGpu } from '../gpu/node';
import { CpuOps } from '../ops/cpuOps';
import { GpuOps } from '../ops/gpuOps';
import type { Ops } from '../ops/ops';
import { CountingOps, type FlopCounts, type FlopKind, zeroFlops } from '../ops/countingOps';
import { RandomWeights } from '../weights/randomWeights';
import { profileForAdapter, rooflineMs } from '../gpu/profiles';
import { isQuantFormat } from '../util/quant';
import { parseCfgMode, parsePrecision } from './backend';
import { folderSource } from '../weights/folderSource';
import { Pipeline } from '../pipeline/generate';
import { benchTokenizer } from '../pipeline/plan';
import { TEXT_SEQ_LEN, type Configs, readConfigs } from '../model/config';
import { syntheticLora } from '../pipeline/loras';
import type { GenerateRequest, LoraUse } from '../pipeline/types';
import { Rng } from '../util/rng';

/** The three configs of the benchmarked model (same as the pipeline's). */
export type BenchConfigs = Configs;

export interface StageResult {
  name: string;
  ms: number;
  flops: FlopCounts;
  /** Peak bytes during the stage: live tensors, and all device buffers (pool included); null on cpu. */
  peak: { live: number; allocated: number } | null;
}

export interface KindResult {
  kind: FlopKind;
  /** Entry points whose GPU time is charged to this kind. */
  kernels: string[];
  gflop: number;
  /** Summed GPU time of those kernels (null without profiling). */
  kernelMs: number | null;
  gflops: number | null;
}

export interface BenchResult {
  adapter: string;
  backend: 'gpu' | 'cpu';
  config: string;
  width: number;
  height: number;
  steps: number;
  textTokens: number;
  imageTokens: number;
  lowMemory: boolean;
  /** --lora-rank (0: no LoRA). */
  loraRank: number;
  /** Classifier-free guidance (--cfg: a base model at guidance 4): 'off', one pass over a 'batch' of 2, or 'two passes' per step. */
  cfg: 'off' | 'batch' | 'two passes';
  /** Weight bytes made at load (normal) or by the timed run, stage by stage (low memory). */
  weightBytes: number;
  loadMs: number;
  /** Low memory: ms the timed run spent making stage weights (not in the stage ms); null otherwise. */
  stageLoadMs: number | null;
  warmupMs: number | null;
  stages: StageResult[];
  totalMs: number;
  flops: FlopCounts;
  kinds: KindResult[];
  /**
   * Per kernel entry point of the timed run: dispatches, FLOPs and bytes moved (DispatchArgs), GPU ms
   * (null without profiling), and the roofline ms on the adapter's GPU profile (null when none matches).
   */
  kernels: Record<string, BenchKernel> | null;
  /** The GPU profile (src/gpu/profiles.ts) matched from the adapter description, for the roofline. */
  profile: string | null;
  /** Linear weights of the text encoder and transformer: 'bf16', 'q8' or 'q4'. */
  quant: string;
  /** Transformer activation storage in the run (LoadOptions.precision resolved). */
  precision: 'f32' | 'f16';
  /** Reductions (norms, GroupNorm statistics, matvec) ran their subgroup variants; null on the CPU backend. */
  subgroups: boolean | null;
  dispatches: number | null;
  peakBytes: number | null;
}

export interface BenchKernel {
  count: number;
  flops: number;
  bytes: number;
  ms: number | null;
  rooflineMs: number | null;
}

/** Kernel entry points per FLOP kind (shaders/*.wgsl). */
export const KIND_KERNELS: Readonly<Record<FlopKind, readonly string[]>> = {
  linear: ['matmul', 'matvec', 'matmul_q', 'matvec_q', 'gemm'],
  attention: ['attention', 'attention_rows'],
  conv2d: ['conv2d'],
};

/** Reads DIR/{text_encoder,transformer,vae}/config.json (cross-checked like a real model). */
export function readBenchConfigs(dir: string): Promise<BenchConfigs> {
  return readConfigs(folderSource(dir));
}

/**
 * One full text-to-image run through the real Pipeline. Stage ms come from its timings; FLOPs and
 * peak GPU memory are attributed to stages at its progress events (ops are encoded synchronously
 * between them): a stage runs from its first event to the next stage's first event.
 */
async function runOnce<T>(
  ops: CountingOps<T>,
  ctx: GpuContext | null,
  pipeline: Pipeline<T>,
  width: number,
  height: number,
  steps: number,
  seed: number,
  /** More request fields: LoRAs, guidance. */
  extra: Partial<GenerateRequest> = {},
): Promise<{ stages: StageResult[]; loadMs: number | null }> {
  const measured: Pick<StageResult, 'flops' | 'peak'>[] = [];
  const start = () => {
    ops.resetFlops();
    ctx?.pool.resetStagePeak();
  };
  const close = () => measured.push({ flops: { ...ops.flops }, peak: ctx ? { ...ctx.pool.stagePeak } : null });
  let last = '';
  start();
  const result = await pipeline.generate(
    { prompt: '', width, height, steps, seed, ...extra },
    {
      onProgress: (p) => {
        const key = `${p.stage}${p.step ?? ''}`;
        if (key === last) return;
        if (last) {
          close();
          start();
        }
        last = key;
      },
    },
  );
  close();
  const t = result.timings;
  const ms = [t.encodeMs, ...t.stepMs, t.decodeMs];
  const names = ['encode', ...t.stepMs.map((_, i) => `step ${i + 1}`), 'decode'];
  const stages = names.map((name, i) => ({ name, ms: ms[i] as number, flops: measured[i]?.flops ?? zeroFlops(), peak: measured[i]?.peak ?? null }));
  return { stages, loadMs: t.loadMs ?? null };
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
    return n;
  };
}

interface BenchOptions {
  config: string;
  size?: number;
  width?: number;
  height?: number;
  steps: number;
  warmup: boolean;
  profile: boolean;
  backend: string;
  seed: number;
  json: boolean;
  lowMemory: boolean;
  quant?: string;
  precision: string;
  loraRank: number;
  cfg?: string | boolean;
}

function parseArgs(argv: string[]): BenchOptions {
  const cmd = new Command('bench')
    .description('times the pipeline on random weights of the given configs')
    .requiredOption('--config <dir>', 'folder with text_encoder/, transformer/, vae/ config.json')
    .option('--size <px>', 'square output size (multiple of 16)', int('size'))
    .option('--width <px>', 'output width (multiple of 16; default --size or 512)', int('width'))
    .option('--height <px>', 'output height (multiple of 16; default --size or 512)', int('height'))
    .option('--steps <n>', 'denoising steps', int('steps'), 4)
    .option('--warmup', 'run once untimed first (default)')
    .option('--no-warmup', 'skip the untimed run')
    .option('--no-profile', 'no per-kernel GPU timing (clean stage times)')
    .option('--backend <name>', 'gpu (Dawn) or cpu (reference loops)', 'gpu')
    .option('--seed <n>', 'random weights and noise seed', int('seed'), 0)
    .option('--low-memory', "one stage's weights on the GPU at a time (made per stage, freed after it)")
    .option('--quant <q>', 'linear weights of the text encoder and transformer in q4 or q8 (random codes; default bf16)')
    .option('--precision <p>', 'transformer activations: auto (f16 with shader-f16), f32 or f16', 'auto')
    .option('--lora-rank <r>', 'apply a random LoRA of rank R to every weight a FLUX.2 LoRA can change (its cost per step; default none)', int('lora-rank'), 0)
    .option('--cfg [mode]', "a base model under classifier-free guidance 4: auto (the pipeline's choice, the default), batch (one pass over a batch of 2) or two-passes")
    .option('--json', 'print one JSON object instead of the table')
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<BenchOptions>();
  return { ...o, warmup: o.warmup !== false, profile: o.profile !== false, json: o.json === true, lowMemory: o.lowMemory === true };
}

/** Runs the benchmark described by the CLI arguments; progress goes to stderr. */
export async function runBench(argv: string[]): Promise<BenchResult> {
  const o = parseArgs(argv);
  const width = o.width ?? o.size ?? 512;
  const height = o.height ?? o.size ?? 512;
  if (o.backend !== 'gpu' && o.backend !== 'cpu') throw new InvalidArgumentError(`--backend ${o.backend}: use gpu or cpu`);
  const cfg = await readBenchConfigs(o.config);
  const quant = o.quant;
  if (quant !== undefined && !isQuantFormat(quant)) throw new InvalidArgumentError(`--quant ${quant}: use q4 or q8`);
  const cfgMode = parseCfgMode(o.cfg);

  let ctx: GpuContext | null = null;
  let adapter = 'CPU reference loops';
  let inner: Ops<unknown>;
  if (o.backend === 'gpu') {
    const { device, report } = await requestDevice(await nodeGpu());
    adapter = [report.vendor, report.architecture, report.description].filter(Boolean).join(' ') || 'unknown adapter';
    ctx = new GpuContext(device, report.isCpu, report.subgroupReductions);
    inner = new GpuOps(ctx) as Ops<unknown>;
  } else inner = new CpuOps() as Ops<unknown>;
  const ops = new CountingOps(inner);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`bench: ${adapter}; ${o.config} at ${width}×${height}, ${o.steps} step(s)${o.lowMemory ? ', low memory' : ''}`);

  try {
    const t0 = performance.now();
    // formats per tensor as a q4/q8 pack stores them (weights/quantRule.ts); the VAE stays bf16
    const rwText = new RandomWeights(ops, o.seed, quant && { format: quant, component: 'text_encoder' });
    const rwTransformer = new RandomWeights(ops, o.seed, quant && { format: quant, component: 'transformer' });
    const rwVae = new RandomWeights(ops, o.seed);
    const made = () => rwText.loadedBytes + rwTransformer.loadedBytes + rwVae.loadedBytes;
    const info = { source: `random:${o.config}`, summary: 'random weights' };
    const sources = { textEncoder: rwText, transformer: rwTransformer, vae: rwVae };
    const precision = parsePrecision(o.precision);
    const pipeline = await Pipeline.create(ops, cfg, benchTokenizer(cfg.textEncoder.vocab_size), sources, info, {
      precision,
      ...(o.lowMemory ? { lowMemory: true } : {}),
      ...(cfgMode ? { distilled: false, cfg: cfgMode } : {}),
    });
    const loras: LoraUse[] = [];
    if (o.loraRank > 0) {
      const rng = new Rng(o.seed + 1);
      await pipeline.addLora('bench', await syntheticLora(cfg, o.loraRank, (n) => rng.normals(n, 0.01)));
      loras.push({ name: 'bench', strength: 1 });
      log(`random LoRA of rank ${o.loraRank} on every LoRA-able transformer weight`);
    }
    // with CFG a prompt unlike the empty negative one (two encodings), at the base model's guidance 4
    const extra: Partial<GenerateRequest> = { ...(loras.length ? { loras } : {}), ...(cfgMode ? { prompt: 'bench', guidance: pipeline.info.defaultGuidance } : {}) };
    const cfgUsed = pipeline.cfgMode({ width, height, ...extra });
    if (cfgMode) log(`classifier-free guidance: ${cfgUsed === 'batch' ? 'one pass over a batch of 2' : 'two passes'} per step`);
    await ops.sync();
    const loadMs = performance.now() - t0;
    if (!o.lowMemory) log(`random weights: ${(made() / 1e9).toFixed(2)} GB in ${(loadMs / 1000).toFixed(1)} s`);

    let warmupMs: number | null = null;
    if (o.warmup) {
      const tw = performance.now();
      await runOnce(ops, ctx, pipeline, width, height, o.steps, o.seed, extra);
      warmupMs = performance.now() - tw;
      log(`warmup: ${(warmupMs / 1000).toFixed(1)} s`);
    }
    const profiling = ctx !== null && o.profile && ctx.canProfile;
    if (ctx) {
      ctx.profile = profiling;
      ctx.resetKernelTimes();
      ctx.pool.resetPeak();
    }
    const dispatches0 = ctx?.dispatchCount ?? 0;
    const bytes0 = made();
    const work = new Map<string, { count: number; flops: number; bytes: number }>();
    if (ctx) {
      ctx.recorder = (d) => {
        const k = work.get(d.entry) ?? { count: 0, flops: 0, bytes: 0 };
        work.set(d.entry, { count: k.count + 1, flops: k.flops + d.flops, bytes: k.bytes + d.bytes });
      };
    }
    const { stages, loadMs: stageLoadMs } = await runOnce(ops, ctx, pipeline, width, height, o.steps, o.seed, extra);
    if (ctx) ctx.recorder = null;

    const flops = zeroFlops();
    for (const s of stages) for (const k of Object.keys(flops) as FlopKind[]) flops[k] += s.flops[k];
    const profile = profileForAdapter(adapter);
    const times = profiling && ctx ? ctx.kernelTimes : null;
    const kernels = ctx
      ? Object.fromEntries(
          [...work]
            .map(([name, k]): [string, BenchKernel] => [name, { ...k, ms: times?.get(name)?.ms ?? null, rooflineMs: profile ? rooflineMs(profile, k) : null }])
            .sort((a, b) => (b[1].ms ?? b[1].rooflineMs ?? 0) - (a[1].ms ?? a[1].rooflineMs ?? 0)),
        )
      : null;
    const kinds: KindResult[] = (Object.keys(KIND_KERNELS) as FlopKind[]).map((kind) => {
      const names = [...KIND_KERNELS[kind]];
      const kernelMs = times ? names.reduce((s, k) => s + (times.get(k)?.ms ?? 0), 0) : null;
      const gflop = flops[kind] / 1e9;
      return { kind, kernels: names, gflop, kernelMs, gflops: kernelMs ? gflop / (kernelMs / 1000) : null };
    });
    const result: BenchResult = {
      adapter,
      backend: ops.backend,
      config: o.config,
      width,
      height,
      steps: o.steps,
      textTokens: TEXT_SEQ_LEN,
      imageTokens: (width / 16) * (height / 16),
      lowMemory: o.lowMemory,
      loraRank: o.loraRank,
      cfg: cfgUsed,
      weightBytes: o.lowMemory ? made() - bytes0 : pipeline.info.weightBytes,
      loadMs,
      stageLoadMs,
      warmupMs,
      stages,
      totalMs: stages.reduce((s, x) => s + x.ms, 0),
      flops,
      kinds,
      kernels,
      profile: profile?.id ?? null,
      quant: quant ?? 'bf16',
      precision: pipeline.f16 ? 'f16' : 'f32',
      subgroups: ctx ? ctx.subgroups : null,
      dispatches: ctx ? ctx.dispatchCount - dispatches0 : null,
      peakBytes: ctx ? ctx.pool.peakBytes : null,
    };
    if (ctx) ctx.profile = false;
    pipeline.dispose();
    return result;
  } finally {
    ctx?.destroy();
  }
}

const gf = (flop: number) => flop / 1e9;
const pad = (s: string, n: number) => s.padStart(n);
const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : (bytes / 2 ** 20).toFixed(1));

/** The human-readable report. */
export function formatBench(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`adapter   ${r.adapter} (${r.backend})`);
  lines.push(`config    ${r.config}: ${r.width}×${r.height}, ${r.steps} step(s), ${r.textTokens} text + ${r.imageTokens} image tokens, ${r.precision} activations${r.subgroups === null ? '' : r.subgroups ? ', subgroup reductions' : ', workgroup reductions'}${r.loraRank ? `, a random rank-${r.loraRank} LoRA` : ''}${r.cfg === 'off' ? '' : `, CFG ${r.cfg === 'batch' ? 'as a batch of 2' : 'in two passes'}`}`);
  const made = r.lowMemory
    ? `per stage in the timed run (low memory), ${((r.stageLoadMs ?? 0) / 1000).toFixed(1)} s, not in the stage ms`
    : `made in ${(r.loadMs / 1000).toFixed(1)} s`;
  lines.push(`weights   ${(r.weightBytes / 1e9).toFixed(3)} GB random ${r.quant === 'bf16' ? 'bf16' : `${r.quant} linear + bf16`}, ${made}${r.warmupMs !== null ? `; warmup run ${(r.warmupMs / 1000).toFixed(1)} s` : '; no warmup'}`);
  lines.push('');
  lines.push(`${'stage'.padEnd(10)}${pad('ms', 12)}${pad('linear GF', 12)}${pad('attn GF', 10)}${pad('conv GF', 10)}${pad('GFLOP/s', 10)}${pad('live MiB', 11)}${pad('alloc MiB', 11)}`);
  const row = (name: string, ms: number, f: FlopCounts, peak: StageResult['peak']) => {
    const total = f.linear + f.attention + f.conv2d;
    lines.push(
      `${name.padEnd(10)}${pad(ms.toFixed(1), 12)}${pad(gf(f.linear).toFixed(3), 12)}${pad(gf(f.attention).toFixed(3), 10)}${pad(gf(f.conv2d).toFixed(3), 10)}` +
        `${pad((gf(total) / (ms / 1000)).toFixed(2), 10)}${pad(mib(peak?.live), 11)}${pad(mib(peak?.allocated), 11)}`,
    );
  };
  for (const s of r.stages) row(s.name, s.ms, s.flops, s.peak);
  const peaks = r.stages.map((s) => s.peak).filter((p) => p !== null);
  row('total', r.totalMs, r.flops, peaks.length ? { live: Math.max(...peaks.map((p) => p.live)), allocated: Math.max(...peaks.map((p) => p.allocated)) } : null);
  lines.push('(live: peak of weights + activations in use; alloc: peak of all device buffers, the free ones of the pool included)');
  lines.push('');
  lines.push(`${'kind'.padEnd(10)}${pad('GFLOP', 12)}${pad('kernel ms', 12)}${pad('GFLOP/s', 10)}  kernels`);
  for (const k of r.kinds) {
    lines.push(`${k.kind.padEnd(10)}${pad(k.gflop.toFixed(3), 12)}${pad(k.kernelMs?.toFixed(1) ?? 'n/a', 12)}${pad(k.gflops?.toFixed(2) ?? 'n/a', 10)}  ${k.kernels.join(' + ')}`);
  }
  if (r.kernels) {
    const total = Object.values(r.kernels).reduce((s, k) => s + (k.ms ?? 0), 0);
    const timed = Object.values(r.kernels).some((k) => k.ms !== null);
    lines.push('');
    lines.push(`per kernel${timed ? ` (GPU time sum ${total.toFixed(1)} ms)` : ' (no GPU times: --no-profile or no timestamp-query)'}; roofline on ${r.profile ?? 'no matching GPU profile'}:`);
    lines.push(`  ${'kernel'.padEnd(22)}${pad('count', 7)}${pad('ms', 10)}${pad('%', 7)}${pad('GFLOP/s', 10)}${pad('GB/s', 9)}${pad('roofline ms', 13)}`);
    for (const [name, k] of Object.entries(r.kernels)) {
      const ms = k.ms;
      lines.push(
        `  ${name.padEnd(22)}${pad(String(k.count), 7)}${pad(ms?.toFixed(1) ?? 'n/a', 10)}${pad(ms !== null ? ((100 * ms) / Math.max(total, 1e-9)).toFixed(1) : '', 7)}` +
          `${pad(ms ? (k.flops / 1e6 / ms).toFixed(1) : 'n/a', 10)}${pad(ms ? (k.bytes / 1e6 / ms).toFixed(1) : 'n/a', 9)}${pad(k.rooflineMs?.toFixed(2) ?? 'n/a', 13)}`,
      );
    }
  }
  lines.push('');
  lines.push(`dispatches ${r.dispatches ?? 'n/a'}, peak GPU memory ${r.peakBytes !== null ? `${(r.peakBytes / 2 ** 30).toFixed(3)} GiB` : 'n/a'}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const r = await runBench(argv);
  process.stdout.write(`${argv.includes('--json') ? JSON.stringify(r, null, 2) : formatBench(r)}\n`);
  return 0;
}
