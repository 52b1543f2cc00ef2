/**
 * Adapter and device acquisition with explicitly requested limits. Every shortfall is reported as
 * `name / have / need` in a WebGpuUnavailable error.
 */
import { WebGpuUnavailable } from '../errors';

/** Limits the engine needs at minimum (tiny models); real klein sizes need more (see README). */
export const REQUIRED_LIMITS = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
} as const;

/** Limits we ask for up to the adapter's maximum (bigger models need bigger bindings). */
const LIMITS_TO_MAXIMIZE = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
] as const;

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  /** The browser marks it as its fallback adapter (GPUAdapterInfo.isFallbackAdapter). */
  isFallbackAdapter: boolean;
  /** A CPU implementation of WebGPU (SwiftShader, llvmpipe/lavapipe): no real GPU. */
  isCpu: boolean;
  /** Features enabled on the device, sorted. */
  features: string[];
  /** Every feature the adapter offers, enabled or not, sorted. */
  adapterFeatures: string[];
  /** GPUAdapterInfo.subgroupMinSize/MaxSize; null where the browser does not report them. */
  subgroupSizes: { min: number; max: number } | null;
  /**
   * The device can run the kernels' subgroup variants: the `subgroups` feature is enabled and WGSL
   * offers the `subgroup_id` language feature (`@builtin(subgroup_id)`, `num_subgroups`; Chrome 144+,
   * Dawn in Node). Pass it to GpuContext.
   */
  subgroupReductions: boolean;
  limits: Record<string, number>;
}

/**
 * Requests a high-performance adapter and a device with the maximized limits above.
 * Errors: WebGpuUnavailable when `gpu` is undefined, no adapter exists, or a REQUIRED_LIMITS entry
 * is below need (message lists each `name / have / need`).
 */
export async function requestDevice(gpu: GPU | undefined): Promise<{ device: GPUDevice; report: AdapterReport }> {
  if (!gpu) {
    throw new WebGpuUnavailable(
      'WebGPU is not available in this browser (navigator.gpu is missing). Use a recent Chrome, Edge or Safari with WebGPU enabled.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailable('WebGPU is present but no GPU adapter was found (requestAdapter returned null).');
  }
  const short: string[] = [];
  for (const [name, need] of Object.entries(REQUIRED_LIMITS)) {
    const have = adapter.limits[name as keyof GPUSupportedLimits] as number;
    if (have < need) short.push(`${name} / have ${have} / need ${need}`);
  }
  if (short.length) throw new WebGpuUnavailable(`GPU adapter limits too low: ${short.join('; ')}`);

  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_TO_MAXIMIZE) requiredLimits[name] = adapter.limits[name] as number;
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  // subgroup operations for the reductions that can use them (kernels check device.features)
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
  // per-kernel GPU times for the benchmark (GpuContext.profile); never needed for correctness
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'kleinbild' });

  const info = adapter.info;
  const subgroupId = (gpu.wgslLanguageFeatures as ReadonlySet<string> | undefined)?.has('subgroup_id') ?? false;
  const isFallbackAdapter = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const limits: Record<string, number> = {};
  for (const name of LIMITS_TO_MAXIMIZE) limits[name] = device.limits[name] as number;
  return {
    device,
    report: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isFallbackAdapter,
      isCpu: isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(`${info.vendor} ${info.architecture} ${info.description}`),
      features: [...device.features].map(String).sort(),
      adapterFeatures: [...adapter.features].map(String).sort(),
      subgroupSizes:
        info.subgroupMinSize !== undefined && info.subgroupMaxSize !== undefined ? { min: info.subgroupMinSize, max: info.subgroupMaxSize } : null,
      subgroupReductions: device.features.has('subgroups' as GPUFeatureName) && subgroupId,
      limits,
    },
  };
}
