/** Small display formatters shared by the panels. */
import type { GenerateProgress } from '../worker/api';

export { formatBytes } from '../util/bytes';

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** "Preparing the live preview", "Encoding prompt", "Step 2 / 4", "Decoding". */
export function stageLabel(p: GenerateProgress): string {
  switch (p.stage) {
    case 'prepare':
      return 'Preparing the live preview (first image of a model)';
    case 'encode':
      return 'Encoding prompt';
    case 'denoise':
      return p.step !== undefined && p.steps !== undefined ? `Step ${p.step} / ${p.steps}` : 'Denoising';
    case 'decode':
      return 'Decoding';
  }
}
