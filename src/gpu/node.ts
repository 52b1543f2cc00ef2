/**
 * WebGPU in Node through Dawn (the `webgpu` npm package). On a machine without a GPU Vulkan
 * driver, falls back to the SwiftShader ICD that Debian's chromium ships (see
 * docs/webgpu-ci.md §3). Node-only: never imported by the app bundle.
 */
import { existsSync, readdirSync } from 'node:fs';
import { WebGpuUnavailable } from '../errors';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

let cached: GPU | null = null;

/** `navigator.gpu` for Node. Errors: WebGpuUnavailable when the `webgpu` package can't load. */
export async function nodeGpu(): Promise<GPU> {
  if (cached) return cached;
  const hasSystemIcd = ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && !hasSystemIcd && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new WebGpuUnavailable(`cannot load the 'webgpu' (Dawn) package: ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  // Dawn quantises timestamp queries to 2^16 ns by default (anti-fingerprinting); the benchmark's
  // per-kernel times (GpuContext.profile) need the raw values. Affects nothing else.
  cached = mod.create(['backend=vulkan', 'disable-dawn-features=timestamp_quantization']);
  return cached;
}
