/**
 * A LoRA removed (or replaced) while a generation uses it (Dawn/WebGPU): the running image finishes
 * with the terms it started with — they are freed when it ends, not under it (GpuContext asserts on
 * any binding used after release; without the deferral this test fails there) — and the next
 * request no longer finds it.
 */
import { describe, expect, it } from 'vitest';
import { GpuOps } from '../ops/gpuOps';
import { testGpu } from '../testing/gpu';
import { goldenModelSource } from '../testing/golden';
import { lora0Bytes } from '../testing/loraFiles';
import { Pipeline } from './generate';

describe('LoRAs removed during a run (gpu)', () => {
  it('the running image keeps its terms; the next request no longer finds the LoRA', async () => {
    const ctx = await testGpu();
    const p = await Pipeline.load(new GpuOps(ctx), goldenModelSource(), undefined, { precision: 'f32' });
    await p.addLora('lora0', lora0Bytes());
    const req = { prompt: 'A red balloon on a wooden table.', width: 64, height: 64, steps: 2, seed: 3, loras: [{ name: 'lora0', strength: 1 }] };
    const whole = await p.generate(req);
    let removed = false;
    const cut = await p.generate(req, {
      onProgress: (s) => {
        if (s.stage === 'denoise' && s.step === 2 && !removed) {
          p.removeLora('lora0'); // between the steps: step 2 still needs the terms
          removed = true;
        }
      },
    });
    expect(removed).toBe(true);
    expect(Buffer.from(cut.rgba).equals(Buffer.from(whole.rgba))).toBe(true);
    await expect(p.generate(req)).rejects.toThrow(/LoRA "lora0" is not loaded/); // the next request no longer has it
    p.dispose();
  });
});
