/**
 * A GPUDevice that executes nothing: buffers have a size and no memory, pipelines and bind groups
 * are placeholders, submits do nothing and reads return zeros. GpuContext runs on it exactly as on
 * a real device — same buffer pool, same kernel choices, same dispatches — so running the real
 * model code on it gives a run's exact memory and dispatch plan at any size, on any machine
 * (the plan backend, src/cli/plan.ts). Only what GpuContext and its profiler call is provided.
 */

/** The limits a plan assumes (the device's requested maxima); defaults: WebGPU's defaults. */
export interface PlanDeviceOptions {
  limits?: Partial<Record<keyof GPUSupportedLimits, number>>;
  features?: readonly GPUFeatureName[];
}

/** WebGPU's default limits for the fields the engine reads (spec §3.6.2). */
export const WEBGPU_DEFAULT_LIMITS = {
  maxBufferSize: 256 * 2 ** 20,
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeWorkgroupsPerDimension: 65535,
  minUniformBufferOffsetAlignment: 256,
  minStorageBufferOffsetAlignment: 256,
} as const;

class PlanBuffer {
  mapState: GPUBufferMapState = 'unmapped';
  constructor(
    readonly label: string,
    readonly size: number,
    readonly usage: number,
  ) {}
  destroy(): void {}
  async mapAsync(): Promise<void> {
    this.mapState = 'mapped';
  }
  getMappedRange(offset = 0, size = this.size - offset): ArrayBuffer {
    return new ArrayBuffer(size);
  }
  unmap(): void {
    this.mapState = 'unmapped';
  }
}

const pass = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() {}, end() {} };

/** WebGPU's flag constants (spec values), for Node without the `webgpu` package loaded. */
function defineFlagConstants(): void {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= { MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, INDEX: 0x10, VERTEX: 0x20, UNIFORM: 0x40, STORAGE: 0x80, INDIRECT: 0x100, QUERY_RESOLVE: 0x200 };
  g.GPUMapMode ??= { READ: 0x1, WRITE: 0x2 };
}

/** A device for planning; see the module comment. Typed as GPUDevice for GpuContext. */
export function createPlanDevice(opts: PlanDeviceOptions = {}): GPUDevice {
  defineFlagConstants();
  const limits = { ...WEBGPU_DEFAULT_LIMITS, ...opts.limits };
  const features = new Set<string>(opts.features ?? []);
  const device = {
    label: 'plan',
    limits,
    features,
    lost: new Promise<GPUDeviceLostInfo>(() => {}),
    queue: {
      writeBuffer() {},
      submit() {},
      async onSubmittedWorkDone() {},
    },
    createBuffer: (d: GPUBufferDescriptor) => new PlanBuffer(d.label ?? '', d.size, d.usage),
    createShaderModule: () => ({ getCompilationInfo: async () => ({ messages: [] }) }),
    createComputePipeline: (d: GPUComputePipelineDescriptor) => ({ label: d.label ?? '', getBindGroupLayout: () => ({}) }),
    createComputePipelineAsync: async (d: GPUComputePipelineDescriptor) => ({ label: d.label ?? '', getBindGroupLayout: () => ({}) }),
    createBindGroup: () => ({}),
    createQuerySet: () => ({ destroy() {} }),
    createCommandEncoder: () => ({
      beginComputePass: () => pass,
      copyBufferToBuffer() {},
      resolveQuerySet() {},
      finish: () => ({}),
    }),
    pushErrorScope() {},
    popErrorScope: async () => null,
    addEventListener() {},
    destroy() {},
  };
  return device as unknown as GPUDevice;
}
