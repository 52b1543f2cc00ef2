/**
 * The GPU-fit verdict (worker api `gpuFit`, src/pipeline/gpuFit.ts) as one plain sentence for the
 * first-run card and the Model panel, with a tone for its colour: ok (fits), warn (works with a
 * change, or slowly), bad (will not run at this size).
 */
import type { GpuFit } from '../worker/api';
import { formatBytes } from './format';

export interface FitMessage {
  tone: 'ok' | 'warn' | 'bad';
  text: string;
}

const MiB = 2 ** 20;
const mib = (b: number): string => `${Math.ceil(b / MiB)} MiB`;

/** "this GPU (NVIDIA GeForce RTX 4070)" or "this GPU" when the browser gives no name. */
function gpu(f: GpuFit): string {
  return f.adapterName ? `this GPU (${f.adapterName})` : 'this GPU';
}

/**
 * One sentence per verdict, naming the numbers behind it: the memory of normal and low-memory mode
 * at the planned size, the limit that is short, the adapter when it is a software one.
 */
export function fitMessage(f: GpuFit): FitMessage {
  const size = `${f.width}×${f.height}`;
  const memory = f.deviceMemoryGiB !== null ? `this device reports ${f.deviceMemoryGiB} GB of memory` : null;
  switch (f.verdict) {
    case 'fits':
      return { tone: 'ok', text: `Fits ${gpu(f)}: about ${formatBytes(f.needBytes)} of GPU memory at ${size}.` };
    case 'low-memory':
      return {
        tone: 'warn',
        text:
          `Tight for ${gpu(f)} at ${size}: normal mode needs about ${formatBytes(f.needBytes)}${memory ? ` and ${memory}` : ''}. ` +
          `Turn on “Low GPU memory” (about ${formatBytes(f.lowMemoryNeedBytes)}, slower per image).`,
      };
    case 'too-small': {
      const binding = f.maxBindingBytes > f.limitBindingBytes;
      const buffer = f.maxBufferBytes > f.limitBufferBytes;
      const why = binding
        ? `it needs a ${mib(f.maxBindingBytes)} buffer binding and this GPU allows ${mib(f.limitBindingBytes)}`
        : buffer
          ? `it needs a ${mib(f.maxBufferBytes)} buffer and this GPU allows ${mib(f.limitBufferBytes)}`
          : `it needs about ${formatBytes(f.lowMemoryNeedBytes)} even in low-memory mode${memory ? ` and ${memory}` : ''}`;
      return { tone: 'bad', text: `Too large for ${gpu(f)} at ${size}: ${why}. Smaller images may still work.` };
    }
    case 'software':
      return {
        tone: 'warn',
        text:
          `This browser's WebGPU runs on the processor${f.adapterName ? ` (${f.adapterName})` : ''}, not on a GPU: it works, ` +
          'but one image takes many minutes. For real use, open Kleinbild in a browser with GPU access (hardware acceleration on).',
      };
  }
}
