/**
 * The adapter the GPU tests run on (Dawn, Node): prints it with its features and limits, checks the
 * facts every adapter must satisfy, and, when KLEINBILD_EXPECT_ADAPTER is set (`npm run
 * test:lavapipe`), that it is that adapter with the features it must offer. Then runs the two
 * optional capabilities the kernels may use, f16 storage/arithmetic and subgroupAdd, on a second
 * device that enables them, wherever the adapter offers them (lavapipe: both; SwiftShader: subgroups).
 */
import { describe, expect, it } from 'vitest';
import { EXPECTED_ADAPTERS, adapterMismatch, testGpuReport } from '../testing/gpu';
import { REQUIRED_LIMITS } from './device';
import { nodeGpu } from './node';

const MiB = 1024 * 1024;
const expected = process.env.KLEINBILD_EXPECT_ADAPTER;

/** A device with exactly `features` on a fresh adapter, and a one-shot compute runner on it. */
async function deviceWith(features: GPUFeatureName[]): Promise<GPUDevice> {
  const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no adapter');
  return adapter.requestDevice({ requiredFeatures: features, label: 'adapter-test' });
}

/** Runs `code`'s `main` once as `groups` workgroups with binding 0 = `input` (u32 words) and binding 1 = `outWords` u32 out. */
async function run(device: GPUDevice, code: string, input: Uint32Array, outWords: number, groups = 1): Promise<ArrayBuffer> {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) throw new Error(errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n'));
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const inBuf = device.createBuffer({ size: Math.max(16, input.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(inBuf, 0, input);
  const outBuf = device.createBuffer({ size: outWords * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readBuf = device.createBuffer({ size: outWords * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: inBuf } },
      { binding: 1, resource: { buffer: outBuf } },
    ],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(groups);
  pass.end();
  enc.copyBufferToBuffer(outBuf, 0, readBuf, 0, outWords * 4);
  device.queue.submit([enc.finish()]);
  await readBuf.mapAsync(GPUMapMode.READ);
  const out = readBuf.getMappedRange().slice(0);
  readBuf.unmap();
  for (const b of [inBuf, outBuf, readBuf]) b.destroy();
  return out;
}

describe('WebGPU adapter (Dawn)', () => {
  it('reports the adapter, its features and limits', async () => {
    const r = await testGpuReport();
    console.log(
      `[adapter] ${r.vendor} / ${r.architecture} / ${r.description}; cpu ${r.isCpu}, fallback ${r.isFallbackAdapter}; ` +
        `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}, expected ${expected ?? 'any'}\n` +
        `[adapter] offers: ${r.adapterFeatures.join(', ')}\n[adapter] enabled: ${r.features.join(', ')}\n` +
        `[adapter] subgroup sizes: ${r.subgroupSizes ? `${r.subgroupSizes.min}–${r.subgroupSizes.max}` : 'not reported'}\n` +
        `[adapter] limits: ${Object.entries(r.limits).map(([k, v]) => `${k} ${v >= MiB && v % MiB === 0 ? `${v / MiB} MiB` : v}`).join(', ')}`,
    );
    expect(r.vendor + r.architecture + r.description).not.toBe('');
    expect(r.features).toEqual([...r.features].sort());
    expect(r.adapterFeatures).toEqual([...r.adapterFeatures].sort());
    for (const f of r.features) expect(r.adapterFeatures).toContain(f);
    // device.ts enables shader-f16 exactly when offered
    expect(r.features.includes('shader-f16')).toBe(r.adapterFeatures.includes('shader-f16'));
    // WebGPU's guaranteed minimums; device.ts asks for the adapter's maxima
    expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * MiB);
    expect(r.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * MiB);
    for (const [name, need] of Object.entries(REQUIRED_LIMITS)) expect(r.limits[name], name).toBeGreaterThanOrEqual(need);
    if (r.subgroupSizes) {
      expect(r.subgroupSizes.min).toBeGreaterThanOrEqual(1);
      expect(r.subgroupSizes.max).toBeGreaterThanOrEqual(r.subgroupSizes.min);
    }
    if (expected) {
      expect(adapterMismatch(r, expected), `KLEINBILD_EXPECT_ADAPTER=${expected}`).toEqual([]);
      expect(r.isCpu).toBe(true); // both known expectations are CPU drivers
    }
  });

  it('computes in f16 (array<f16> storage, f16 rounding) where shader-f16 is offered', async () => {
    const r = await testGpuReport();
    if (!r.adapterFeatures.includes('shader-f16')) {
      expect(EXPECTED_ADAPTERS[expected ?? '']?.features ?? []).not.toContain('shader-f16');
      return;
    }
    const device = await deviceWith(['shader-f16']);
    // in: f16 pairs [2048, 1], [0.1, 3]; out: f32 of 2048 + 1 (no f16 holds 2049), f16(0.1), f16(0.1)·3
    const code = /* wgsl */ `
      enable f16;
      @group(0) @binding(0) var<storage, read> x: array<f16>;
      @group(0) @binding(1) var<storage, read_write> y: array<f32>;
      @compute @workgroup_size(1) fn main() {
        y[0] = f32(x[0] + x[1]);
        y[1] = f32(x[2]);
        y[2] = f32(x[2] * x[3]);
      }`;
    const input = new Uint32Array([0x3c00_6800, 0x4200_2e66]); // 2048 = 0x6800, 1 = 0x3c00, 0.1 ≈ 0x2e66, 3 = 0x4200
    const y = new Float32Array(await run(device, code, input, 3));
    device.destroy();
    console.log(`[adapter] f16: 2048+1 → ${y[0]}, f16(0.1) → ${y[1]}, ·3 → ${y[2]}`);
    expect([2048, 2050]).toContain(y[0]);
    expect(y[1]).toBe(0.0999755859375); // 0x2e66 exactly
    expect([0.299560546875, 0.2998046875]).toContain(y[2]); // the f16 neighbours of 0.2999267578125
  });

  it('runs subgroupAdd where subgroups are offered', async () => {
    const r = await testGpuReport();
    if (!r.adapterFeatures.includes('subgroups')) {
      expect(EXPECTED_ADAPTERS[expected ?? '']?.features ?? []).not.toContain('subgroups');
      return;
    }
    const device = await deviceWith(['subgroups']);
    // each invocation of a 64-wide workgroup writes its subgroup size and subgroupAdd(1)
    const code = /* wgsl */ `
      enable subgroups;
      @group(0) @binding(0) var<storage, read> x: array<u32>;
      @group(0) @binding(1) var<storage, read_write> y: array<u32>;
      @compute @workgroup_size(64) fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_size) sg: u32) {
        y[2u * i] = sg;
        y[2u * i + 1u] = subgroupAdd(x[0]);
      }`;
    const y = new Uint32Array(await run(device, code, new Uint32Array([1]), 128));
    device.destroy();
    const sizes = new Set<number>();
    for (let i = 0; i < 64; i++) {
      sizes.add(y[2 * i] as number);
      expect(y[2 * i + 1], `invocation ${i}`).toBe(y[2 * i]); // full subgroups: 64 is a multiple of every size
    }
    console.log(`[adapter] subgroups: size ${[...sizes].join(', ')}`);
    expect(sizes.size).toBe(1);
    const sg = [...sizes][0] as number;
    expect(64 % sg).toBe(0);
    if (r.subgroupSizes) {
      expect(sg).toBeGreaterThanOrEqual(r.subgroupSizes.min);
      expect(sg).toBeLessThanOrEqual(r.subgroupSizes.max);
    }
  });
});
