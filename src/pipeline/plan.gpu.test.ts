/**
 * The plan backend against a real device: the same run (tiny golden model, same weight formats)
 * on the plan device and on Dawn must give the same per-stage peaks, dispatch counts and largest
 * buffer and binding — the plan is only useful if it is exact.
 */
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../gpu/context';
import { requestDevice } from '../gpu/device';
import { nodeGpu } from '../gpu/node';
import { readConfigs } from '../model/config';
import { goldenModelSource } from '../testing/golden';
import { type PlanOptions, type PlanResult, planOn, plannedPipelines, runPlan } from './plan';

/** The figures the plan must reproduce exactly. */
function figures(r: PlanResult) {
  return {
    stages: r.stages.map((s) => ({ name: s.name, dispatches: s.dispatches, peakBytes: s.peakBytes, liveBytes: s.liveBytes, bytes: s.bytes, flops: s.flops })),
    maxBufferBytes: r.maxBufferBytes,
    maxBindingBytes: r.maxBindingBytes,
    weightBytes: r.weightBytes,
  };
}

describe('plan backend equals a real device (model-a)', async () => {
  const configs = await readConfigs(goldenModelSource());
  const cases: [string, Omit<PlanOptions, 'configs'>][] = [
    ['64×64, 2 steps, bf16', { width: 64, height: 64, steps: 2 }],
    ['80×64, 1 step, q4, one reference', { width: 80, height: 64, steps: 1, quant: 'q4', refs: 1 }],
    ['64×64, 1 step, q8, low memory', { width: 64, height: 64, steps: 1, quant: 'q8', lowMemory: true }],
  ];
  for (const [name, o] of cases) {
    it(name, async () => {
      const { device, report } = await requestDevice(await nodeGpu());
      const ctx = new GpuContext(device, report.isCpu, report.subgroupReductions);
      let real: PlanResult;
      try {
        real = await planOn(ctx, { configs, ...o });
      } finally {
        ctx.destroy();
      }
      // the plan device offers shader-f16, so 'auto' would plan f16: plan what this device resolves to
      const precision = device.features.has('shader-f16') ? 'f16' : 'f32';
      expect(real.precision).toBe(precision);
      const plan = await runPlan({ configs, ...o, precision, cpuAdapter: report.isCpu });
      expect(real.stages.map((s) => s.name)).toEqual(['encode', ...Array.from({ length: o.steps }, (_, i) => `step ${i + 1}`), 'decode']);
      expect(real.stages.every((s) => s.dispatches > 0 && s.peakBytes > 0)).toBe(true);
      expect(figures(plan)).toEqual(figures(real));
      console.log(`[plan] ${name}: peak ${plan.peakBytes} B, ${plan.stages.reduce((a, s) => a + s.dispatches, 0)} dispatches, largest buffer ${plan.maxBufferBytes} B`);
    });
  }
});

describe('precompiled pipelines (model-a)', () => {
  it('a plan lists exactly the pipelines a real run of another size dispatches', async () => {
    const configs = await readConfigs(goldenModelSource());
    const { device, report } = await requestDevice(await nodeGpu());
    const ctx = new GpuContext(device, report.isCpu, report.subgroupReductions);
    try {
      const precision = device.features.has('shader-f16') ? 'f16' : 'f32';
      const specs = await plannedPipelines({ configs, width: 64, height: 64, steps: 1, quant: 'q4', precision, cpuAdapter: report.isCpu });
      expect(specs.length).toBeGreaterThan(10);
      await ctx.precompile(specs);
      expect(ctx.pipelineSpecs()).toHaveLength(specs.length);
      await planOn(ctx, { configs, width: 80, height: 64, steps: 1, quant: 'q4' });
      expect(ctx.pipelineSpecs().map((p) => p.shader.file)).toEqual(specs.map((p) => p.shader.file)); // nothing compiled at dispatch time
      await ctx.sync(); // no compile errors either
    } finally {
      ctx.destroy();
    }
  });
});
