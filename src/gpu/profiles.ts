/**
 * Documented peaks of GPUs people run the app on, for roofline estimates (the plan backend,
 * src/cli/plan.ts): a dispatch takes at least max(flops / peak, bytes / bandwidth). The peaks are
 * the vendors' or spec databases' figures at the boost clock; WebGPU without subgroup matrices
 * reaches only the vector (non-tensor) rates, so those are the ones listed. Real kernels reach a
 * fraction of them (docs/webgpu-perf.md §B3: 25–75 % of the vector peak for the best WebGPU GEMMs).
 */

export interface GpuProfile {
  /** Short key used on the command line and in JSON (`m2-pro`, `rtx-4090`, …). */
  id: string;
  name: string;
  /** Vector f32 FMA throughput, FLOP/s (one FMA = 2 FLOP). */
  f32Flops: number;
  /** Vector f16 throughput, FLOP/s (packed half2 where the architecture doubles it). */
  f16Flops: number;
  /** DRAM (or unified memory) bandwidth, bytes/s. */
  bandwidth: number;
  /** Where the numbers come from. */
  source: string;
}

const T = 1e12;
const G = 1e9;

export const GPU_PROFILES: readonly GpuProfile[] = [
  {
    id: 'm2-pro',
    name: 'Apple M2 Pro, 19-core GPU',
    f32Flops: 6.8 * T,
    f16Flops: 6.8 * T, // Apple GPUs run f16 FMA at the f32 rate
    bandwidth: 200 * G,
    source: 'Apple M2 Pro announcement (2023-01-17: 200 GB/s); 2432 ALUs × 2 × 1.398 GHz = 6.8 TFLOPS',
  },
  {
    id: 'm4-max',
    name: 'Apple M4 Max, 40-core GPU',
    f32Flops: 18.4 * T,
    f16Flops: 18.4 * T,
    bandwidth: 546 * G,
    source: 'Apple M4 Max announcement (2024-10-30: 546 GB/s); 5120 ALUs × 2 × ≈1.8 GHz ≈ 18.4 TFLOPS',
  },
  {
    id: 'arc-140v',
    name: 'Intel Arc 140V (Xe2, Lunar Lake), 8 Xe-cores',
    f32Flops: 4.2 * T,
    f16Flops: 8.4 * T,
    bandwidth: 136.5 * G,
    source: 'Intel Core Ultra 200V specs: 8 Xe2-cores at 2.05 GHz (1024 f32 lanes × 2 → 4.2 TFLOPS, f16 ×2); LPDDR5X-8533 × 128 bit = 136.5 GB/s',
  },
  {
    id: 'rtx-4070-laptop',
    name: 'NVIDIA GeForce RTX 4070 Laptop (115 W)',
    f32Flops: 20.0 * T,
    f16Flops: 20.0 * T, // Ada's non-tensor f16 rate equals f32
    bandwidth: 256 * G,
    source: 'NVIDIA RTX 40 laptop specs: 4608 CUDA cores, boost up to 2175 MHz (→ 20.0 TFLOPS; 60 W parts ≈ 15), 128-bit GDDR6 16 Gbps = 256 GB/s',
  },
  {
    id: 'rtx-4090',
    name: 'NVIDIA GeForce RTX 4090',
    f32Flops: 82.6 * T,
    f16Flops: 82.6 * T,
    bandwidth: 1008 * G,
    source: 'NVIDIA Ada GPU architecture whitepaper: 82.6 TFLOPS f32, 1008 GB/s',
  },
  {
    id: 'h100',
    name: 'NVIDIA H100 SXM5',
    f32Flops: 66.9 * T,
    f16Flops: 133.8 * T, // Hopper's non-tensor f16 is twice f32
    bandwidth: 3350 * G,
    source: 'NVIDIA H100 datasheet: 67 TFLOPS f32 (non-tensor), 3.35 TB/s HBM3',
  },
  {
    id: 'h200',
    name: 'NVIDIA H200 SXM',
    f32Flops: 66.9 * T,
    f16Flops: 133.8 * T,
    bandwidth: 4800 * G,
    source: 'NVIDIA H200 datasheet: the H100 compute (67 TFLOPS f32) with 4.8 TB/s HBM3e',
  },
];

/** The profile whose GPU an adapter description names ('NVIDIA H200', 'RTX 4090', 'Apple M4 Max', …), or null. */
export function profileForAdapter(description: string): GpuProfile | null {
  const d = description.toLowerCase();
  const keys: [RegExp, string][] = [
    [/h200/, 'h200'],
    [/h100/, 'h100'],
    [/4090/, 'rtx-4090'],
    [/4070.*(laptop|mobile)|(laptop|mobile).*4070/, 'rtx-4070-laptop'],
    [/m4 max/, 'm4-max'],
    [/m2 pro/, 'm2-pro'],
    [/arc.*140v|lunar ?lake|xe2/, 'arc-140v'],
  ];
  const hit = keys.find(([re]) => re.test(d));
  return hit ? (GPU_PROFILES.find((p) => p.id === hit[1]) ?? null) : null;
}

/** Arithmetic and traffic of some work, and which vector rate applies. */
export interface RooflineWork {
  flops: number;
  bytes: number;
  /** f16 math (f16 accumulation); the engine's kernels accumulate in f32. */
  f16Math?: boolean;
}

/** Lower bound on the time of `work` on `gpu`, ms: max(compute, memory). */
export function rooflineMs(gpu: GpuProfile, work: RooflineWork): number {
  const peak = work.f16Math ? gpu.f16Flops : gpu.f32Flops;
  return 1000 * Math.max(work.flops / peak, work.bytes / gpu.bandwidth);
}
