/**
 * The per-tensor format rule on the real FLUX.2 [klein] 4B tensor list (bench/configs): which
 * weights a q4 model keeps at q8, that every name the rule lists exists (a renamed tensor would
 * silently drop to q4), and what stays unquantized.
 */
import { describe, expect, it } from 'vitest';
import { tensorList } from '../model/tensorList';
import { kleinConfigs } from '../catalog/choices';
import { isQ4Sensitive, quantFormatFor } from './quantRule';

describe('quantFormatFor (klein 4B tensor list)', async () => {
  const specs = await tensorList(kleinConfigs());

  it('q4 keeps exactly the embedders, the shared modulations and the final layer at q8', () => {
    const q8 = specs.filter((s) => quantFormatFor(s.component, s.name, s.shape, 'q4') === 'q8').map((s) => `${s.name} ${s.shape.join('x')}`);
    expect(q8).toEqual([
      'x_embedder.weight 3072x128',
      'time_guidance_embed.timestep_embedder.linear_1.weight 3072x256',
      'time_guidance_embed.timestep_embedder.linear_2.weight 3072x3072',
      'double_stream_modulation_img.linear.weight 18432x3072',
      'double_stream_modulation_txt.linear.weight 18432x3072',
      'single_stream_modulation.linear.weight 9216x3072',
      'norm_out.linear.weight 6144x3072',
      'proj_out.weight 128x3072',
    ]);
    expect(quantFormatFor('transformer', 'context_embedder.weight', [3072, 7680], 'q4')).toBe('q4'); // the budget (quantRule.ts)
    expect(specs.filter((s) => isQ4Sensitive(s.component, s.name)).every((s) => s.component === 'transformer' && s.shape.length === 2)).toBe(true);
  });

  it('every other 2-D weight of the text encoder and transformer is q4 (q8 in a q8 model); 1-D and VAE tensors are not quantized', () => {
    for (const s of specs) {
      const q4 = quantFormatFor(s.component, s.name, s.shape, 'q4');
      const q8 = quantFormatFor(s.component, s.name, s.shape, 'q8');
      if (s.component === 'vae' || s.shape.length !== 2) {
        expect([q4, q8], s.name).toEqual([null, null]);
      } else {
        expect([q4, q8], s.name).toEqual([isQ4Sensitive(s.component, s.name) ? 'q8' : 'q4', 'q8']);
      }
    }
    // block weights whose names contain a rule word elsewhere stay q4
    expect(quantFormatFor('transformer', 'transformer_blocks.0.norm1.linear.weight', [6, 3], 'q4')).toBe('q4');
    expect(quantFormatFor('text_encoder', 'proj_out.weight', [6, 3], 'q4')).toBe('q4');
  });
});
