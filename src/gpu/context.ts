/**
 * GpuContext: owns a GPUDevice, a pool of activation buffers (bufferPool.ts), the pipeline cache
 * and the command stream. Ops encode dispatches synchronously; `read`/`sync` submit and wait.
 *
 * Conventions every kernel follows (see shaders/*.wgsl headers):
 * - bindings are `@group(0) @binding(i)` storage buffers in the order passed to `dispatch`, then
 *   one `var<uniform> p: Params` at binding `bindings.length` when `params` is given;
 * - the entry point is the file name without `.wgsl` (also the pipeline label);
 * - specialisation goes through `override` constants, cached per (shader, constants).
 */
import { DeviceLost, ShaderCompile } from '../errors';
import { GpuProfiler, type KernelTime } from './profiler';
import { assert, fmtShape, numel } from '../util/assert';
import { BYTES_PER_ELEMENT, type DType, decodeToF32 } from '../util/dtype';
import { type DispatchArgs, type DispatchRecord, type GpuTensor, type Param, type Shader, storageBytes } from './tensor';
import { BufferPool } from './bufferPool';

export { grid1d, storageBytes } from './tensor';
export type { DispatchArgs, DispatchRecord, GpuTensor, Param, Shader } from './tensor';

const UNIFORM_SLOT = 256; // bytes; ≥ minUniformBufferOffsetAlignment on every adapter
const SLOTS_PER_SUBMIT = 512;

export class GpuContext {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** What every compiled (or compiling) pipeline was made from, by key. */
  private readonly compiled = new Map<string, PipelineSpec>();
  private readonly scopes: Set<GpuTensor>[] = [];
  private readonly checks: Promise<void>[] = [];
  private pendingError: Error | null = null;
  private lostError: DeviceLost | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformHost = new ArrayBuffer(UNIFORM_SLOT * SLOTS_PER_SUBMIT);
  private readonly uniformBuffer: GPUBuffer;
  private slots = 0;
  /** Activation buffers and the byte accounting (live, persistent, pooled, peaks). */
  readonly pool: BufferPool<GPUBuffer>;
  /** Number of dispatches encoded since creation (for benchmarks). */
  dispatchCount = 0;
  /** Told of every dispatch when set (the plan backend; bytes per kernel in the benchmark). */
  recorder: ((d: DispatchRecord) => void) | null = null;
  private profiler: GpuProfiler | null = null;

  /**
   * @param cpuAdapter the adapter is a CPU implementation (SwiftShader, llvmpipe): kernels with a
   * barrier-free variant use it (see AdapterReport.isCpu).
   * @param subgroups compile the subgroup variant of shaders that have one (Shader.subgroupCode);
   * needs the device's `subgroups` feature and the `subgroup_id` WGSL language feature
   * (AdapterReport.subgroupReductions). Errors: true on a device without `subgroups`.
   */
  constructor(
    readonly device: GPUDevice,
    readonly cpuAdapter = false,
    readonly subgroups = false,
  ) {
    assert(!subgroups || device.features.has('subgroups' as GPUFeatureName), 'GpuContext: subgroups asked for on a device without the subgroups feature');
    this.pool = new BufferPool<GPUBuffer>(
      (bytes, label) => {
        const max = device.limits.maxBufferSize;
        if (bytes > max) throw new Error(`buffer ${label}: ${bytes} bytes exceeds maxBufferSize ${max}`);
        return device.createBuffer({ label, size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      },
      () => this.flush(), // encoded commands may still use the buffers about to be destroyed
    );
    this.uniformBuffer = device.createBuffer({
      label: 'uniform-arena',
      size: this.uniformHost.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.lost.then((info) => {
      this.lostError = new DeviceLost(info.reason ?? 'unknown', info.message);
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new Error(`WebGPU error: ${e.message}`);
    });
  }

  /** Throws the recorded device-lost or validation error, if any. */
  private throwIfBroken(): void {
    if (this.lostError) throw this.lostError;
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw e;
    }
  }

  // ---- buffers -------------------------------------------------------------------------------

  /** A new activation tensor (contents undefined) in the current scope. */
  alloc(shape: readonly number[], label: string, dtype: DType = 'f32'): GpuTensor {
    this.throwIfBroken();
    const bytes = storageBytes(numel(shape), dtype);
    const t: GpuTensor = { buffer: this.pool.take(bytes, label), shape: [...shape], dtype, label };
    this.pool.live(bytes);
    this.scopes[this.scopes.length - 1]?.add(t);
    return t;
  }

  /**
   * Uploads host data into a new buffer. `persistent` tensors (weights) belong to the caller and
   * are freed with `destroy`; others live in the current scope like `alloc`.
   */
  upload(
    data: ArrayBufferView,
    shape: readonly number[],
    dtype: DType,
    label: string,
    persistent = false,
  ): GpuTensor {
    this.throwIfBroken();
    const n = numel(shape);
    assert(data.byteLength === n * BYTES_PER_ELEMENT[dtype], () => `${label}: ${data.byteLength} bytes for ${dtype}${fmtShape(shape)}`);
    const bytes = storageBytes(n, dtype);
    if (persistent) this.pool.persistent(bytes);
    const buffer = persistent
      ? this.device.createBuffer({
          label,
          size: bytes,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        })
      : this.pool.take(bytes, label);
    // writeBuffer is ordered before the next submit; flush first so pending commands that still
    // read a recycled buffer run before it is overwritten.
    if (!persistent) this.flush();
    const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const padded = data.byteLength % 4 === 0 ? src : (() => {
      const p = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
      p.set(src);
      return p;
    })();
    this.device.queue.writeBuffer(buffer, 0, padded);
    const t: GpuTensor = { buffer, shape: [...shape], dtype, label, persistent };
    this.pool.live(bytes);
    if (!persistent) this.scopes[this.scopes.length - 1]?.add(t);
    return t;
  }

  /** Moves t's buffer into a new tensor of another shape (same element count); t is dead afterwards. */
  reshape(t: GpuTensor, shape: readonly number[]): GpuTensor {
    assert(!t.released, () => `reshape of released tensor ${t.label}`);
    assert(numel(shape) === numel(t.shape), () => `reshape ${t.label}: ${fmtShape(t.shape)} → ${fmtShape(shape)}`);
    const moved: GpuTensor = { ...t, shape: [...shape] };
    t.released = true; // moved, not freed: the buffer now belongs to `moved`
    for (const s of this.scopes) {
      if (s.delete(t)) s.add(moved);
    }
    return moved;
  }

  /** Returns an activation's buffer to the pool (weights: destroys it). Idempotent. */
  release(t: GpuTensor): void {
    if (t.released) return;
    t.released = true;
    const bytes = t.buffer.size;
    this.pool.live(-bytes);
    for (const s of this.scopes) s.delete(t);
    if (t.persistent) {
      this.pool.persistent(-bytes);
      this.flush(); // encoded commands may still use it; submitted ones keep it alive until done
      t.buffer.destroy();
      return;
    }
    this.pool.give(t.buffer);
  }

  /**
   * Runs `fn`; every tensor allocated inside and not returned (directly, or inside a returned
   * array/object) is released. Returned tensors move to the enclosing scope. When `fn` throws
   * (an allocation over a limit, a bad shape), everything it allocated is released before the
   * error goes on, so a failed step leaves nothing counted as live.
   */
  tidy<R>(fn: () => R): R {
    const scope = new Set<GpuTensor>();
    this.scopes.push(scope);
    let result: R;
    try {
      result = fn();
    } catch (e) {
      this.scopes.pop();
      for (const t of scope) this.release(t);
      throw e;
    }
    this.scopes.pop();
    const kept = new Set<GpuTensor>();
    collectTensors(result, kept);
    for (const t of scope) if (!kept.has(t)) this.release(t);
    const parent = this.scopes[this.scopes.length - 1];
    if (parent) for (const t of kept) if (scope.has(t)) parent.add(t);
    return result;
  }

  // ---- profiling (benchmarks) -----------------------------------------------------------------

  /** Adapter supports per-kernel timing ('timestamp-query' was granted). */
  get canProfile(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /**
   * Per-kernel GPU timing: while on, every dispatch gets its own timestamped compute pass (slower;
   * see profiler.ts). Times accumulate in `kernelTimes` and are complete after `sync`.
   */
  get profile(): boolean {
    return this.profiler !== null;
  }

  set profile(on: boolean) {
    if (on === this.profile) return;
    this.flush();
    const old = this.profiler;
    this.profiler = on ? new GpuProfiler(this.device) : null;
    void old?.settle().then(() => old.destroy());
  }

  /** GPU ms and dispatch count per kernel entry point while profiling (empty when off). */
  get kernelTimes(): ReadonlyMap<string, KernelTime> {
    return this.profiler?.kernels ?? new Map();
  }

  resetKernelTimes(): void {
    this.profiler?.reset();
  }

  // ---- pipelines and dispatch ----------------------------------------------------------------

  /** The cached compute pipeline for (shader, constants); compilation errors surface at `sync`/`read`. */
  pipeline(shader: Shader, constants: Record<string, number> = {}): GPUComputePipeline {
    const key = this.pipelineKey(shader, constants);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    this.compiled.set(key, { shader, constants });
    const entry = shader.file.replace(/\.wgsl$/, '');
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: shader.file, code: this.source(shader) });
    const pipeline = this.device.createComputePipeline({
      label: entry,
      layout: 'auto',
      compute: { module, entryPoint: entry, constants },
    });
    this.checks.push(
      Promise.all([this.device.popErrorScope(), module.getCompilationInfo()]).then(([err, info]) => {
        const msgs = info.messages
          .filter((m) => m.type === 'error')
          .map((m) => `${shader.file}:${m.lineNum}:${m.linePos} ${m.message}`);
        if (err || msgs.length) this.pendingError ??= new ShaderCompile(shader.file, [...msgs, err?.message ?? ''].join('\n'));
      }),
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** The WGSL this context compiles for `shader`: its subgroup variant when it has one and `subgroups` is on. */
  private source(shader: Shader): string {
    return this.subgroups && shader.subgroupCode !== undefined ? shader.subgroupCode : shader.code;
  }

  private pipelineKey(shader: Shader, constants: Record<string, number>): string {
    const variant = this.subgroups && shader.subgroupCode !== undefined ? '+subgroups' : '';
    return `${shader.file}${variant}|${JSON.stringify(constants)}`;
  }

  /** Every (shader, constants) this context has compiled or is compiling (a plan's list for `precompile`). */
  pipelineSpecs(): PipelineSpec[] {
    return [...this.compiled.values()];
  }

  /**
   * Compiles pipelines ahead of their first dispatch with createComputePipelineAsync (e.g. while
   * weights load; the list comes from a plan of the run). A dispatch that comes first compiles its
   * own. Resolves when all are done; a failure becomes ShaderCompile at the next `sync`/`read`.
   */
  async precompile(specs: readonly PipelineSpec[]): Promise<void> {
    const jobs = specs.map(async ({ shader, constants }) => {
      const key = this.pipelineKey(shader, constants);
      if (this.compiled.has(key)) return;
      this.compiled.set(key, { shader, constants });
      const entry = shader.file.replace(/\.wgsl$/, '');
      try {
        const module = this.device.createShaderModule({ label: shader.file, code: this.source(shader) });
        const p = await this.device.createComputePipelineAsync({ label: entry, layout: 'auto', compute: { module, entryPoint: entry, constants } });
        if (!this.pipelines.has(key)) this.pipelines.set(key, p);
      } catch (e) {
        this.pendingError ??= new ShaderCompile(shader.file, e instanceof Error ? e.message : String(e));
      }
    });
    await Promise.all(jobs);
  }

  /** Encodes one compute dispatch. Buffers must not have been released. */
  dispatch(args: DispatchArgs): void {
    this.throwIfBroken();
    if (this.profiler?.full) this.flush(); // before taking a uniform slot: flush recycles them
    const pipeline = this.pipeline(args.shader, args.constants);
    const entries: GPUBindGroupEntry[] = args.bindings.map((t, i) => {
      assert(!t.released, () => `${args.shader.file}: binding ${i} (${t.label}) used after release`);
      return { binding: i, resource: { buffer: t.buffer } };
    });
    if (args.params) {
      if (this.slots === SLOTS_PER_SUBMIT) this.flush();
      const offset = this.slots++ * UNIFORM_SLOT;
      writeParams(new DataView(this.uniformHost, offset, UNIFORM_SLOT), args.params);
      entries.push({ binding: args.bindings.length, resource: { buffer: this.uniformBuffer, offset, size: UNIFORM_SLOT } });
    }
    const bindGroup = this.device.createBindGroup({
      label: pipeline.label,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const [x, y = 1, z = 1] = args.workgroups;
    const maxDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    assert(x <= maxDim && y <= maxDim && z <= maxDim, () => `${args.shader.file}: workgroups ${x}×${y}×${z} > ${maxDim}`);
    if (x === 0 || y === 0 || z === 0) return;
    if (this.recorder) {
      const buffers = new Set(args.bindings.map((t) => t.buffer));
      const sizes = [...buffers].map((b) => b.size);
      this.recorder({
        entry: pipeline.label,
        copy: false,
        workgroups: [x, y, z],
        flops: args.flops ?? 0,
        bytes: args.bytes ?? sizes.reduce((a, b) => a + b, 0),
        maxBindingBytes: Math.max(0, ...sizes),
      });
    }
    this.encoder ??= this.device.createCommandEncoder({ label: 'ops' });
    if (this.profiler) {
      // one pass per dispatch: timestampWrites bracket a whole pass
      this.pass?.end();
      this.pass = this.encoder.beginComputePass({ label: pipeline.label, timestampWrites: this.profiler.next(pipeline.label) });
    }
    this.pass ??= this.encoder.beginComputePass({ label: 'ops' });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) {
      this.pass.end();
      this.pass = null;
    }
    this.dispatchCount++;
    if (this.dispatchCount % 256 === 0) this.flush();
  }

  /** Encodes a buffer-to-buffer copy of `bytes` bytes. */
  copy(src: GpuTensor, srcOffset: number, dst: GpuTensor, dstOffset: number, bytes: number): void {
    this.throwIfBroken();
    this.recorder?.({ entry: 'copyBufferToBuffer', copy: true, workgroups: [0, 0, 0], flops: 0, bytes: 2 * bytes, maxBindingBytes: 0 });
    this.encoder ??= this.device.createCommandEncoder({ label: 'ops' });
    this.pass?.end();
    this.pass = null;
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  /** Submits everything encoded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    if (this.slots) this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformHost, 0, this.slots * UNIFORM_SLOT);
    const afterSubmit = this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    afterSubmit?.();
    this.encoder = null;
    this.slots = 0;
  }

  /** Submits and waits for the GPU; rethrows compile/validation/device-lost errors. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await Promise.all(this.checks.splice(0));
    await this.profiler?.settle();
    this.throwIfBroken();
  }

  /** Copies a tensor back to the host as f32 (bf16/f16 decoded exactly). Errors: a quantized weight. */
  async read(t: GpuTensor): Promise<Float32Array> {
    const dtype = plainDtype(t);
    return decodeToF32(await this.readBytes(t), dtype);
  }

  /** Raw bytes of a tensor (numel × element size). Errors: a quantized weight (its layout is not numel-sized). */
  async readBytes(t: GpuTensor): Promise<Uint8Array> {
    assert(!t.released, () => `read of released tensor ${t.label}`);
    const n = numel(t.shape) * BYTES_PER_ELEMENT[plainDtype(t)];
    const size = Math.ceil(n / 4) * 4;
    const staging = this.device.createBuffer({
      label: `${t.label}:readback`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.copy(t, 0, { buffer: staging, shape: [size / 4], dtype: 'f32', label: 'staging' }, 0, size);
    await this.sync();
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Uint8Array(staging.getMappedRange().slice(0, n));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Releases everything: pool, pipelines and the device. */
  destroy(): void {
    this.pool.trim();
    this.uniformBuffer.destroy();
    this.profiler?.destroy();
    this.pipelines.clear();
    this.compiled.clear();
    this.device.destroy();
  }
}

/** One compute pipeline: a shader and its override constants. */
export interface PipelineSpec {
  shader: Shader;
  constants: Record<string, number>;
}

function plainDtype(t: GpuTensor): DType {
  assert(t.dtype in BYTES_PER_ELEMENT, () => `${t.label}: ${t.dtype} tensors cannot be read back`);
  return t.dtype as DType;
}

function writeParams(view: DataView, params: readonly Param[]): void {
  assert(params.length * 4 <= UNIFORM_SLOT, 'too many uniform params');
  params.forEach((p, i) => {
    if (typeof p === 'number') {
      assert(Number.isInteger(p) && p >= 0 && p < 2 ** 32, () => `param ${i}: ${p} is not a u32 (wrap floats in {f32})`);
      view.setUint32(i * 4, p, true);
    } else if ('f32' in p) view.setFloat32(i * 4, p.f32, true);
    else view.setInt32(i * 4, p.i32, true);
  });
}

function collectTensors(v: unknown, into: Set<GpuTensor>, depth = 0): void {
  if (!v || typeof v !== 'object' || depth > 3) return;
  if ('buffer' in v && 'shape' in v && 'dtype' in v) {
    into.add(v as GpuTensor);
    return;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v)) collectTensors(x, into, depth + 1);
}
