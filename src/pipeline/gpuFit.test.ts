/**
 * The GPU-fit verdict shown before a download, on the real klein 4B configs (plan device, no
 * weights): the plans it holds against the limits are the budget's (planBudget.test.ts), and each
 * verdict follows from a limit or the memory hint. Observed: q4 1024² needs 4.49 GiB (low memory
 * 2.42 GiB), largest binding 81 MiB.
 */
import { describe, expect, it } from 'vitest';
import { kleinConfigs } from '../catalog/choices';
import { type FitAdapter, gpuFit } from './gpuFit';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** WebGPU's default limits (what every adapter offers; phones often no more). */
const base: FitAdapter = {
  description: 'Test GPU',
  vendor: 'test',
  architecture: '',
  isCpu: false,
  isFallbackAdapter: false,
  features: ['shader-f16'],
  limits: { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB },
};

describe('gpuFit (klein 4B, q4)', () => {
  const configs = kleinConfigs();

  it('fits at 1024² in the default limits; the numbers are the plan budget', async () => {
    const f = await gpuFit(configs, 'q4', 1024, 1024, base, null);
    expect(f.verdict).toBe('fits');
    expect(f.adapterName).toBe('Test GPU');
    expect(f.needBytes).toBeGreaterThan(4 * GiB);
    expect(f.needBytes).toBeLessThanOrEqual(4.5 * GiB);
    expect(f.lowMemoryNeedBytes).toBeLessThan(2.5 * GiB);
    expect(f.maxBindingBytes).toBeLessThanOrEqual(128 * MiB);
    expect([f.limitBindingBytes, f.limitBufferBytes]).toEqual([128 * MiB, 256 * MiB]);
  });

  it('a memory hint between the two peaks asks for low-memory mode; below both, too small', async () => {
    expect((await gpuFit(configs, 'q4', 1024, 1024, base, 4)).verdict).toBe('low-memory');
    expect((await gpuFit(configs, 'q4', 1024, 1024, base, 2)).verdict).toBe('too-small');
    expect((await gpuFit(configs, 'q4', 1024, 1024, base, 8)).verdict).toBe('fits');
  });

  it('a binding limit below the run’s largest binding is too small, in both modes', async () => {
    const f = await gpuFit(configs, 'q4', 1024, 1024, { ...base, limits: { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 32 * MiB } }, null);
    expect(f.verdict).toBe('too-small');
    expect(f.maxBindingBytes).toBeGreaterThan(32 * MiB);
  });

  it('q4 groups of 32 (a GGUF Q4_K repack) need more memory than groups of 64', async () => {
    const g64 = await gpuFit(configs, 'q4', 1024, 1024, base, null);
    const g32 = await gpuFit(configs, 'q4', 1024, 1024, base, null, { transformer: 32, text_encoder: 32 });
    // q4 at G = 32 stores 0.625 B/weight against 0.5625: ≈ +0.35 GiB over the ≈ 6 G q4 weights
    expect(g32.needBytes - g64.needBytes).toBeGreaterThan(0.25 * GiB);
    expect(g32.needBytes - g64.needBytes).toBeLessThan(0.5 * GiB);
  });

  it('a CPU adapter is named as software whatever its limits', async () => {
    const f = await gpuFit(configs, 'q4', 512, 512, { ...base, description: '', vendor: 'google', architecture: 'swiftshader', isCpu: true, features: [] }, null);
    expect(f.verdict).toBe('software');
    expect(f.adapterName).toBe('SwiftShader, a software renderer');
    expect([f.width, f.height]).toEqual([512, 512]);
  });
});
