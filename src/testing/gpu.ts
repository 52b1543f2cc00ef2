/** One GpuContext per test file on Dawn (Node). SwiftShader on CI; a real GPU if present. */
import { GpuContext } from '../gpu/context';
import { requestDevice } from '../gpu/device';
import { nodeGpu } from '../gpu/node';

let ctx: Promise<GpuContext> | null = null;

export function testGpu(): Promise<GpuContext> {
  ctx ??= (async () => {
    const { device, report } = await requestDevice(await nodeGpu());
    return new GpuContext(device, report.isCpu);
  })();
  return ctx;
}
