/** Ops backend for the Node tools: 'gpu' = WebGPU through Dawn, 'cpu' = the reference loops. */
import { InvalidArgumentError } from 'commander';
import { GpuContext } from '../gpu/context';
import { requestDevice } from '../gpu/device';
import { nodeGpu } from '../gpu/node';
import { CpuOps } from '../ops/cpuOps';
import { GpuOps } from '../ops/gpuOps';
import type { Ops } from '../ops/ops';
import type { CfgMode, Precision } from '../pipeline/types';

/** `--precision`: auto, f32 or f16 (LoadOptions.precision). */
export function parsePrecision(v: string): Precision {
  if (v !== 'auto' && v !== 'f32' && v !== 'f16') throw new InvalidArgumentError(`--precision ${v}: use auto, f32 or f16`);
  return v;
}

/**
 * `--cfg [mode]` of plan and bench: absent → undefined (a distilled model, no CFG); given without a
 * value or as auto → 'auto' (the pipeline's choice); batch or two-passes.
 */
export function parseCfgMode(v: string | boolean | undefined, flag = '--cfg'): CfgMode | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true || v === 'auto') return 'auto';
  if (v === 'batch') return 'batch';
  if (v === 'two-passes') return 'two passes';
  throw new InvalidArgumentError(`${flag} ${v}: use auto, batch or two-passes`);
}

export async function createOps(backend: string): Promise<Ops<unknown>> {
  if (backend === 'cpu') return new CpuOps() as Ops<unknown>;
  if (backend !== 'gpu') throw new InvalidArgumentError(`--backend ${backend}: use gpu or cpu`);
  const { device, report } = await requestDevice(await nodeGpu());
  process.stderr.write(`WebGPU: ${report.vendor} ${report.architecture} ${report.description}\n`);
  return new GpuOps(new GpuContext(device, report.isCpu, report.subgroupReductions)) as Ops<unknown>;
}
