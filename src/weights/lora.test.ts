import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenSize, parseTransformerConfig } from '../model/config';
import { tensorList } from '../model/tensorList';
import { goldenConfigs, GOLDEN_DIR } from '../testing/golden';
import { decodeToF32, f32ToBf16, f32ToF16 } from '../util/dtype';
import { flux2Plans } from './bflNames';
import { type LoraLayer, type ParsedLora, parseLora } from './lora';
import { bflLoraModules, bflLoraTargets } from './loraNames';
import { dtypeOf, parseSafetensors, parseSafetensorsHeader } from './safetensors';
import { encodeSafetensors } from './safetensorsWrite';
import { type F32Tensor, diffusersModules, loraDeltas, loraFile, lora0Bytes, lora0Tensors, toKohya, toPeft } from '../testing/loraFiles';

const LORA0 = 'lora0.safetensors';
const aitkBytes = lora0Bytes();
const modelDir = join(GOLDEN_DIR, 'model-a/transformer');
const cfg = parseTransformerConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>);
const D = hiddenSize(cfg); // 128
const shapes = new Map(
  [...parseSafetensorsHeader(readFileSync(join(modelDir, 'diffusion_pytorch_model.safetensors')))].map(([n, t]) => [n, t.shape]),
);
const expected = (w: string): readonly number[] | undefined => shapes.get(w);

/**
 * ΔW of formats holding the same bf16 values: exact products, except the f16 copy, whose
 * bf16 → f16 rounding changes only values below f16's normal range (|x| < 6.1e-5, error ≤ 3e-8).
 * Observed worst error: 0 for the kohya (F32) and PEFT (BF16, F32) copies, 8.0e-8 for the F16 copy.
 */
const DELTA_RTOL = 1e-6;


const file = loraFile;
const raw = lora0Tensors();
const deltas = loraDeltas;

/** The worst |ΔW − ΔW_ref| over every weight, relative to max |ΔW_ref|; throws when the weight sets differ. */
function deltaError(got: ParsedLora, ref: ParsedLora): number {
  const g = deltas(got);
  const r = deltas(ref);
  expect([...g.keys()].sort()).toEqual([...r.keys()].sort());
  let worst = 0;
  for (const [w, want] of r) {
    const have = g.get(w) as Float64Array;
    const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((have[i] as number) - (want[i] as number)) / scale);
  }
  return worst;
}

const layer = (p: ParsedLora, target: string): LoraLayer => p.layers.find((l) => l.target === target) as LoraLayer;
const aitk = parseLora(aitkBytes, LORA0, expected);

describe('parseLora on the golden lora-aitk case', () => {
  it('reads the file against the weights the model code loads', async () => {
    const specs = (await tensorList(await goldenConfigs())).filter((s) => s.component === 'transformer');
    for (const s of specs) expect(shapes.get(s.name), s.name).toEqual(s.shape);
    expect(expected('transformer_blocks.0.attn.to_q.weight')).toEqual([D, D]);
    expect(aitk.format).toBe('ai-toolkit');
    expect(aitk.rank).toBe(4);
    // 23 modules: 2 qkv per double block become 3 layers each → 23 + 2·2·2 = 31
    expect(aitk.layers).toHaveLength(31);
    expect(aitk.layers.every((l) => l.scale === 1 && l.rank === 4)).toBe(true);
    for (const l of aitk.layers) expect([l.outFeatures, l.inFeatures], l.target).toEqual(expected(l.target));
  });

  it('gives q, k, v of a fused qkv the same A and B in row thirds', () => {
    const a = raw.get('diffusion_model.double_blocks.1.txt_attn.qkv.lora_A.weight') as F32Tensor;
    const b = raw.get('diffusion_model.double_blocks.1.txt_attn.qkv.lora_B.weight') as F32Tensor;
    ['add_q_proj', 'add_k_proj', 'add_v_proj'].forEach((m, i) => {
      const l = layer(aitk, `transformer_blocks.1.attn.${m}.weight`);
      expect(l.a).toEqual(a.data);
      expect(l.b).toEqual(b.data.subarray(i * D * 4, (i + 1) * D * 4));
    });
    expect(aitk.bytes).toBe(aitk.layers.reduce((n, l) => n + l.b.byteLength, 0) + [...raw].filter(([k]) => k.includes('lora_A')).reduce((n, [, t]) => n + t.data.byteLength, 0));
  });

  it('gives the same ΔW per weight from kohya and PEFT copies', () => {
    const kohya = parseLora(toKohya(8), 'kohya', expected);
    expect(kohya.format).toBe('kohya');
    expect(kohya.layers.every((l) => l.scale === 2)).toBe(true);
    expect(deltaError(kohya, aitk)).toBeLessThanOrEqual(DELTA_RTOL);

    // diffusers metadata: lora_alpha 2 (scale ½), proj_out alpha 8 (scale 2) by alpha_pattern
    const meta = { format: 'pt', lora_adapter_metadata: JSON.stringify({ 'transformer.r': 4, 'transformer.lora_alpha': 2, 'transformer.alpha_pattern': { proj_out: 8 } }) };
    const peftMeta = parseLora(toPeft('transformer.', (m) => (m === 'proj_out' ? 0.5 : 2), 'BF16', meta), 'peft', expected);
    expect(peftMeta.format).toBe('peft');
    expect(layer(peftMeta, 'proj_out.weight').scale).toBe(2);
    expect(deltaError(peftMeta, aitk)).toBeLessThanOrEqual(DELTA_RTOL);

    const peftBare = parseLora(toPeft('', () => 1, 'F16'), 'peft bare', expected);
    expect(peftBare.layers.every((l) => l.scale === 1)).toBe(true);
    expect(deltaError(peftBare, aitk)).toBeLessThanOrEqual(DELTA_RTOL);

    const peftTop = parseLora(toPeft('transformer.', () => 0.5, 'F32', { lora_alpha: '8' }), 'peft top', expected);
    expect(deltaError(peftTop, aitk)).toBeLessThanOrEqual(DELTA_RTOL);
  });

  it('notices a lost alpha (the comparison can fail)', () => {
    const noAlpha = new Map([...parseSafetensors(toKohya(8))].filter(([k]) => !k.endsWith('.alpha')));
    const bytes = encodeSafetensors(Object.fromEntries([...noAlpha].map(([k, t]) => [k, { dtype: 'F32', shape: t.info.shape, data: decodeToF32(t.bytes, 'f32') }])));
    expect(deltaError(parseLora(bytes, 'kohya', expected), aitk)).toBeCloseTo(0.5, 6);
  });
});

describe('LoRA module names', () => {
  it('agree with the checkpoint converter (bflNames.flux2Plans) row for row', () => {
    const R = 6; // rows of every linear: divisible by 2 (adaLN halves) and 3 (qkv thirds)
    const rows = new Map(bflLoraModules(cfg.num_layers, cfg.num_single_layers).map((m) => [`${m}.weight`, R]));
    for (let i = 0; i < cfg.num_layers; i++) for (const s of ['img_attn', 'txt_attn']) for (const n of ['query', 'key']) rows.set(`double_blocks.${i}.${s}.norm.${n}_norm.scale`, 1);
    for (let j = 0; j < cfg.num_single_layers; j++) for (const n of ['query', 'key']) rows.set(`single_blocks.${j}.norm.${n}_norm.scale`, 1);
    const plans = flux2Plans(rows, 'bfl');
    for (const m of bflLoraModules(cfg.num_layers, cfg.num_single_layers)) {
      const want = plans.filter((p) => p.source === `${m}.weight`).map((p) => ({ name: p.name, ranges: p.ranges }));
      const got = (bflLoraTargets(m) ?? []).map((t) => ({ name: t.weight, ranges: t.take.map((k) => ({ start: (k * R) / t.of, count: R / t.of })) }));
      expect(got, m).toEqual(want);
    }
  });

  it('swap the final adaLN halves of BFL B but not of a diffusers norm_out B', () => {
    const b = Float32Array.from({ length: 2 * D * 4 }, (_, i) => i);
    const a = { shape: [4, D], data: new Float32Array(4 * D).fill(1) };
    const bfl = parseLora(file({ 'diffusion_model.final_layer.adaLN_modulation.1.lora_A.weight': a, 'diffusion_model.final_layer.adaLN_modulation.1.lora_B.weight': { shape: [2 * D, 4], data: b } }, 'F32'), 'ada', expected);
    expect(layer(bfl, 'norm_out.linear.weight').b).toEqual(Float32Array.from([...b.subarray(D * 4), ...b.subarray(0, D * 4)]));
    const dif = parseLora(file({ 'transformer.norm_out.linear.lora_A.weight': a, 'transformer.norm_out.linear.lora_B.weight': { shape: [2 * D, 4], data: b } }, 'F32'), 'ada', expected);
    expect(layer(dif, 'norm_out.linear.weight').b).toEqual(b);
  });
});

describe('PEFT metadata', () => {
  const ab = { 'transformer.proj_out.lora_A.weight': { shape: [4, D], data: new Float32Array(4 * D) }, 'transformer.proj_out.lora_B.weight': { shape: [D, 4], data: new Float32Array(D * 4) } };
  const scaleWith = (cfg: object): number => (parseLora(file(ab, 'F32', { lora_adapter_metadata: JSON.stringify(cfg) }), 'peft', expected).layers[0] as LoraLayer).scale;

  it('reads unprefixed save_lora_adapter configs, rsLoRA and refuses use_dora', () => {
    expect(scaleWith({ r: 4, lora_alpha: 8 })).toBe(2); // 8 / 4
    expect(scaleWith({ r: 4, lora_alpha: 8, use_rslora: true })).toBe(4); // 8 / √4
    expect(scaleWith({ 'transformer.lora_alpha': 1, 'transformer.alpha_pattern': { 'transformer_blocks.0.attn.to_q': 8 } })).toBe(0.25);
    expect(() => scaleWith({ r: 4, lora_alpha: 4, use_dora: true })).toThrow(/DoRA LoRAs \(use_dora\) are not supported/);
  });
});

describe('parseLora errors', () => {
  const aitkWith = (edit: (t: Map<string, F32Tensor>) => void): Uint8Array => {
    const t = new Map(raw);
    edit(t);
    return file(Object.fromEntries(t));
  };
  const lora = (name: string, out: number, inp: number, prefix = 'diffusion_model.'): Record<string, F32Tensor> => ({
    [`${prefix}${name}.lora_A.weight`]: { shape: [4, inp], data: new Float32Array(4 * inp) },
    [`${prefix}${name}.lora_B.weight`]: { shape: [out, 4], data: new Float32Array(out * 4) },
  });
  const fails = (bytes: Uint8Array, re: RegExp) => expect(() => parseLora(bytes, LORA0, expected)).toThrow(re);

  it('refuses a truncated file and a JSON file', () => {
    fails(aitkBytes.subarray(0, aitkBytes.length - 10), /^lora0\.safetensors: not a LoRA \.safetensors file, or truncated/);
    fails(new TextEncoder().encode('{"r": 4, "lora_alpha": 4}'), /^lora0\.safetensors: not a LoRA \.safetensors file, or truncated/);
  });

  it('names keys that match no weight (renamed module, SD or FLUX.1 LoRA, missing block)', () => {
    const renamed = aitkWith((t) => {
      for (const ab of ['A', 'B']) {
        t.set(`diffusion_model.img_inx.lora_${ab}.weight`, t.get(`diffusion_model.img_in.lora_${ab}.weight`) as F32Tensor);
        t.delete(`diffusion_model.img_in.lora_${ab}.weight`);
      }
    });
    fails(renamed, /1 LoRA modules match no weight of this transformer.*: diffusion_model\.img_inx\.lora_A\.weight$/);
    fails(file({ ...lora('down_blocks_0_attentions_0_proj_in', 320, 320, 'lora_unet_') }), /match no weight.*lora_unet_down_blocks_0_attentions_0_proj_in/);
    fails(file({ ...lora('double_blocks.0.img_mod.lin', 6 * D, D), ...lora('double_blocks.7.img_attn.proj', D, D) }), /2 LoRA modules match no weight.*img_mod.*double_blocks\.7/);
    const many = Object.assign({}, ...[0, 1, 2, 3, 4, 5].map((i) => lora(`double_blocks.${9 + i}.img_attn.proj`, D, D)));
    fails(file(many), /double_blocks\.13\.img_attn\.proj\.lora_A\.weight and 1 more$/);
  });

  it('gives both shapes when A, B do not fit (a LoRA with D = 4096)', () => {
    fails(file(lora('double_blocks.0.img_attn.proj', 4096, 4096)), /do not fit.*lora_A\.weight \[4, 4096\], .*lora_B\.weight \[4096, 4\] vs transformer_blocks\.0\.attn\.to_out\.0\.weight \[128, 128\]/);
  });

  it('refuses text-encoder, DoRA, LoKr and bias tensors by name', () => {
    const te = { ...lora('lora_te1_text_model_encoder_layers_0_self_attn_q_proj', 64, 64, '') };
    fails(file({ ...lora('double_blocks_0_img_attn_proj', D, D, 'lora_unet_'), ...te }), /LoRAs for the text encoder are not supported.*lora_te1_text_model/);
    fails(file({ ...lora('text_encoder.layers.0.q_proj', 64, 64, '') }), /LoRAs for the text encoder are not supported/);
    fails(aitkWith((t) => t.set('diffusion_model.img_in.dora_scale', { shape: [1, D], data: new Float32Array(D) })), /DoRA LoRA tensors are not supported/);
    fails(file({ 'diffusion_model.img_in.lokr_w1': { shape: [2, 2], data: new Float32Array(4) } }), /LoKr LoRA tensors are not supported/);
    fails(aitkWith((t) => t.set('diffusion_model.img_in.lora_B.bias', { shape: [D], data: new Float32Array(D) })), /bias .*not supported/);
  });

  it('names an A without its B, mixed namings and keys that are no LoRA tensor', () => {
    fails(aitkWith((t) => t.delete('diffusion_model.img_in.lora_B.weight')), /diffusion_model\.img_in\.lora_A\.weight without its B/);
    fails(file({ ...lora('img_in', D, D), ...lora('x_embedder', D, D, 'transformer.') }), /mixes LoRA namings/);
    fails(aitkWith((t) => t.set('diffusion_model.img_in.weight', { shape: [D, D], data: new Float32Array(D * D) })), /not LoRA tensors.*diffusion_model\.img_in\.weight/);
    fails(file({ ...lora('img_in', D, D), ...lora('x_embedder', D, D) }), /two LoRA modules change x_embedder\.weight: diffusion_model\.img_in, diffusion_model\.x_embedder/);
  });
});
