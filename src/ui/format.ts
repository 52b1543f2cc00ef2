/** Small display formatters shared by the panels. */
import type { GenerateProgress } from '../worker/api';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** "Encoding prompt", "Step 2 / 4", "Decoding". */
export function stageLabel(p: GenerateProgress): string {
  switch (p.stage) {
    case 'encode':
      return 'Encoding prompt';
    case 'denoise':
      return p.step !== undefined && p.steps !== undefined ? `Step ${p.step} / ${p.steps}` : 'Denoising';
    case 'decode':
      return 'Decoding';
  }
}
