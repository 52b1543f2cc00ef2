/**
 * The golden model-a as the GGUF files the recommended download reads (test fixtures): the
 * transformer in BFL naming (goldenBfl.ts) and the Qwen3 text encoder in llama.cpp naming, 2-D
 * weights as Q8_0 blocks (every golden K is a multiple of 32), the token embedding as BF16 (as
 * llama.cpp's converter writes it), the rest F32. The e2e first-run journey serves them in place of
 * the hub's Q4_K_M files (e2e/ggufFixture.ts).
 */
import { decodeToF32 } from '../util/dtype';
import { type GgufTensorIn, encodeGguf } from '../weights/ggufWrite';
import { openComponent } from '../weights/safetensors';
import { goldenModelSource } from './golden';
import { goldenTransformerAsBfl } from './goldenBfl';

/** Qwen3 per-layer tensor names, transformers → llama.cpp. */
const LLAMA_LAYER: Readonly<Record<string, string>> = {
  input_layernorm: 'attn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output', 'self_attn.q_norm': 'attn_q_norm', 'self_attn.k_norm': 'attn_k_norm',
  post_attention_layernorm: 'ffn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};

/** transformers Qwen3 tensor name → llama.cpp GGUF name. Throws for a name it does not know. */
export function llamaName(n: string): string {
  if (n === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (n === 'model.norm.weight') return 'output_norm.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(n);
  const layer = m ? LLAMA_LAYER[m[2] as string] : undefined;
  if (!m || !layer) throw new Error(`no llama.cpp name for ${n}`);
  return `blk.${m[1]}.${layer}.weight`;
}

const q8IfFits = (shape: readonly number[]): 'Q8_0' | 'F32' => (shape.length === 2 && (shape[1] as number) % 32 === 0 ? 'Q8_0' : 'F32');

/** { 'flux.gguf', 'qwen3.gguf' } of the golden model-a. */
export async function goldenGgufFiles(): Promise<{ transformer: Uint8Array; textEncoder: Uint8Array }> {
  const { bfl } = await goldenTransformerAsBfl();
  const transformer = encodeGguf(
    { 'general.architecture': 'flux' },
    [...bfl].map(([name, t]) => ({ name, shape: t.shape, data: t.data, type: q8IfFits(t.shape) })),
  );
  const ckpt = await openComponent(goldenModelSource(), 'text_encoder');
  const tensors: GgufTensorIn[] = [];
  for (const [name, info] of ckpt.tensors) {
    const data = decodeToF32(await ckpt.read(name), 'bf16');
    tensors.push({ name: llamaName(name), shape: info.shape, data, type: name === 'model.embed_tokens.weight' ? 'BF16' : q8IfFits(info.shape) });
  }
  return { transformer, textEncoder: encodeGguf({ 'general.architecture': 'qwen3' }, tensors) };
}
