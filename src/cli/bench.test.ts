/**
 * `npm run bench` on the tiny golden config (Dawn; SwiftShader on CI): one step at 64², no warmup,
 * in normal and in low-memory mode. FLOP counts must equal the analytic ones of flux2-klein.md
 * §10.1 at the tiny dims, the profiler must have timed the matmul and attention kernels, and the
 * per-stage peak GPU memory must show one stage's weights at a time in low-memory mode.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { GOLDEN_DIR } from '../testing/golden';
import { LAYERS_NEEDED } from '../model/qwen3';
import { TEXT_SEQ_LEN, hiddenSize, mlpHidden } from '../model/config';
import { type BenchConfigs, type BenchResult, KIND_KERNELS, formatBench, main, readBenchConfigs } from './bench';

const formatBenchLine = (r: BenchResult) => formatBench(r).split('\n').find((l) => l.startsWith('config')) ?? '';

const CONFIG = join(GOLDEN_DIR, 'model-a');
const SIZE = 64; // 16 image tokens, 64² decode (the pipeline minimum): every stage, ~1 min on SwiftShader

/** Qwen3 encoder (512 tokens, causal attention counted as half). */
function encodeFlops(c: BenchConfigs) {
  const q = c.textEncoder;
  const s = TEXT_SEQ_LEN;
  const perToken = q.hidden_size * q.num_attention_heads * q.head_dim * 2 + 2 * q.hidden_size * q.num_key_value_heads * q.head_dim + 3 * q.hidden_size * q.intermediate_size;
  return {
    linear: LAYERS_NEEDED * 2 * s * perToken,
    attention: (LAYERS_NEEDED * 4 * s * s * q.num_attention_heads * q.head_dim) / 2,
    conv2d: 0,
  };
}

/** context_embedder on the prompt embeddings (512 × 3·D_text → D), run at the start of step 1. */
function contextFlops(c: BenchConfigs) {
  return 2 * TEXT_SEQ_LEN * 3 * c.textEncoder.hidden_size * hiddenSize(c.transformer);
}

/** The per-call [1, ·] linears: timestep embedding, modulations, norm_out (once per call, batch or not). */
function vectorFlops(c: BenchConfigs) {
  const t = c.transformer;
  const d = hiddenSize(t);
  return 2 * (t.timestep_guidance_channels * d + d * d) + 2 * d * (6 * d + 6 * d + 3 * d) + 2 * d * 2 * d;
}

/** One transformer call: every block applies 4D² + 3DM weights to each of S = 512 + N tokens. */
function stepFlops(c: BenchConfigs, n: number) {
  const t = c.transformer;
  const d = hiddenSize(t);
  const m = mlpHidden(t);
  const s = TEXT_SEQ_LEN + n;
  const blocks = t.num_layers + t.num_single_layers;
  const vectors = vectorFlops(c);
  return {
    linear: blocks * 2 * s * (4 * d * d + 3 * d * m) + 2 * n * t.in_channels * d * 2 + vectors,
    attention: blocks * 4 * s * s * d,
    conv2d: 0,
  };
}

/** VAE decoder at latent grid h×w (z: [32, 2h, 2w]): conv MACs ×2, mid attention (one head, Dh = C). */
function decodeFlops(c: BenchConfigs, h: number, w: number) {
  const v = c.vae;
  const ch = [...(v.decoder_block_out_channels ?? v.block_out_channels)].reverse();
  const lat = v.latent_channels;
  let hw = 4 * h * w;
  const conv = (co: number, ci: number, k: number, pixels: number) => 2 * co * pixels * ci * k * k;
  const resnet = (ci: number, co: number) => conv(co, ci, 3, hw) + conv(co, co, 3, hw) + (ci !== co ? conv(co, ci, 1, hw) : 0);
  const top = ch[0] as number;
  let conv2d = (v.use_post_quant_conv ? conv(lat, lat, 1, hw) : 0) + conv(top, lat, 3, hw) + 2 * resnet(top, top);
  let prev = top;
  ch.forEach((out, i) => {
    for (let r = 0; r <= v.layers_per_block; r++) conv2d += resnet(r === 0 ? prev : out, out);
    if (i < ch.length - 1) {
      hw *= 4;
      conv2d += conv(out, out, 3, hw);
    }
    prev = out;
  });
  conv2d += conv(v.out_channels, prev, 3, hw);
  const midHw = 4 * h * w;
  return {
    linear: v.mid_block_add_attention ? 4 * 2 * midHw * top * top : 0,
    attention: v.mid_block_add_attention ? 4 * midHw * midHw * top : 0,
    conv2d,
  };
}

describe('npm run bench on the tiny config', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Runs `npm run bench` with --json on the tiny config and parses its output. */
  async function bench(...extra: string[]): Promise<BenchResult> {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    const code = await main(['--config', CONFIG, '--size', String(SIZE), '--steps', '1', '--no-warmup', '--json', ...extra]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    return JSON.parse(out) as BenchResult;
  }

  it('--lora-rank adds a random LoRA: more linear FLOPs per step, counted alike by the ops and the kernels', async () => {
    const plain = await bench('--no-profile');
    const r = await bench('--no-profile', '--lora-rank', '4');
    expect(r.loraRank).toBe(4);
    const step = (x: BenchResult) => x.stages.find((st) => st.name === 'step 1')!.flops;
    expect(step(r).linear).toBeGreaterThan(step(plain).linear);
    expect(step(r).attention).toBe(step(plain).attention);
    const k = r.kernels ?? {};
    expect(KIND_KERNELS.linear.reduce((sum, n) => sum + (k[n]?.flops ?? 0), 0)).toBe(r.flops.linear);
    expect(r.dispatches ?? 0).toBeGreaterThan(plain.dispatches ?? 0);
  });

  it('--cfg batch / two-passes: a base model under CFG, reported; the batch does the same attention in fewer dispatches', async () => {
    const [batch, two] = [await bench('--no-profile', '--cfg', 'batch'), await bench('--no-profile', '--cfg', 'two-passes')];
    expect([batch.cfg, two.cfg]).toEqual(['batch', 'two passes']);
    const cfg = await readBenchConfigs(CONFIG);
    const step = (x: BenchResult) => x.stages.find((st) => st.name === 'step 1')!.flops;
    const one = stepFlops(cfg, (SIZE / 16) ** 2);
    for (const r of [batch, two]) expect(step(r).attention).toBe(2 * one.attention);
    expect(step(two).linear).toBe(2 * (one.linear + contextFlops(cfg)));
    // the batch runs the timestep embedding, the modulations, norm_out's linear and x_embedder (the
    // image tokens are the same in both branches) once, not twice
    const xEmbedder = 2 * (SIZE / 16) ** 2 * cfg.transformer.in_channels * hiddenSize(cfg.transformer);
    expect(step(batch).linear).toBe(step(two).linear - vectorFlops(cfg) - xEmbedder);
    expect(batch.dispatches ?? 0).toBeLessThan(two.dispatches ?? 0);
    expect(formatBenchLine(batch)).toContain('CFG as a batch of 2');
  });

  it('times every stage, counts the analytic FLOPs, profiles the kernels, and peaks per stage in both modes', async () => {
    const r = await bench();
    const cfg = await readBenchConfigs(CONFIG);

    expect(r.stages.map((s) => s.name)).toEqual(['encode', 'step 1', 'decode']);
    for (const s of r.stages) expect(s.ms).toBeGreaterThan(0);
    const g = SIZE / 16;
    const step1 = stepFlops(cfg, g * g);
    const want = [encodeFlops(cfg), { ...step1, linear: step1.linear + contextFlops(cfg) }, decodeFlops(cfg, g, g)];
    expect(r.stages.map((s) => s.flops)).toEqual(want);

    expect(r.kernels).not.toBeNull();
    const k = r.kernels ?? {};
    const seen = (names: readonly string[]) => names.reduce((s, n) => s + (k[n]?.count ?? 0), 0);
    expect(seen(KIND_KERNELS.linear)).toBeGreaterThan(0);
    expect(seen(KIND_KERNELS.attention)).toBeGreaterThan(0);
    expect(seen(KIND_KERNELS.conv2d)).toBeGreaterThan(0);
    expect(k.matmul?.ms).toBeGreaterThan(0);
    expect(r.dispatches).toBe(Object.entries(k).reduce((s, [name, x]) => s + (name === 'copyBufferToBuffer' ? 0 : x.count), 0));
    expect(k.copyBufferToBuffer?.count).toBeGreaterThan(0); // concatRows / sliceRows move bytes without a dispatch
    // the kernels' own FLOP counts (DispatchArgs.flops) equal the analytic ones, kind by kind
    const kernelFlops = (names: readonly string[]) => names.reduce((s, n) => s + (k[n]?.flops ?? 0), 0);
    expect(kernelFlops(KIND_KERNELS.linear)).toBe(r.flops.linear);
    expect(kernelFlops(KIND_KERNELS.attention)).toBe(r.flops.attention);
    expect(kernelFlops(KIND_KERNELS.conv2d)).toBe(r.flops.conv2d);
    for (const [name, x] of Object.entries(k)) expect(x.bytes, name).toBeGreaterThan(0);
    expect(r.peakBytes).toBeGreaterThan(r.weightBytes);
    // normal mode: every stage holds all weights (GPU bytes ≥ checkpoint bytes) plus activations
    for (const s of r.stages) {
      expect(s.peak?.live, s.name).toBeGreaterThan(r.weightBytes);
      expect(s.peak?.allocated, s.name).toBeGreaterThanOrEqual(s.peak?.live ?? Infinity);
    }

    const low = await bench('--low-memory', '--no-profile');
    expect(low.lowMemory).toBe(true);
    expect(low.stages.map((s) => s.flops)).toEqual(want);
    expect(low.weightBytes).toBe(r.weightBytes); // every stage's weights made once in the timed run
    expect(low.stageLoadMs).toBeGreaterThan(0);
    // each stage lacks the other two stages' weights: Σ (normal − low) = 2 × all weights' GPU bytes
    let lacking = 0;
    for (const [i, s] of low.stages.entries()) {
      const normal = r.stages[i]?.peak?.live ?? 0;
      expect(s.peak?.live, s.name).toBeLessThan(normal);
      lacking += normal - (s.peak?.live ?? 0);
    }
    expect(lacking).toBeGreaterThanOrEqual(2 * r.weightBytes);
    // q4 linear weights made directly in the quantized layout: the quantized kernels run, less weight memory
    const q4 = await bench('--quant', 'q4', '--no-profile');
    expect(q4.quant).toBe('q4');
    expect(q4.weightBytes).toBeLessThan(r.weightBytes);
    expect(q4.kernels?.matmul_q?.count).toBeGreaterThan(0);
    expect(q4.kernels?.matmul_q?.ms).toBeNull();
    expect(q4.stages.map((s) => s.flops)).toEqual(want);
    console.log(`[bench] peak live MiB per stage: normal ${r.stages.map((s) => ((s.peak?.live ?? 0) / 2 ** 20).toFixed(2)).join(' / ')}, low memory ${low.stages.map((s) => ((s.peak?.live ?? 0) / 2 ** 20).toFixed(2)).join(' / ')}`);
  });
});
