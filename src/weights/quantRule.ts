/**
 * Which storage format each weight of a quantized model gets: the one rule shared by the pack
 * planner (convert.ts `targetDtype`, so also the catalog's pack sizes), quantize-on-load (load.ts
 * `WeightLoader`, Pipeline.load's `quant`), and the weights of plans and benchmarks
 * (planWeights.ts `uniformFormats`, randomWeights.ts).
 *
 * - Only 2-D weights of the text encoder and the transformer are quantized (linear layers and the
 *   token embedding, whose rows are gathered on the host); 1-D norms and biases and the whole VAE
 *   keep their dtype.
 * - In a q4 model the transformer's sensitive weights stay at 8 bits (q8, +0.47 B per weight):
 *   the input embedders `x_embedder` and `time_guidance_embed.*` (every image token, and the
 *   timestep, enters through them), the modulation projections `double_stream_modulation_img`,
 *   `double_stream_modulation_txt` and `single_stream_modulation` (their shifts, scales and gates
 *   modulate every block, so one rounding error moves all tokens of every layer alike instead of
 *   averaging out), and the final layer `norm_out.linear` and `proj_out` (their error lands in the
 *   velocity unattenuated, at every step). In FLUX.2 [klein] 4B they are 171.4 M of the
 *   transformer's 3.876 G linear weights (4.4 %; the modulations 169.9 M of them): its q4 pack grows
 *   from 4,099,981,568 to 4,180,345,088 B (3.82 → 3.89 GiB; catalog/choices.ts `packLayoutBytes`).
 *   `context_embedder` (7680 → 3072, 23.6 M) stays q4: at q8 it would add 11 MB and put the plan's
 *   peaks over the GPU budget (4.500 GiB at 1024², 5.002 at 2048²; src/pipeline/planBudget.test.ts),
 *   and the golden cosines do not move without it (t2i-64 final latents 0.99785 with, 0.99782 without).
 *   city96's GGUF quantizer for FLUX (ComfyUI-GGUF tools/lcpp.patch) likewise keeps the embedders
 *   (img_in, txt_in, time_in, …) and final_layer in f16/f32; FLUX.2 shares one modulation per
 *   stream across all blocks, which makes those few matrices as sensitive. Measured on the golden
 *   tiny model, t2i-64 through quantize-on-load, cosine of the final latents vs float32: every 2-D
 *   weight q4 0.9908 with min/max group ranges, 0.9935 with util/quant.ts's error-minimising ranges;
 *   this rule with min/max ranges 0.9959, with both 0.9978 (src/pipeline/quantized.test.ts).
 * - Everything else in a q4 model is q4, in a q8 model q8.
 *
 * Names are the diffusers names inside the component (GGUF / BFL-named sources are renamed to them
 * before this rule sees them: bflNames.ts).
 */
import type { QuantFormat } from '../util/dtype';
import type { Component } from './sourceTensor';

/** Transformer weights kept at q8 in a q4 model (diffusers names; see the file comment). */
const Q4_SENSITIVE_TRANSFORMER = /^(x_embedder|time_guidance_embed|double_stream_modulation_img|double_stream_modulation_txt|single_stream_modulation|norm_out|proj_out)\./;

/** Whether `name` of `component` is one of the weights a q4 model keeps at q8. */
export function isQ4Sensitive(component: Component, name: string): boolean {
  return component === 'transformer' && Q4_SENSITIVE_TRANSFORMER.test(name);
}

/**
 * The quantized format of weight `name` [shape] of `component` in a model quantized to `quant`, or
 * null when it keeps its own dtype (not 2-D, or in the VAE). q4 → q8 for `isQ4Sensitive` weights.
 */
export function quantFormatFor(component: Component, name: string, shape: readonly number[], quant: QuantFormat): QuantFormat | null {
  if (component === 'vae' || shape.length !== 2) return null;
  return quant === 'q4' && isQ4Sensitive(component, name) ? 'q8' : quant;
}
