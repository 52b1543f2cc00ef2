import { describe, expect, it } from 'vitest';
import { type RowSource, flux2Plans, planTensor, renamePlan, stripPrefix } from './bflNames';

/** BFL names of a FLUX.2 transformer with `nd` double and `ns` single blocks, D = 4 (rows as in klein: qkv 3D, mlp 6D, …). */
function bflRows(nd: number, ns: number, d = 4): Map<string, number> {
  const m = new Map<string, number>([
    ['img_in.weight', d], ['txt_in.weight', d], ['time_in.in_layer.weight', d], ['time_in.out_layer.weight', d],
    ['double_stream_modulation_img.lin.weight', 6 * d], ['double_stream_modulation_txt.lin.weight', 6 * d],
    ['single_stream_modulation.lin.weight', 3 * d], ['final_layer.adaLN_modulation.1.weight', 2 * d], ['final_layer.linear.weight', 8],
  ]);
  for (let i = 0; i < nd; i++) {
    for (const s of ['img', 'txt']) {
      m.set(`double_blocks.${i}.${s}_attn.qkv.weight`, 3 * d);
      m.set(`double_blocks.${i}.${s}_attn.norm.query_norm.scale`, 1);
      m.set(`double_blocks.${i}.${s}_attn.norm.key_norm.scale`, 1);
      m.set(`double_blocks.${i}.${s}_attn.proj.weight`, d);
      m.set(`double_blocks.${i}.${s}_mlp.0.weight`, 6 * d);
      m.set(`double_blocks.${i}.${s}_mlp.2.weight`, d);
    }
  }
  for (let j = 0; j < ns; j++) {
    m.set(`single_blocks.${j}.linear1.weight`, 9 * d);
    m.set(`single_blocks.${j}.linear2.weight`, d);
    m.set(`single_blocks.${j}.norm.query_norm.scale`, 1);
    m.set(`single_blocks.${j}.norm.key_norm.scale`, 1);
  }
  return m;
}

describe('flux2Plans (diffusers scripts/convert_flux2_to_diffusers.py mapping)', () => {
  it('klein shape: 5 double + 20 single blocks → 9 + 16·5 + 4·20 = 169 diffusers tensors', () => {
    const plans = flux2Plans(bflRows(5, 20), 'f');
    expect(plans.length).toBe(169);
    expect(new Set(plans.map((p) => p.name)).size).toBe(169);
  });

  it('splits fused qkv into row thirds and swaps the final AdaLN halves', () => {
    const byName = new Map(flux2Plans(bflRows(1, 1), 'f').map((p) => [p.name, p]));
    expect(byName.get('transformer_blocks.0.attn.to_q.weight')).toEqual({ name: 'transformer_blocks.0.attn.to_q.weight', source: 'double_blocks.0.img_attn.qkv.weight', ranges: [{ start: 0, count: 4 }] });
    expect(byName.get('transformer_blocks.0.attn.to_k.weight')?.ranges).toEqual([{ start: 4, count: 4 }]);
    expect(byName.get('transformer_blocks.0.attn.add_v_proj.weight')).toMatchObject({ source: 'double_blocks.0.txt_attn.qkv.weight', ranges: [{ start: 8, count: 4 }] });
    // BFL (shift; scale) → diffusers (scale; shift)
    expect(byName.get('norm_out.linear.weight')).toEqual({ name: 'norm_out.linear.weight', source: 'final_layer.adaLN_modulation.1.weight', ranges: [{ start: 4, count: 4 }, { start: 0, count: 4 }] });
  });

  it('renames the rest one to one (RMSNorm .scale → .weight)', () => {
    const src = new Map(flux2Plans(bflRows(1, 1), 'f').map((p) => [p.name, p.source]));
    expect(Object.fromEntries([...src].filter(([n]) => !/to_[qkv]\.|add_[qkv]_proj|norm_out/.test(n)))).toEqual({
      'x_embedder.weight': 'img_in.weight',
      'context_embedder.weight': 'txt_in.weight',
      'time_guidance_embed.timestep_embedder.linear_1.weight': 'time_in.in_layer.weight',
      'time_guidance_embed.timestep_embedder.linear_2.weight': 'time_in.out_layer.weight',
      'double_stream_modulation_img.linear.weight': 'double_stream_modulation_img.lin.weight',
      'double_stream_modulation_txt.linear.weight': 'double_stream_modulation_txt.lin.weight',
      'single_stream_modulation.linear.weight': 'single_stream_modulation.lin.weight',
      'proj_out.weight': 'final_layer.linear.weight',
      'transformer_blocks.0.attn.norm_q.weight': 'double_blocks.0.img_attn.norm.query_norm.scale',
      'transformer_blocks.0.attn.norm_k.weight': 'double_blocks.0.img_attn.norm.key_norm.scale',
      'transformer_blocks.0.attn.to_out.0.weight': 'double_blocks.0.img_attn.proj.weight',
      'transformer_blocks.0.ff.linear_in.weight': 'double_blocks.0.img_mlp.0.weight',
      'transformer_blocks.0.ff.linear_out.weight': 'double_blocks.0.img_mlp.2.weight',
      'transformer_blocks.0.attn.norm_added_q.weight': 'double_blocks.0.txt_attn.norm.query_norm.scale',
      'transformer_blocks.0.attn.norm_added_k.weight': 'double_blocks.0.txt_attn.norm.key_norm.scale',
      'transformer_blocks.0.attn.to_add_out.weight': 'double_blocks.0.txt_attn.proj.weight',
      'transformer_blocks.0.ff_context.linear_in.weight': 'double_blocks.0.txt_mlp.0.weight',
      'transformer_blocks.0.ff_context.linear_out.weight': 'double_blocks.0.txt_mlp.2.weight',
      'single_transformer_blocks.0.attn.to_qkv_mlp_proj.weight': 'single_blocks.0.linear1.weight',
      'single_transformer_blocks.0.attn.to_out.weight': 'single_blocks.0.linear2.weight',
      'single_transformer_blocks.0.attn.norm_q.weight': 'single_blocks.0.norm.query_norm.scale',
      'single_transformer_blocks.0.attn.norm_k.weight': 'single_blocks.0.norm.key_norm.scale',
    });
  });

  it('lists missing and unexpected tensors; refuses a qkv that does not split in three', () => {
    const rows = bflRows(2, 1);
    rows.delete('double_blocks.1.txt_mlp.2.weight');
    rows.set('double_blocks.0.img_attn.qkv.bias', 12);
    expect(() => flux2Plans(rows, 'x.gguf')).toThrow(
      'x.gguf: not a FLUX.2 transformer in BFL naming (2 double and 1 single blocks found); missing 1 tensors: double_blocks.1.txt_mlp.2.weight; unexpected tensors: double_blocks.0.img_attn.qkv.bias',
    );
    expect(() => flux2Plans(new Map([['txt_in.weight', 3]]), 'y')).toThrow(/y: not a FLUX\.2 transformer in BFL naming \(0 double and 0 single/);
    const odd = bflRows(1, 1);
    odd.set('double_blocks.0.img_attn.qkv.weight', 10);
    expect(() => flux2Plans(odd, 'z')).toThrow('weight double_blocks.0.img_attn.qkv.weight: expected rows divisible by 3 (fused q, k, v), got 10');
  });

  it('strips the ComfyUI / stable-diffusion.cpp prefixes only', () => {
    expect(stripPrefix('model.diffusion_model.img_in.weight')).toBe('img_in.weight');
    expect(stripPrefix('diffusion_model.txt_in.weight')).toBe('txt_in.weight');
    expect(stripPrefix('model.layers.0.mlp.up_proj.weight')).toBe('model.layers.0.mlp.up_proj.weight');
  });
});

/** An f32 source of `rows` × 2 values where row r holds (r, −r), at byte 100 of file `f`. */
function rowSource(rows: number): RowSource {
  return {
    name: 'src',
    shape: [rows, 2],
    sourceDtype: 'F32',
    plainDtype: 'f32',
    file: 'f',
    start: 100,
    rowByteLength: 8,
    decodeRows: (bytes, row0, n) => {
      expect(bytes.length).toBe(8 * n);
      return Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? -1 : 1) * (row0 + (i >> 1)));
    },
  };
}
const bytesOf = (r: { start: number; end: number }): Uint8Array => new Uint8Array(r.end - r.start);

describe('planTensor', () => {
  it('a row range of the source: rowBytes offsets by the range start, plain-copyable', () => {
    const t = planTensor({ name: 'k', source: 'src', ranges: [{ start: 4, count: 4 }] }, rowSource(12));
    expect(t.shape).toEqual([4, 2]);
    expect(t.plainDtype).toBe('f32');
    expect(t.rowBytes(1, 3)).toEqual({ file: 'f', start: 100 + 5 * 8, end: 100 + 7 * 8 });
    expect([...t.decode(bytesOf(t.rowBytes(1, 3)), 1, 3)]).toEqual([5, -5, 6, -6]);
  });

  it('swapped halves: the covering range spans both pieces, decode puts rows in plan order', () => {
    const t = planTensor({ name: 'n', source: 'src', ranges: [{ start: 3, count: 3 }, { start: 0, count: 3 }] }, rowSource(6));
    expect(t.plainDtype).toBeNull();
    expect(t.rowBytes(0, 3)).toEqual({ file: 'f', start: 124, end: 148 });
    expect(t.rowBytes(2, 4)).toEqual({ file: 'f', start: 100, end: 148 }); // rows 5 and 0
    expect([...t.decode(bytesOf(t.rowBytes(2, 4)), 2, 4)]).toEqual([5, -5, 0, -0]);
    expect([...t.decode(bytesOf(t.rowBytes(0, 6)), 0, 6)].filter((_, i) => i % 2 === 0)).toEqual([3, 4, 5, 0, 1, 2]);
  });

  it('1-D sources are one row; wrong byte counts and row ranges are refused', () => {
    const norm: RowSource = { ...rowSource(1), shape: [2] };
    const t = planTensor(renamePlan('w', 'src', 1), norm);
    expect(t.shape).toEqual([2]);
    expect(t.rowBytes(0, 1)).toEqual({ file: 'f', start: 100, end: 108 });
    const k = planTensor({ name: 'k', source: 'src', ranges: [{ start: 0, count: 2 }] }, rowSource(4));
    expect(() => k.decode(new Uint8Array(7), 0, 1)).toThrow('weight k: expected 8 bytes for rows [0, 1), got 7');
    expect(() => k.rowBytes(1, 3)).toThrow('k: invalid rows [1, 3) of 2');
    expect(() => planTensor({ name: 'x', source: 'src', ranges: [{ start: 3, count: 2 }] }, rowSource(4))).toThrow(/weight x: expected rows/);
  });
});
