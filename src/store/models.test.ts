import { describe, expect, it } from 'vitest';
import { modelId } from './models';

describe('modelId', () => {
  it('is a readable slug plus 8 hex of the recipe, stable across calls', async () => {
    const r = { name: 'FLUX.2 [klein] 4B · 4-bit', quant: 'q4', base: 'black-forest-labs/FLUX.2-klein-4B' } as const;
    const id = await modelId(r);
    expect(id).toMatch(/^flux-2-klein-4b-4-bit-[0-9a-f]{8}$/);
    expect(await modelId({ ...r })).toBe(id);
  });

  it('differs when the base, the quantization or an override differs; the name alone does not count', async () => {
    const r = { name: 'm', quant: 'q4', base: 'a/b' } as const;
    const ids = await Promise.all([
      modelId(r),
      modelId({ ...r, base: 'a/c' }),
      modelId({ ...r, quant: 'q8' }),
      modelId({ ...r, overrides: { transformer: { source: 'x/y', path: 't.gguf', format: 'gguf' } } }),
    ]);
    expect(new Set(ids.map((id) => id.slice(-8))).size).toBe(4);
    expect((await modelId({ ...r, name: 'other' })).slice(-8)).toBe(ids[0]?.slice(-8));
  });
});
