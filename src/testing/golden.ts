/**
 * Golden-data access for Node tests (test/golden/README.md): the tiny model-a checkpoint, its base
 * variant (model-a without `"is_distilled": true`, built here: README "There is no model-a-base/ folder") and the reference
 * cases `t2i-64` / `edit-1ref` / `cfg-64` (case.json + tensors.safetensors; debug.safetensors is
 * kept for t2i-64 only).
 * Node only (uses folderSource).
 */
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderSource } from '../weights/folderSource';
import { parseSafetensors } from '../weights/safetensors';
import type { FileSource } from '../weights/source';
import { type Configs, readConfigs } from '../model/config';
import { pngToRgba } from '../cli/png';
import type { GenerateRequest } from '../pipeline/types';
import type { Pipeline } from '../pipeline/generate';

/** Golden root: $KLEINBILD_GOLDEN, else the repository's test/golden. */
export const GOLDEN_DIR: string =
  process.env.KLEINBILD_GOLDEN ?? fileURLToPath(new URL('../../test/golden/', import.meta.url));

export type GoldenCaseName = 't2i-64' | 'edit-1ref' | 'cfg-64' | 'lora-aitk';

/** Per-tensor float32 thresholds from case.json (README §5). */
export interface GoldenTolerance {
  rel_l2?: number;
  max_abs?: number;
}

/** The typed subset of case.json the tests use. */
export interface GoldenCaseMeta {
  case: GoldenCaseName;
  prompt: string;
  width: number;
  height: number;
  num_inference_steps: number;
  guidance_scale: number;
  /** The CFG negative prompt ("" in cfg-64); absent where CFG is off. */
  negative_prompt?: string | null;
  /** Classifier-free guidance ran (base model, guidance > 1). */
  cfg_active: boolean;
  /** The model is model-a (true) or its base variant (false: goldenBaseModelSource / makeGoldenBaseModelDir). */
  is_distilled: boolean;
  seed: number;
  /** Target image tokens N = (H/16)·(W/16). */
  image_seq_len: number;
  /** Reference tokens R (0 for t2i). */
  ref_seq_len: number;
  reference_images: {
    file: string;
    width: number;
    height: number;
    processed_width: number;
    processed_height: number;
    crop_left: number;
    crop_top: number;
  }[];
  /** LoRA cases: the files (in the case folder) applied with their strengths; several add up. */
  loras?: { file: string; format: 'ai-toolkit' | 'kohya' | 'peft'; rank: number; alpha: number | null; strength: number }[];
  mu: number;
  /** σ_0 … σ_{S−1}, 0. */
  sigmas: number[];
  /** 1000·σ_0 … 1000·σ_{S−1}. */
  timesteps: number[];
  tolerances: {
    exact: string[];
    fp32: Record<string, GoldenTolerance>;
    loose: Record<string, GoldenTolerance>;
    image_png_fp32: { max_levels: number; mean_levels: number };
    image_png_loose: { max_levels: number; mean_levels: number };
  };
}

/** A decoded golden tensor: F32 → Float32Array, I64 → BigInt64Array. */
export interface GoldenTensor {
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export interface GoldenCase {
  meta: GoldenCaseMeta;
  /** The case folder (for image.png / ref0.png). */
  dir: string;
  tensors: Map<string, GoldenTensor>;
  /** debug.safetensors (3.4 MB; t2i-64 only: the other cases' were left out of the repository), loaded on demand. */
  debug(): Promise<Map<string, GoldenTensor>>;
}

/** Reads a small safetensors file whole and decodes its F32 / I64 tensors (copies: aligned, owned). */
async function loadTensors(src: FileSource, file: string): Promise<Map<string, GoldenTensor>> {
  const bytes = await src.range(file, 0, await src.size(file));
  const out = new Map<string, GoldenTensor>();
  for (const [name, { info, bytes: b }] of parseSafetensors(bytes, `${src.id}/${file}`)) {
    const copy = b.slice().buffer;
    if (info.dtype === 'F32') out.set(name, { shape: info.shape, data: new Float32Array(copy) });
    else if (info.dtype === 'I64') out.set(name, { shape: info.shape, data: new BigInt64Array(copy) });
    else throw new Error(`${src.id}/${file}: golden tensor ${name} is ${info.dtype}, expected F32 or I64`);
  }
  return out;
}

/** Loads one golden case; tensors.safetensors eagerly, debug.safetensors on demand. */
export async function loadGoldenCase(name: GoldenCaseName): Promise<GoldenCase> {
  const dir = join(GOLDEN_DIR, 'cases', name);
  const src = folderSource(dir);
  const meta = await src.json<GoldenCaseMeta>('case.json');
  const tensors = await loadTensors(src, 'tensors.safetensors');
  return { meta, dir, tensors, debug: () => loadTensors(src, 'debug.safetensors') };
}

/** Fetches one tensor of a golden map or throws naming it and the ones present. */
export function goldenTensor(map: Map<string, GoldenTensor>, name: string): GoldenTensor {
  const t = map.get(name);
  if (!t) throw new Error(`golden tensor ${name} missing; have ${[...map.keys()].join(', ')}`);
  return t;
}

/** The tiny model-a checkpoint as a FileSource (same layout as black-forest-labs/FLUX.2-klein-4B). */
export function goldenModelSource(): FileSource {
  return folderSource(join(GOLDEN_DIR, 'model-a'));
}

/** model-a's model_index.json without `"is_distilled": true`: the base variant's (README: every other file is model-a's). */
async function baseModelIndex(): Promise<Record<string, unknown>> {
  const { is_distilled: _, ...rest } = JSON.parse(await readFile(join(GOLDEN_DIR, 'model-a', 'model_index.json'), 'utf8')) as Record<string, unknown>;
  return rest;
}

/** The base (non-distilled) variant of model-a as a FileSource: model-a's files, model_index.json rewritten in memory. */
export function goldenBaseModelSource(): FileSource {
  const a = goldenModelSource();
  const index = baseModelIndex();
  return {
    ...a,
    id: `${a.id} (base variant)`,
    json: async <T>(path: string, signal?: AbortSignal) => (path === 'model_index.json' ? ((await index) as T) : a.json<T>(path, signal)),
  };
}

/**
 * The base variant of model-a as a folder (for the CLI): a temporary folder with symbolic links to
 * model-a's subfolders and the rewritten model_index.json. `cleanup` removes it (the links only).
 */
export async function makeGoldenBaseModelDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const modelA = join(GOLDEN_DIR, 'model-a');
  const dir = await mkdtemp(join(tmpdir(), 'kleinbild-model-a-base-'));
  for (const e of await readdir(modelA, { withFileTypes: true })) {
    if (e.isDirectory()) await symlink(join(modelA, e.name), join(dir, e.name), 'dir');
  }
  await writeFile(join(dir, 'model_index.json'), JSON.stringify(await baseModelIndex(), null, 2));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** model-a's three configs (text encoder, transformer, VAE), as the plan takes them. */
export function goldenConfigs(): Promise<Configs> {
  return readConfigs(goldenModelSource());
}

/**
 * Golden case `c` as a request: its prompt, size, steps, seed, guidance and negative prompt (CFG
 * cases), injected noise, reference images (PNG files of the case) and LoRAs by file name (addGoldenLoras).
 */
export async function goldenRequest(c: GoldenCase): Promise<GenerateRequest> {
  const m = c.meta;
  const references = await Promise.all(m.reference_images.map(async (r) => pngToRgba(new Uint8Array(await readFile(join(c.dir, r.file))), r.file)));
  return {
    prompt: m.prompt,
    width: m.width,
    height: m.height,
    steps: m.num_inference_steps,
    seed: m.seed,
    ...(m.cfg_active ? { guidance: m.guidance_scale, negativePrompt: m.negative_prompt ?? '' } : {}),
    latents: goldenTensor(c.tensors, 'noise').data as Float32Array,
    ...(references.length ? { references } : {}),
    ...(m.loras?.length ? { loras: m.loras.map((l) => ({ name: l.file, strength: l.strength })) } : {}),
  };
}

/** Adds golden case `c`'s LoRA files to `p` under their file names (the names goldenRequest selects). */
export async function addGoldenLoras<T>(p: Pipeline<T>, c: GoldenCase): Promise<void> {
  for (const l of c.meta.loras ?? []) await p.addLora(l.file, new Uint8Array(await readFile(join(c.dir, l.file))));
}
