/**
 * `npm run generate -- --model <hub id | URL | folder> --prompt "…" [--ref in.png …] --width W --height H
 *   [--steps N] --seed S [--guidance G] [--negative-prompt "…"] [--lora FILE_OR_URL[:STRENGTH] …] [--latents noise.safetensors] [--dump DIR]
 *   [--backend gpu|cpu] [--quant q8|q4] [--low-memory] [--precision auto|f32|f16] [--cfg-mode auto|batch|two-passes]
 *   [--safety [--safety-model ID_URL_OR_FOLDER] [--safety-threshold T] [--safety-labels L,…]] --out out.png`
 * Runs the same Pipeline as the app, on Dawn (WebGPU in Node) or the CPU reference backend. With
 * --ref (PNG, JPEG or WebP, up to 4) it edits / combines the references; the size then defaults to the first one's.
 * Steps and guidance default to the model's (model_index.json: distilled 4 steps without CFG, base
 * 50 steps with CFG at guidance 4).
 * With --safety the decoded image is classified first (src/safety): a flagged image is not written
 * (exit code EXIT_FLAGGED, the scores on stderr); an unflagged one is, its scores on stderr.
 */
import { access, constants, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_MODEL } from '../catalog/choices';
import { readConfigs, readModelIndex } from '../model/config';
import { checkLoraFile } from '../pipeline/loras';
import type { ParsedLora } from '../weights/lora';
import { parseLoraArg, readLoraBytes } from './loraArgs';
import { modelDefaults } from '../pipeline/guidance';
import { Pipeline, validateRequest } from '../pipeline/generate';
import { checkRequestFits } from '../pipeline/plan';
import type { Dump } from '../pipeline/observers';
import { encodeSafetensors } from '../weights/safetensorsWrite';
import type { FileSource } from '../weights/source';
import { openSource } from '../weights/httpSource';
import { folderSource } from '../weights/folderSource';
import { type QuantFormat, decodeToF32 } from '../util/dtype';
import { isQuantFormat } from '../util/quant';
import { parseSafetensors, dtypeOf } from '../weights/safetensors';
import { createOps, parseCfgMode, parsePrecision } from './backend';
import { decodeImage } from './imageDecode';
import { encodePngRgb } from './imageEncode';
import { LATENT_CHANNELS } from '../pipeline/latents';
import { MAX_REFERENCES, defaultSizeFor, validateReferences } from '../pipeline/references';
import type { ReferenceImage } from '../pipeline/types';
import type { SafetyChecker } from '../safety/checker';
import { formatScores } from '../safety/config';
import { addSafetyOptions, parseSafetyArgs, type SafetyArgs } from './safetyArgs';

/** Exit code when the safety checker flagged the image (nothing written); 1 is any other error. */
export const EXIT_FLAGGED = 3;

/**
 * Makes sure `out` can be written before any work: its folder is created when missing and must be
 * writable, and `out` itself must not be a folder. Errors: InvalidArgumentError naming --out.
 */
export async function prepareOut(out: string): Promise<void> {
  const dir = dirname(resolve(out));
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (e) {
    throw new InvalidArgumentError(`--out ${out}: its folder ${dir} cannot be created or written (${e instanceof Error ? e.message : String(e)})`);
  }
  const st = await stat(out).catch(() => null);
  if (st?.isDirectory()) throw new InvalidArgumentError(`--out ${out} is a folder; give a file name such as ${join(out, 'out.png')}`);
}

/** Default output side without --width/--height and without references (diffusers default 1024²). */
const DEFAULT_SIDE = 1024;

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
    return n;
  };
}

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** A folder on disk, else a hub repo id or http(s) URL. */
export function resolveSource(model: string): FileSource {
  if (existsSync(model) && statSync(model).isDirectory()) return folderSource(model);
  return openSource(model);
}

/** Reads tensor `noise` (F32/BF16/F16) from a safetensors file as f32; its shape must be exactly [1, 128, height/16, width/16]. */
export async function readNoise(path: string, width: number, height: number): Promise<Float32Array> {
  const tensors = parseSafetensors(new Uint8Array(await readFile(path)));
  const t = tensors.get('noise');
  if (!t) throw new InvalidArgumentError(`${path}: no tensor named "noise" (found ${[...tensors.keys()].join(', ')})`);
  const want = [1, LATENT_CHANNELS, height / 16, width / 16];
  const got = t.info.shape;
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new InvalidArgumentError(`${path}: tensor "noise" has shape [${got.join(', ')}]; a ${width}×${height} image needs exactly [${want.join(', ')}]`);
  }
  return decodeToF32(t.bytes, dtypeOf(t.info));
}

/** Writes a dump as DIR/tensors.safetensors with the golden names (F32 floats, I64 ids). */
export async function writeDump(dir: string, dump: Dump): Promise<string> {
  const tensors: Parameters<typeof encodeSafetensors>[0] = {};
  for (const [name, { shape, data }] of dump) {
    tensors[name] = data instanceof Int32Array ? { dtype: 'I64', shape, data: BigInt64Array.from(data, (v) => BigInt(v)) } : { dtype: 'F32', shape, data };
  }
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'tensors.safetensors');
  await writeFile(path, encodeSafetensors(tensors));
  return path;
}

export async function main(argv: string[]): Promise<number> {
  const cmd = new Command('generate')
    .description('FLUX.2 [klein] text-to-image on WebGPU (Dawn) or the CPU reference backend')
    .option('--model <source>', 'hub repo id, http(s) URL or local folder (diffusers layout)', DEFAULT_MODEL)
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--ref <file>', `PNG, JPEG (CMYK too) or WebP reference image for editing (repeatable, up to ${MAX_REFERENCES})`, collect, [])
    .option('--width <px>', `output width, multiple of 16 (default: first reference's, else ${DEFAULT_SIDE})`, int('width'))
    .option('--height <px>', `output height, multiple of 16 (default: first reference's, else ${DEFAULT_SIDE})`, int('height'))
    .option('--steps <n>', "denoising steps (default: the model's, 4 distilled, 50 base)", int('steps'))
    .option('--seed <n>', 'noise seed', int('seed'), 0)
    .option('--guidance <g>', "classifier-free guidance scale, base models only (default: the model's, 1 distilled, 4 base; ≤ 1: no CFG)", num('guidance'))
    .option('--negative-prompt <text>', 'the unconditional prompt under classifier-free guidance (base models; default "")')
    .option('--lora <file_or_url[:strength]>', 'a LoRA .safetensors for the transformer (ai-toolkit, kohya or diffusers/PEFT naming), strength default 1; repeatable', collect, [])
    .option('--latents <file>', 'initial noise: safetensors with tensor "noise" [1,128,H/16,W/16]')
    .option('--dump <dir>', 'write DIR/tensors.safetensors with the golden tensor names')
    .option('--backend <name>', 'gpu (Dawn) or cpu (reference loops)', 'gpu')
    .option('--quant <format>', 'quantize linear weights while loading: q8 or q4 (default: keep bf16)')
    .option('--low-memory', "one stage's weights on the GPU at a time (read per stage, freed after it)")
    .option('--precision <p>', 'transformer activations: auto (f16 with shader-f16), f32 or f16', 'auto')
    .option('--cfg-mode <mode>', 'classifier-free guidance as one pass over a batch of 2 (batch), two passes (two-passes), or auto: the batch where it fits', 'auto')
    .option('--out <file.png>', 'output PNG', 'out.png')
    .exitOverride();
  addSafetyOptions(cmd, `a flagged image is not written (exit code ${EXIT_FLAGGED})`);
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{ model: string; prompt: string; ref: string[]; width?: number; height?: number; steps?: number; seed: number; guidance?: number; negativePrompt?: string; lora: string[]; latents?: string; dump?: string; backend: string; quant?: string; lowMemory?: boolean; precision: string; cfgMode: string; out: string } & SafetyArgs>();
  if (o.quant !== undefined && !isQuantFormat(o.quant)) throw new InvalidArgumentError(`--quant ${o.quant}: use q8 or q4`);
  const precision = parsePrecision(o.precision);
  const cfg = parseCfgMode(o.cfgMode, '--cfg-mode') ?? 'auto';
  const safety = parseSafetyArgs(o); // before anything is read
  const references: ReferenceImage[] = [];
  for (const f of o.ref) {
    // its size from the header first, before decoding: at most the app's 150 MP
    references.push(await decodeImage(new Uint8Array(await readFile(f)), f));
  }
  validateReferences(references); // before the (slow) model load
  const size = defaultSizeFor(references);
  const width = o.width ?? size?.width ?? DEFAULT_SIDE;
  const height = o.height ?? size?.height ?? DEFAULT_SIDE;
  const latents = o.latents ? await readNoise(o.latents, width, height) : undefined; // shape checked before any work
  const loraArgs = o.lora.map(parseLoraArg);
  const loraUses = loraArgs.map((l) => ({ name: l.source, strength: l.strength }));
  const guidance = { ...(o.guidance !== undefined ? { guidance: o.guidance } : {}), ...(o.negativePrompt !== undefined ? { negativePrompt: o.negativePrompt } : {}) };
  const request = (steps: number) => ({ prompt: o.prompt, width, height, steps, seed: o.seed, ...guidance, ...(latents ? { latents } : {}), ...(references.length ? { references } : {}), ...(loraUses.length ? { loras: loraUses } : {}) });
  validateRequest(request(o.steps ?? 1), LATENT_CHANNELS); // size, steps, seed, guidance range: before anything is read
  await prepareOut(o.out); // a finished image must not be lost to a missing or unwritable folder
  const source = resolveSource(o.model);
  const model = await readModelIndex(source); // one small file: distilled or base
  const req = request(o.steps ?? modelDefaults(model.distilled).steps);
  validateRequest(req, LATENT_CHANNELS, model); // guidance and negative prompt against the model: before the (slow) load
  const loraFiles: { name: string; lora: ParsedLora }[] = [];
  if (loraArgs.length) {
    const configs = await readConfigs(source);
    for (const l of loraArgs) {
      // another model's LoRA, a truncated file…: parsed and checked before the (slow) load, added as parsed after it
      loraFiles.push({ name: l.source, lora: await checkLoraFile(configs, l.source, await readLoraBytes(l.source)) });
    }
  }

  let checker: SafetyChecker | undefined;
  if (safety) {
    // the classifier is small next to the model: a missing or broken one fails before the (slow) load;
    // imported only here: @huggingface/transformers loads ONNX Runtime and sharp (native addons)
    const { createSafetyChecker } = await import('../safety/checker');
    checker = await createSafetyChecker(safety);
    process.stderr.write(`safety checker: ${safety.model} (labels ${checker.labels.join(', ')}; flags ${safety.flaggedLabels.join(', ')} at ≥ ${safety.threshold})\n`);
  }

  const ops = await createOps(o.backend);
  const t0 = performance.now();
  let shown = -1;
  const pipeline = await Pipeline.load(ops, source, (p) => {
    const pct = Math.floor((100 * p.loadedBytes) / Math.max(p.totalBytes, 1));
    if (pct !== shown && process.stderr.isTTY) process.stderr.write(`\rloading ${(p.loadedBytes / 1e6).toFixed(1)}/${(p.totalBytes / 1e6).toFixed(1)} MB (${(shown = pct)}%)`);
  }, { ...(o.quant ? { quant: o.quant as QuantFormat } : {}), ...(o.lowMemory ? { lowMemory: true } : {}), precision, cfg });
  process.stderr.write(`\nloaded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${pipeline.info.summary}\n`);
  for (const f of loraFiles) {
    const info = await pipeline.addLora(f.name, f.lora);
    process.stderr.write(`LoRA ${f.name}: ${info.format} naming, rank ${info.rank}, ${info.layers} weights, strength ${loraUses.find((u) => u.name === f.name)?.strength}\n`);
  }
  const g = req.guidance ?? pipeline.info.defaultGuidance;
  const cfgUsed = pipeline.cfgMode(req);
  const cfgNote = { off: '', batch: ' (classifier-free guidance: one transformer pass over a batch of 2 per step)', 'two passes': ' (classifier-free guidance: two transformer passes per step)' }[cfgUsed];
  process.stderr.write(`${req.steps} steps, guidance ${g}${cfgNote}\n`);
  const dump: Dump | undefined = o.dump ? new Map() : undefined;
  await checkRequestFits(ops, pipeline, req, new Map()); // refused before any work when this GPU cannot hold it
  const result = await pipeline.generate(
    req,
    {
      onProgress: (p) =>
        process.stderr.isTTY &&
        process.stderr.write(`\r${p.stage}${p.step ? ` ${p.step}/${p.steps}` : ''}${p.load ? ` (reading weights ${(p.load.loadedBytes / 1e6).toFixed(0)} MB)` : ''}        `),
      ...(dump ? { dump } : {}),
    },
  );
  if (checker) {
    const verdict = await checker.check(result.rgba, result.width, result.height);
    await checker.dispose();
    if (verdict.flagged) {
      process.stderr.write(`\nthe safety checker flagged the image (${formatScores(verdict.scores)}; flagged at ≥ ${checker.config.threshold} for ${checker.config.flaggedLabels.join(', ')}): ${o.out} not written\n`);
      pipeline.dispose();
      return EXIT_FLAGGED;
    }
    process.stderr.write(`\nsafety checker: not flagged (${formatScores(verdict.scores)}) in ${verdict.ms.toFixed(0)} ms\n`);
  }
  await writeFile(o.out, encodePngRgb(result.rgba, result.width, result.height));
  const t = result.timings;
  process.stderr.write(
    `\nwrote ${o.out}: encode ${t.encodeMs.toFixed(0)} ms, steps ${t.stepMs.map((s) => s.toFixed(0)).join('/')} ms, decode ${t.decodeMs.toFixed(0)} ms, total ${t.totalMs.toFixed(0)} ms\n`,
  );
  if (dump && o.dump) process.stderr.write(`dump: ${await writeDump(o.dump, dump)}\n`);
  pipeline.dispose();
  return 0;
}
