/**
 * `npm run plan -- --config DIR (--size N | --width W --height H) [--steps N] [--quant q4|q8]
 *   [--precision auto|f32|f16] [--low-memory] [--refs K] [--cfg [auto|batch|two-passes]] [--lora-rank R]
 *   [--binding-limit MIB] [--json]`
 *
 * The exact device-memory and dispatch plan of one run at the shapes of DIR/{text_encoder,
 * transformer,vae}/config.json, on any machine: the real model code runs on the plan device
 * (src/gpu/planDevice.ts), which allocates and computes nothing (src/pipeline/plan.ts). Prints per stage the
 * peak of all device buffers (weights + activations + the pool's free buffers, by GpuContext's own
 * pool rules), dispatches, FLOPs, bytes moved and a roofline time per GPU profile (src/gpu/profiles.ts),
 * then the largest buffer and binding against WebGPU's default limits (256 MiB / 128 MiB) and
 * Firefox's 1 GiB cap. `--binding-limit MIB` plans for a device with that maxStorageBufferBindingSize
 * (128: WebGPU's default, which phones keep): the model splits its buffers as it would there (default:
 * no limit, a desktop GPU). `--json` prints one object (PlanResult).
 */
import { Command, InvalidArgumentError } from 'commander';
import { GPU_PROFILES } from '../gpu/profiles';
import { WEBGPU_DEFAULT_LIMITS } from '../gpu/planDevice';
import { readConfigs } from '../model/config';
import { isQuantFormat } from '../util/quant';
import { folderSource } from '../weights/folderSource';
import { type PlanResult, runPlan } from '../pipeline/plan';
import type { CfgMode } from '../pipeline/types';
import { parseCfgMode, parsePrecision } from './backend';

interface PlanArgs {
  config: string;
  size?: number;
  width?: number;
  height?: number;
  steps: number;
  quant?: string;
  lowMemory?: boolean;
  refs: number;
  loraRank: number;
  cfg?: string | boolean;
  precision: string;
  bindingLimit?: number;
  json?: boolean;
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

const cfgOption = (mode: CfgMode | undefined): { cfg?: CfgMode } => (mode ? { cfg: mode } : {});

/** Parses the CLI arguments and runs the plan. */
export async function planFromArgs(argv: string[]): Promise<PlanResult> {
  const cmd = new Command('plan')
    .description('exact memory and dispatch plan of one run, without a GPU')
    .requiredOption('--config <dir>', 'folder with text_encoder/, transformer/, vae/ config.json')
    .option('--size <px>', 'square output size (multiple of 16)', int('size'))
    .option('--width <px>', 'output width (multiple of 16; default --size or 512)', int('width'))
    .option('--height <px>', 'output height (multiple of 16; default --size or 512)', int('height'))
    .option('--steps <n>', 'denoising steps', int('steps'), 4)
    .option('--quant <q>', 'linear weights of text encoder and transformer: q4 or q8 (default bf16)')
    .option('--low-memory', "one stage's weights on the GPU at a time")
    .option('--precision <p>', 'transformer activations: auto (= f16 on the plan device), f32 or f16', 'auto')
    .option('--refs <k>', 'reference images (editing), each of the output size', int('refs'), 0)
    .option('--cfg [mode]', "a base model under classifier-free guidance: auto (the pipeline's choice, the default), batch (one pass over a batch of 2) or two-passes")
    .option('--lora-rank <r>', 'apply a LoRA of rank R to every weight a FLUX.2 LoRA can change (its cost; default none)', int('lora-rank'), 0)
    .option('--binding-limit <mib>', "the planned device's maxStorageBufferBindingSize in MiB (128: WebGPU's default; default no limit)", int('binding-limit'))
    .option('--json', 'print one JSON object')
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<PlanArgs>();
  if (o.quant !== undefined && !isQuantFormat(o.quant)) throw new InvalidArgumentError(`--quant ${o.quant}: use q4 or q8`);
  return runPlan({
    configs: await readConfigs(folderSource(o.config)),
    width: o.width ?? o.size ?? 512,
    height: o.height ?? o.size ?? 512,
    steps: o.steps,
    ...(o.quant ? { quant: o.quant } : {}),
    lowMemory: o.lowMemory === true,
    refs: o.refs,
    ...(o.loraRank ? { loraRank: o.loraRank } : {}),
    ...cfgOption(parseCfgMode(o.cfg)),
    precision: parsePrecision(o.precision),
    ...(o.bindingLimit ? { bindingLimit: o.bindingLimit * MiB } : {}),
  });
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const gib = (b: number) => (b / GiB).toFixed(3);

/** The human-readable plan. */
export function formatPlan(r: PlanResult): string {
  const lines: string[] = [];
  lines.push(`plan      ${r.width}×${r.height}, ${r.steps} step(s), ${r.textTokens} text + ${r.imageTokens} image tokens${r.refs ? `, ${r.refs} reference(s)` : ''}`);
  lines.push(`weights   ${gib(r.weightBytes)} GiB (${r.quant} linear weights${r.lowMemory ? '; low memory: made per stage' : ', resident'}); ${r.precision} activations`);
  if (r.cfg !== 'off') lines.push(`CFG       base model, classifier-free guidance: ${r.cfg === 'batch' ? 'one pass over a batch of 2' : 'two passes'} per step`);
  if (r.loraRank) lines.push(`LoRA      rank ${r.loraRank} on every LoRA-able transformer weight (f32 terms, applied at run time)`);
  lines.push('');
  const ids = GPU_PROFILES.map((p) => p.id);
  lines.push(`${'stage'.padEnd(9)}${'peak GiB'.padStart(10)}${'live GiB'.padStart(10)}${'dispatch'.padStart(9)}${'GFLOP'.padStart(10)}${'GB moved'.padStart(10)}  roofline ms: ${ids.join(' / ')}`);
  for (const s of r.stages) {
    lines.push(
      `${s.name.padEnd(9)}${gib(s.peakBytes).padStart(10)}${gib(s.liveBytes).padStart(10)}${String(s.dispatches).padStart(9)}${(s.flops / 1e9).toFixed(1).padStart(10)}` +
        `${(s.bytes / 1e9).toFixed(2).padStart(10)}  ${ids.map((id) => (s.roofline[id] as number).toFixed(1)).join(' / ')}`,
    );
  }
  lines.push(`${'total'.padEnd(9)}${gib(r.peakBytes).padStart(10)}${''.padStart(10)}${String(r.stages.reduce((a, s) => a + s.dispatches, 0)).padStart(9)}` +
    `${(r.stages.reduce((a, s) => a + s.flops, 0) / 1e9).toFixed(1).padStart(10)}${(r.stages.reduce((a, s) => a + s.bytes, 0) / 1e9).toFixed(2).padStart(10)}  ${ids.map((id) => (r.roofline[id] as number).toFixed(1)).join(' / ')}`);
  lines.push('(peak: all device buffers, the pool\'s free ones included; live: weights + activations in use)');
  lines.push('');
  const fits = (b: number, limit: number) => (b <= limit ? 'fits' : 'OVER');
  lines.push(`largest buffer  ${(r.maxBufferBytes / MiB).toFixed(1)} MiB  (${fits(r.maxBufferBytes, WEBGPU_DEFAULT_LIMITS.maxBufferSize)} WebGPU's default 256 MiB; ${fits(r.maxBufferBytes, GiB)} 1 GiB)`);
  lines.push(`largest binding ${(r.maxBindingBytes / MiB).toFixed(1)} MiB  (${fits(r.maxBindingBytes, WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize)} WebGPU's default 128 MiB; ${fits(r.maxBindingBytes, GiB)} 1 GiB)`);
  lines.push(`per step        ${r.dispatchesPerStep} dispatches, ${(r.bytesPerStep / 1e9).toFixed(2)} GB moved, ${(r.flopsPerStep / 1e12).toFixed(2)} TFLOP`);
  lines.push('');
  lines.push('roofline profiles (vector peaks; a lower bound on time):');
  for (const p of GPU_PROFILES) lines.push(`  ${p.id.padEnd(16)} ${p.name}: ${(p.f32Flops / 1e12).toFixed(1)} TFLOP/s f32, ${(p.bandwidth / 1e9).toFixed(0)} GB/s`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const r = await planFromArgs(argv);
  process.stdout.write(`${argv.includes('--json') ? JSON.stringify(r, null, 2) : formatPlan(r)}\n`);
  return 0;
}
