/**
 * Whether this GPU can run a model before anything is downloaded: the plan of a run at the chosen
 * size (runPlan: exact buffer, binding and peak bytes, no weights needed) in normal and low-memory
 * mode, held against the adapter's limits and the memory hint the browser gives (navigator.deviceMemory,
 * the system RAM in GB rounded down and capped at 8 by Chromium: a floor for integrated GPUs, which
 * share it, and no statement about a discrete GPU's own memory — WebGPU reports no GPU memory size).
 */
import type { Configs } from '../model/config';
import type { QuantFormat } from '../util/quant';
import { uniformFormats } from '../weights/planWeights';
import type { Component } from '../weights/sourceTensor';
import type { StageFormats } from './generate';
import { type PlanResult, runPlan } from './plan';

/** What the verdict needs of the adapter report (src/gpu/device.ts AdapterReport). */
export interface FitAdapter {
  description: string;
  vendor: string;
  architecture: string;
  isCpu: boolean;
  isFallbackAdapter: boolean;
  features: readonly string[];
  limits: Readonly<Record<string, number>>;
}

/**
 * - `fits`: normal mode is inside every limit (and the memory hint, when one is given).
 * - `low-memory`: only low-memory mode is (by limits, or by the memory hint).
 * - `too-small`: not even low-memory mode fits the limits at this size.
 * - `software`: the adapter is a CPU implementation (SwiftShader, llvmpipe/lavapipe) or the
 *   browser's fallback adapter: it runs, but an image takes minutes to hours.
 */
export type FitVerdict = 'fits' | 'low-memory' | 'too-small' | 'software';

export interface GpuFit {
  verdict: FitVerdict;
  /** The adapter as the browser names it ("" when it gives no name). */
  adapterName: string;
  width: number;
  height: number;
  /** Peak bytes of all GPU buffers in normal mode and in low-memory mode (weights included). */
  needBytes: number;
  lowMemoryNeedBytes: number;
  /** Largest buffer and binding of the normal-mode run, and the adapter's limits for them. */
  maxBufferBytes: number;
  maxBindingBytes: number;
  limitBufferBytes: number;
  limitBindingBytes: number;
  /** navigator.deviceMemory in GiB, or null when the browser does not say. */
  deviceMemoryGiB: number | null;
}

/**
 * The adapter's name for people: its description, else vendor and architecture; the CPU
 * implementations by their names (Chromium reports SwiftShader as vendor "google", architecture
 * "swiftshader", no description).
 */
export function adapterName(a: Pick<FitAdapter, 'description' | 'vendor' | 'architecture'>): string {
  const all = `${a.description} ${a.vendor} ${a.architecture}`;
  if (/swiftshader/i.test(all)) return 'SwiftShader, a software renderer';
  if (/llvmpipe|lavapipe/i.test(all)) return 'llvmpipe (lavapipe), a software renderer';
  return a.description.trim() || `${a.vendor} ${a.architecture}`.trim();
}

const overLimits = (p: PlanResult, a: FitAdapter): boolean =>
  p.maxBufferBytes > (a.limits.maxBufferSize ?? 0) || p.maxBindingBytes > (a.limits.maxStorageBufferBindingSize ?? 0);

/**
 * The verdict from the two plans (pure; `gpuFit` computes the plans). A memory hint below a mode's
 * peak counts as not fitting in that mode.
 */
export function fitVerdict(a: FitAdapter, normal: PlanResult, low: PlanResult, deviceMemoryGiB: number | null): GpuFit {
  const mem = deviceMemoryGiB === null ? Infinity : deviceMemoryGiB * 2 ** 30;
  const normalFits = !overLimits(normal, a) && normal.peakBytes <= mem;
  const lowFits = !overLimits(low, a) && low.peakBytes <= mem;
  const verdict: FitVerdict = a.isCpu || a.isFallbackAdapter ? 'software' : normalFits ? 'fits' : lowFits ? 'low-memory' : 'too-small';
  return {
    verdict,
    adapterName: adapterName(a),
    width: normal.width,
    height: normal.height,
    needBytes: normal.peakBytes,
    lowMemoryNeedBytes: low.peakBytes,
    maxBufferBytes: normal.maxBufferBytes,
    maxBindingBytes: normal.maxBindingBytes,
    limitBufferBytes: a.limits.maxBufferSize ?? 0,
    limitBindingBytes: a.limits.maxStorageBufferBindingSize ?? 0,
    deviceMemoryGiB,
  };
}

/** The storage formats of a model quantized to `quant` whose q4 weights have group size `groups[component]` (default 64). */
function formatsWithGroups(quant: QuantFormat, groups: Partial<Record<Component, number>>): StageFormats {
  const stage = (component: Component) => {
    const base = uniformFormats(quant, component);
    const group = groups[component];
    return (name: string, shape: readonly number[]) => {
      const f = base(name, shape);
      return group !== undefined && f.format === 'q4' ? { ...f, group } : f;
    };
  };
  return { textEncoder: stage('text_encoder'), transformer: stage('transformer'), vae: uniformFormats() };
}

/**
 * Plans a `width`×`height` text-to-image run of a model with `configs` whose text encoder and
 * transformer are stored as `quant` (q4 groups of `groups[component]` where given: a GGUF repack),
 * in normal and low-memory mode, with the activation precision this adapter gets (f16 where it
 * offers shader-f16), and gives the verdict. About a second of CPU for klein 4B at 1024²; nothing
 * is downloaded or allocated on the GPU.
 */
export async function gpuFit(
  configs: Configs,
  quant: QuantFormat | undefined,
  width: number,
  height: number,
  a: FitAdapter,
  deviceMemoryGiB: number | null,
  groups: Partial<Record<Component, number>> = {},
): Promise<GpuFit> {
  const storage = quant ? { formats: formatsWithGroups(quant, groups) } : {};
  const o = {
    configs,
    width,
    height,
    steps: 1,
    precision: a.features.includes('shader-f16') ? ('f16' as const) : ('f32' as const),
    cpuAdapter: a.isCpu,
    ...(a.limits.maxStorageBufferBindingSize !== undefined ? { bindingLimit: Math.min(a.limits.maxStorageBufferBindingSize, a.limits.maxBufferSize ?? Infinity) } : {}),
    ...storage,
  };
  const normal = await runPlan(o);
  const low = await runPlan({ ...o, lowMemory: true });
  return fitVerdict(a, normal, low, deviceMemoryGiB);
}
