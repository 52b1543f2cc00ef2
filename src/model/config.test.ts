/** Config parsing: the real klein 4B configs (bench/configs) and the tiny golden ones, plus errors. */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { folderSource } from '../weights/folderSource';
import { goldenModelSource } from '../testing/golden';
import { readConfigs, hiddenSize, mlpHidden, parseTransformerConfig } from './config';
import { LAYERS_NEEDED } from './qwen3';

const KLEIN = fileURLToPath(new URL('../../bench/configs/flux2-klein-4b/', import.meta.url));

describe('model configs', () => {
  it('real klein 4B: D 3072 = 24×128, M 9216, context 7680 = 3×2560, Qwen3 27 of 36 layers', async () => {
    const c = await readConfigs(folderSource(KLEIN));
    expect(hiddenSize(c.transformer)).toBe(3072);
    expect(mlpHidden(c.transformer)).toBe(9216);
    expect(c.transformer.joint_attention_dim).toBe(7680);
    expect(c.textEncoder.head_dim).toBe(128);
    expect(c.textEncoder.num_hidden_layers).toBe(36);
    expect(LAYERS_NEEDED).toBe(27);
    expect(c.vae.block_out_channels).toEqual([128, 256, 512, 512]);
  });

  it('tiny golden model: D 128 = 2×64, context 192', async () => {
    const c = await readConfigs(goldenModelSource());
    expect(hiddenSize(c.transformer)).toBe(128);
    expect(c.transformer.joint_attention_dim).toBe(3 * c.textEncoder.hidden_size);
  });

  it('errors name the file and the field', () => {
    expect(() => parseTransformerConfig({ in_channels: 128 })).toThrow('transformer/config.json: missing field "num_layers"');
    const base = { in_channels: 128, num_layers: 1, num_single_layers: 1, attention_head_dim: 64, num_attention_heads: 2, joint_attention_dim: 192, mlp_ratio: 3, rope_theta: 2000, eps: 1e-6, timestep_guidance_channels: 256 };
    expect(() => parseTransformerConfig({ ...base, axes_dims_rope: [16, 16, 16] })).toThrow('axes_dims_rope sum 48 ≠ attention_head_dim 64');
  });
});
