/**
 * Initial-noise files for reproducing reference runs: a .safetensors holding a tensor named
 * `noise` of shape [1, 128, H/16, W/16] in F32, BF16 or F16. Parsed on the UI thread (files are
 * small: 8 MiB at 2048²) and handed to the worker as `GenerateRequest.latents`.
 */
import { parseSafetensors } from '../weights/safetensors';
import { type DType, decodeToF32 } from '../util/dtype';

export const NOISE_TENSOR = 'noise';

export interface NoiseFile {
  fileName: string;
  dtype: string;
  shape: number[];
  /** Flattened values, row-major. */
  data: Float32Array;
}

const DTYPES: Readonly<Record<string, DType>> = { F32: 'f32', BF16: 'bf16', F16: 'f16' };

/** Extracts the `noise` tensor. Errors name the file, the tensors found and the dtype. */
export function noiseFromSafetensors(bytes: Uint8Array, fileName: string): NoiseFile {
  const tensors = parseSafetensors(bytes, fileName);
  const entry = tensors.get(NOISE_TENSOR);
  if (!entry) {
    const names = [...tensors.keys()];
    const found = names.length ? names.slice(0, 8).join(', ') + (names.length > 8 ? ', …' : '') : 'none';
    throw new Error(`${fileName} has no tensor named "${NOISE_TENSOR}" (found: ${found}).`);
  }
  const dtype = DTYPES[entry.info.dtype];
  if (!dtype) throw new Error(`${fileName}: tensor "${NOISE_TENSOR}" is ${entry.info.dtype}; expected F32, BF16 or F16.`);
  return { fileName, dtype: entry.info.dtype, shape: [...entry.info.shape], data: decodeToF32(entry.bytes, dtype) };
}

export async function readNoiseFile(file: File): Promise<NoiseFile> {
  return noiseFromSafetensors(new Uint8Array(await file.arrayBuffer()), file.name);
}
