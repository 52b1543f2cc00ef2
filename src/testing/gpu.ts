/**
 * One GpuContext per test file on Dawn (Node). SwiftShader on CI; a real GPU if present; Mesa 25
 * lavapipe under `npm run test:lavapipe` (scripts/lavapipe.sh).
 *
 * KLEINBILD_EXPECT_ADAPTER=<name> (set by `scripts/lavapipe.sh --run`) makes every GPU test fail
 * unless Dawn picked that adapter with the features it must offer, so a run meant for lavapipe can't
 * silently fall back to SwiftShader (or to no f16).
 */
import { GpuContext } from '../gpu/context';
import { requestDevice, type AdapterReport } from '../gpu/device';
import { nodeGpu } from '../gpu/node';

/** What each KLEINBILD_EXPECT_ADAPTER value demands of the adapter (docs/webgpu-ci.md §4). */
export const EXPECTED_ADAPTERS: Readonly<Record<string, { match: RegExp; features: readonly GPUFeatureName[] }>> = {
  lavapipe: { match: /llvmpipe|lavapipe/i, features: ['shader-f16', 'subgroups'] },
  swiftshader: { match: /swiftshader/i, features: ['subgroups'] },
};

/** Reasons `report` is not the adapter `expected` names (empty: it is). */
export function adapterMismatch(report: AdapterReport, expected: string): string[] {
  const want = EXPECTED_ADAPTERS[expected];
  if (!want) return [`KLEINBILD_EXPECT_ADAPTER=${expected} is none of ${Object.keys(EXPECTED_ADAPTERS).join(', ')}`];
  const problems: string[] = [];
  const name = `${report.vendor} / ${report.architecture} / ${report.description}`;
  if (!want.match.test(name)) problems.push(`adapter is "${name}", not ${expected}`);
  for (const f of want.features) if (!report.adapterFeatures.includes(f)) problems.push(`adapter lacks ${f}`);
  // device.ts enables shader-f16 whenever the adapter offers it
  if (want.features.includes('shader-f16') && !report.features.includes('shader-f16')) problems.push('device lacks shader-f16');
  return problems;
}

let ctx: Promise<{ gpu: GpuContext; report: AdapterReport }> | null = null;

function testDevice(): Promise<{ gpu: GpuContext; report: AdapterReport }> {
  ctx ??= (async () => {
    const { device, report } = await requestDevice(await nodeGpu());
    const expected = process.env.KLEINBILD_EXPECT_ADAPTER;
    if (expected) {
      const problems = adapterMismatch(report, expected);
      if (problems.length) {
        device.destroy();
        throw new Error(
          `KLEINBILD_EXPECT_ADAPTER=${expected}: ${problems.join('; ')} ` +
            `(VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}; features: ${report.adapterFeatures.join(', ')})`,
        );
      }
    }
    return { gpu: new GpuContext(device, report.isCpu, report.subgroupReductions), report };
  })();
  return ctx;
}

export async function testGpu(): Promise<GpuContext> {
  return (await testDevice()).gpu;
}

/**
 * testGpu()'s context and, when its device can run them (AdapterReport.subgroupReductions), a
 * second context on the same device that compiles the subgroup variants — so a kernel test runs
 * both. Names: 'workgroup' (the portable fallback) and 'subgroups'.
 */
export async function testGpuVariants(): Promise<{ name: 'workgroup' | 'subgroups'; ctx: GpuContext }[]> {
  const { gpu, report } = await testDevice();
  // both CI adapters (SwiftShader and lavapipe under Dawn) run subgroup variants: never test only one
  if (process.env.KLEINBILD_EXPECT_ADAPTER && !report.subgroupReductions) {
    throw new Error(`KLEINBILD_EXPECT_ADAPTER=${process.env.KLEINBILD_EXPECT_ADAPTER}: the device cannot run the subgroup variants (features: ${report.features.join(', ')})`);
  }
  variants ??= [
    { name: 'workgroup', ctx: gpu.subgroups ? new GpuContext(gpu.device, gpu.cpuAdapter, false) : gpu },
    ...(report.subgroupReductions ? [{ name: 'subgroups' as const, ctx: gpu.subgroups ? gpu : new GpuContext(gpu.device, gpu.cpuAdapter, true) }] : []),
  ];
  return variants;
}

let variants: { name: 'workgroup' | 'subgroups'; ctx: GpuContext }[] | null = null;

/** The adapter report of testGpu()'s device (same device, same checks). */
export async function testGpuReport(): Promise<AdapterReport> {
  return (await testDevice()).report;
}
