/**
 * Golden-data access for Node tests (test/golden/README.md): the tiny model-a checkpoint and the
 * reference cases `t2i-64` / `edit-1ref` (case.json + tensors.safetensors; debug.safetensors is
 * kept for t2i-64 only).
 * Node only (uses folderSource).
 */
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { folderSource } from '../weights/folderSource';
import { parseSafetensors } from '../weights/safetensors';
import type { FileSource } from '../weights/source';
import { type Configs, readConfigs } from '../model/config';
import { pngToRgba } from '../cli/png';
import type { GenerateRequest } from '../pipeline/types';

/** Golden root: $KLEINBILD_GOLDEN, else the repository's test/golden. */
export const GOLDEN_DIR: string =
  process.env.KLEINBILD_GOLDEN ?? fileURLToPath(new URL('../../test/golden/', import.meta.url));

export type GoldenCaseName = 't2i-64' | 'edit-1ref';

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

/** model-a's three configs (text encoder, transformer, VAE), as the plan takes them. */
export function goldenConfigs(): Promise<Configs> {
  return readConfigs(goldenModelSource());
}

/** Golden case `c` as a request: its prompt, size, steps, seed, injected noise and reference images (PNG files of the case). */
export async function goldenRequest(c: GoldenCase): Promise<GenerateRequest> {
  const m = c.meta;
  const references = await Promise.all(m.reference_images.map(async (r) => pngToRgba(new Uint8Array(await readFile(join(c.dir, r.file))), r.file)));
  return {
    prompt: m.prompt,
    width: m.width,
    height: m.height,
    steps: m.num_inference_steps,
    seed: m.seed,
    latents: goldenTensor(c.tensors, 'noise').data as Float32Array,
    ...(references.length ? { references } : {}),
  };
}
