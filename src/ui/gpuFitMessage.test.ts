import { describe, expect, it } from 'vitest';
import type { GpuFit } from '../worker/api';
import { fitMessage } from './gpuFitMessage';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const fit = (o: Partial<GpuFit>): GpuFit => ({
  verdict: 'fits',
  adapterName: 'Apple M2',
  width: 1024,
  height: 1024,
  needBytes: 4.49 * GiB,
  lowMemoryNeedBytes: 2.42 * GiB,
  maxBufferBytes: 81 * MiB,
  maxBindingBytes: 81 * MiB,
  limitBufferBytes: 256 * MiB,
  limitBindingBytes: 128 * MiB,
  deviceMemoryGiB: null,
  ...o,
});

describe('fitMessage', () => {
  it('fits: names the GPU, the memory and the size', () => {
    expect(fitMessage(fit({}))).toEqual({ tone: 'ok', text: 'Fits this GPU (Apple M2): about 4.49 GiB of GPU memory at 1024×1024.' });
  });

  it('low memory: both modes’ memory and the device’s', () => {
    const m = fitMessage(fit({ verdict: 'low-memory', deviceMemoryGiB: 4 }));
    expect(m.tone).toBe('warn');
    expect(m.text).toContain('normal mode needs about 4.49 GiB and this device reports 4 GB of memory');
    expect(m.text).toContain('Low GPU memory” (about 2.42 GiB');
  });

  it('too small: the limit that is short, binding before buffer, else memory', () => {
    expect(fitMessage(fit({ verdict: 'too-small', limitBindingBytes: 64 * MiB })).text).toContain('needs a 81 MiB buffer binding and this GPU allows 64 MiB');
    expect(fitMessage(fit({ verdict: 'too-small', limitBufferBytes: 64 * MiB })).text).toContain('needs a 81 MiB buffer and this GPU allows 64 MiB');
    const m = fitMessage(fit({ verdict: 'too-small', deviceMemoryGiB: 2, adapterName: '' }));
    expect(m).toEqual({ tone: 'bad', text: 'Too large for this GPU at 1024×1024: it needs about 2.42 GiB even in low-memory mode and this device reports 2 GB of memory. Smaller images may still work.' });
  });

  it('software: names the CPU adapter on the page', () => {
    const m = fitMessage(fit({ verdict: 'software', adapterName: 'SwiftShader Device (Subzero)' }));
    expect(m.tone).toBe('warn');
    expect(m.text).toMatch(/^This browser's WebGPU runs on the processor \(SwiftShader Device \(Subzero\)\), not on a GPU/);
  });
});
