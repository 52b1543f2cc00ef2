/** WeightLoader: shape checks with `name, expected, got`, dtype kept, bytes counted. */
import { describe, expect, it } from 'vitest';
import { CpuOps } from '../ops/cpuOps';
import { f32ToBf16 } from '../util/dtype';
import { WeightLoader } from './load';
import { openComponent } from './safetensors';
import { encodeSafetensors } from './safetensorsWrite';
import type { FileSource } from './source';

/** A FileSource over in-memory files. */
function memorySource(files: Record<string, Uint8Array>): FileSource {
  const get = (p: string) => {
    const f = files[p];
    if (!f) throw new Error(`no ${p}`);
    return f;
  };
  return {
    id: 'memory',
    size: async (p) => get(p).length,
    range: async (p, s, e) => get(p).slice(s, e),
    json: async (p) => JSON.parse(new TextDecoder().decode(get(p))),
    exists: async (p) => p in files,
  };
}

async function loader() {
  const file = encodeSafetensors({
    'proj.weight': { dtype: 'BF16', shape: [2, 3], data: f32ToBf16(new Float32Array([1, 2, 3, -1, 0.5, 0.25])) },
    'norm.weight': { dtype: 'F32', shape: [3], data: new Float32Array([1, 1, 1]) },
  });
  const ckpt = await openComponent(memorySource({ 'transformer/diffusion_pytorch_model.safetensors': file }), 'transformer');
  return new WeightLoader(new CpuOps(), ckpt);
}

describe('WeightLoader', () => {
  it('loads a bf16 tensor exactly and counts its bytes', async () => {
    const w = await loader();
    const t = await w.get('proj.weight', [2, 3]);
    expect([...t.data]).toEqual([1, 2, 3, -1, 0.5, 0.25]); // all exactly representable in bf16
    expect(w.loadedBytes).toBe(12);
  });

  it('a wrong shape names the tensor, the expected and the actual shape', async () => {
    const w = await loader();
    await expect(w.get('proj.weight', [3, 2])).rejects.toThrow('weight proj.weight: expected [3, 2], got [2, 3]');
    await expect(w.get('norm.weight', [3, 1])).rejects.toThrow('weight norm.weight: expected [3, 1], got [3]');
  });

  it('a missing tensor says so', async () => {
    const w = await loader();
    await expect(w.get('proj.bias', [2])).rejects.toThrow('weight proj.bias: expected [2], got missing');
  });
});
