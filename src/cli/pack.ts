/**
 * `npm run pack -- --from <hub id | URL | folder> --quant q4|q8|none --out DIR [--chunk-bytes N]
 *   [--transformer-file PATH [--transformer-source SRC]] [--text-encoder-file PATH [--text-encoder-source SRC]]`
 * Writes a Kleinbild pack (src/weights/packFormat.ts) to DIR: configs and tokenizer, chunk files,
 * and the manifest last (a folder without kleinbild-pack.json is an unfinished pack). Prints the
 * per-tensor quantization report (relative RMS error against the source values) and the sizes.
 * The result loads with `npm run generate -- --model DIR`, from any static URL, or into the app.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_MODEL } from '../catalog/choices';
import { planPack, sha256Hex } from '../weights/convert';
import { neededTensors } from '../model/tensorList';
import { PACK_MANIFEST, type PackManifest, type PackQuant, type PackTensor } from '../weights/packFormat';
import type { PackRecipe } from '../weights/packJob';
import { COMPONENTS } from '../weights/sourceTensor';
import { pathInFolder } from '../weights/folderSource';
import { modelPathError } from '../weights/source';
import { resolveSource } from './generate';

const GB = 1e9;

function overrideFormat(path: string): 'gguf' | 'safetensors' {
  if (path.endsWith('.gguf')) return 'gguf';
  if (path.endsWith('.safetensors')) return 'safetensors';
  throw new InvalidArgumentError(`${path}: expected a .gguf or .safetensors file`);
}

/**
 * Where an override file is read: `path` inside `source`, or, for a local file named by a path that
 * leaves the source folder (`../x.gguf`, `/abs/x.gguf`; sources read only plain paths inside their
 * root), the file's own folder. The command line is trusted; files named by a manifest are not.
 */
function overrideOf(source: string, path: string, format: 'gguf' | 'safetensors') {
  if (modelPathError(path) === null || !(existsSync(source) && statSync(source).isDirectory())) return { source, path, format };
  const full = resolve(source, path);
  return { source: dirname(full), path: basename(full), format };
}

/** `q4`, or `q4 G32` for a tensor with its own group size. */
const formatOf = (t: PackTensor): string => (t.group === undefined ? t.dtype : `${t.dtype} G${t.group}`);

/**
 * Human-readable sizes, the tensors converted without loss (relRms 0: GGUF blocks repacked, by
 * source type) and the worst quantization errors of the rest, of a finished manifest.
 */
export function packReport(m: PackManifest, verbose: boolean): string[] {
  const lines: string[] = [];
  for (const c of COMPONENTS) {
    const entries = Object.entries(m.components[c]);
    const bytes = entries.reduce((s, [, t]) => s + t.bytes, 0);
    const byType = new Map<string, number>();
    for (const [, t] of entries) byType.set(t.dtype, (byType.get(t.dtype) ?? 0) + t.bytes);
    const types = [...byType].map(([d, b]) => `${d} ${(b / GB).toFixed(3)} GB`).join(', ');
    lines.push(`${c.padEnd(13)} ${entries.length} tensors, ${(bytes / GB).toFixed(3)} GB (${types})`);
    const exact = new Map<string, number>();
    for (const [, t] of entries) {
      const k = `${t.from} → ${formatOf(t)}`;
      if (t.relRms === 0) exact.set(k, (exact.get(k) ?? 0) + 1);
    }
    if (exact.size) {
      const n = [...exact.values()].reduce((a, b) => a + b, 0);
      lines.push(`${''.padEnd(13)} ${n} tensors copied losslessly (${[...exact].map(([k, c]) => `${k}: ${c}`).join(', ')})`);
    }
    const errs = entries.filter(([, t]) => t.relRms !== undefined && t.relRms > 0).sort((a, b) => (b[1].relRms ?? 0) - (a[1].relRms ?? 0));
    if (errs.length) {
      const mean = errs.reduce((s, [, t]) => s + (t.relRms ?? 0), 0) / errs.length;
      lines.push(`${''.padEnd(13)} relRms mean ${mean.toExponential(2)}, max ${(errs[0]?.[1].relRms ?? 0).toExponential(2)} (${errs[0]?.[0]})`);
    }
    if (verbose) {
      for (const [name, t] of entries) {
        const err = t.relRms === undefined ? '' : t.relRms === 0 ? ' copied losslessly' : ` relRms ${t.relRms.toExponential(2)}`;
        lines.push(`  ${name} ${t.from} → ${formatOf(t)} [${t.shape.join(', ')}] ${t.bytes} B${err}`);
      }
    }
  }
  lines.push(`total ${(m.totalBytes / GB).toFixed(3)} GB in ${m.chunks.length} chunks of ≤ ${(m.chunkBytes / 2 ** 20).toFixed(2)} MiB`);
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  const cmd = new Command('pack')
    .description('Convert a FLUX.2 [klein] model into a Kleinbild pack (quantized chunks + manifest)')
    .option('--from <source>', 'hub repo id, http(s) URL or local folder (diffusers layout or a pack)', DEFAULT_MODEL)
    .option('--quant <format>', 'q4 | q8 | none (keep the checkpoint dtypes)', 'q4')
    .requiredOption('--out <dir>', 'output folder (created; an existing pack there is replaced)')
    .option('--chunk-bytes <n>', 'bytes per chunk file (multiple of 256)', (v) => Number(v))
    .option('--name <name>', 'display name stored in the manifest')
    .option('--transformer-file <path>', 'transformer from a single .gguf / fp8 .safetensors file')
    .option('--transformer-source <src>', 'where --transformer-file lives (default: --from)')
    .option('--text-encoder-file <path>', 'text encoder from a single .gguf file (e.g. a Qwen3-4B GGUF)')
    .option('--text-encoder-source <src>', 'where --text-encoder-file lives (default: --from)')
    .option('--verbose', 'one report line per tensor', false)
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{
    from: string; quant: string; out: string; chunkBytes?: number; name?: string; verbose: boolean;
    transformerFile?: string; transformerSource?: string; textEncoderFile?: string; textEncoderSource?: string;
  }>();
  if (o.quant !== 'q4' && o.quant !== 'q8' && o.quant !== 'none') throw new InvalidArgumentError(`--quant ${o.quant}: use q4, q8 or none`);
  const quant: PackQuant = o.quant;
  const recipe: PackRecipe = { name: o.name ?? `FLUX.2 [klein] · ${quant}`, quant, base: o.from };
  const overrides: NonNullable<PackRecipe['overrides']> = {};
  if (o.transformerFile) overrides.transformer = overrideOf(o.transformerSource ?? o.from, o.transformerFile, overrideFormat(o.transformerFile));
  if (o.textEncoderFile) overrides.text_encoder = overrideOf(o.textEncoderSource ?? o.from, o.textEncoderFile, overrideFormat(o.textEncoderFile));
  if (Object.keys(overrides).length) recipe.overrides = overrides;

  const t0 = performance.now();
  const job = await planPack(recipe, resolveSource, neededTensors, o.chunkBytes === undefined ? {} : { chunkBytes: o.chunkBytes });
  console.log(`${job.plan.name}: ${(job.plan.totalBytes / GB).toFixed(3)} GB in ${job.plan.chunks.length} chunks → ${o.out}`);
  await mkdir(o.out, { recursive: true });
  await rm(join(o.out, PACK_MANIFEST), { force: true }); // the folder is incomplete until the end
  const write = async (path: string, bytes: Uint8Array) => {
    const full = pathInFolder(o.out, path); // a copied pack's manifest names these paths: never outside --out
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, bytes);
    return sha256Hex(bytes);
  };
  const fileSha: string[] = [];
  for (const f of job.plan.files) fileSha.push(await write(f.path, await job.file(f.path)));
  const chunkSha: string[] = [];
  for (let i = 0; i < job.plan.chunks.length; i++) {
    chunkSha.push(await write((job.plan.chunks[i] as { path: string }).path, await job.chunk(i)));
    if ((i + 1) % 10 === 0 || i + 1 === job.plan.chunks.length) console.log(`  chunk ${i + 1}/${job.plan.chunks.length}`);
  }
  const manifest = job.finish(chunkSha, fileSha);
  await writeFile(join(o.out, PACK_MANIFEST), JSON.stringify(manifest, null, 1));
  for (const line of packReport(manifest, o.verbose)) console.log(line);
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}
