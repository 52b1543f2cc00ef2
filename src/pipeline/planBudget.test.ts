/**
 * The GPU memory budget of klein 4B (bench/configs/flux2-klein-4b shapes, plan device, no weights
 * needed): what every browser must accept. q4, normal mode: peak ≤ 4.5 GiB at 1024² and ≤ 5.0 GiB
 * at 2048² (weights included); low memory ≤ 2.5 GiB at 1024²; up to 1024² no binding over 128 MiB
 * and no buffer over 256 MiB (WebGPU's default limits, phones included), and none over 1 GiB
 * (Firefox's cap) at any size, for q4 and q8. Observed: q4 4.10 / 4.49 / 4.99 GiB at 512² / 1024² /
 * 2048², low memory 2.42 GiB; largest buffer 56 / 81 / 198 MiB; q8 84 MiB at 1024².
 */
import { describe, expect, it } from 'vitest';
import { kleinConfigs } from '../catalog/choices';
import { runPlan } from './plan';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe('klein 4B memory budget (plan)', () => {
  const configs = kleinConfigs();
  const plan = (size: number, quant: 'q4' | 'q8', lowMemory = false) => runPlan({ configs, width: size, height: size, steps: 1, quant, lowMemory });

  it('q4: ≤ 4.5 GiB at 1024², ≤ 5.0 GiB at 2048², ≤ 2.5 GiB in low-memory mode at 1024²', async () => {
    expect((await plan(1024, 'q4')).peakBytes).toBeLessThanOrEqual(4.5 * GiB);
    expect((await plan(2048, 'q4')).peakBytes).toBeLessThanOrEqual(5 * GiB);
    expect((await plan(1024, 'q4', true)).peakBytes).toBeLessThanOrEqual(2.5 * GiB);
  });

  it('bindings ≤ 128 MiB and buffers ≤ 256 MiB up to 1024², ≤ 1 GiB at 2048², q4 and q8', async () => {
    for (const quant of ['q4', 'q8'] as const) {
      for (const size of [512, 1024, 2048]) {
        const p = await plan(size, quant);
        const [binding, buffer] = size <= 1024 ? [128 * MiB, 256 * MiB] : [GiB, GiB];
        expect(p.maxBindingBytes, `${quant} ${size}² binding`).toBeLessThanOrEqual(binding);
        expect(p.maxBufferBytes, `${quant} ${size}² buffer`).toBeLessThanOrEqual(buffer);
      }
    }
  });

  it('q|k|v follows the binding limit: at 1536×1280 (8192 tokens, f16) one 144 MiB joint buffer without a limit, split to fit a 128 MiB device', async () => {
    const at = (bindingLimit?: number) => runPlan({ configs, width: 1536, height: 1280, steps: 1, quant: 'q4', ...(bindingLimit ? { bindingLimit } : {}) });
    const [free, phone] = [await at(), await at(128 * MiB)];
    expect(free.maxBindingBytes).toBe(8192 * 3 * 3072 * 2); // [S, 3D] f16
    expect(phone.maxBindingBytes).toBeLessThanOrEqual(128 * MiB);
    expect(phone.dispatchesPerStep).toBeGreaterThan(free.dispatchesPerStep); // the split's extra GEMMs
  });
});
