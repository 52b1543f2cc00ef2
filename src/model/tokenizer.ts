/**
 * Qwen3 prompt tokenizer for the FLUX.2 [klein] text encoder (flux2-klein.md §3.2–3.3), built on
 * `@huggingface/tokenizers` (byte-level BPE from tokenizer.json, special tokens split out first,
 * NFC normalization) and `@huggingface/jinja` (the checkpoint's own chat template).
 *
 * The template is rendered as transformers' `apply_chat_template(messages, tokenize=False,
 * add_generation_prompt=True, enable_thinking=False)` with one user message and no system prompt
 * (diffusers `Flux2KleinPipeline._get_qwen3_prompt_embeds`), which gives exactly
 *
 *   "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
 *
 * tokenized as one string: [151644, 872, 198, P…, 151645, 198, 151644, 77091, 198, 151667, 271,
 * 151668, 271] — 12 template ids around the prompt's ids P; the empty prompt is exactly those 12.
 * Then `padding="max_length", truncation=True, max_length=512`: right-pad with the pad token
 * (`<|endoftext|>` = 151643) or keep the first 512 ids, so a prompt over 500 tokens loses the
 * template tail (kept for parity with the reference).
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidInput } from '../errors';
import type { FileSource } from '../weights/source';

/** Text-encoder sequence length L (diffusers `max_sequence_length=512`). */
export const MAX_TEXT_TOKENS = 512;

const TOKENIZER_JSON = 'tokenizer/tokenizer.json';
const TOKENIZER_CONFIG = 'tokenizer/tokenizer_config.json';

export interface EncodedPrompt {
  /** [maxLength] token ids, right-padded with the pad id. */
  inputIds: Int32Array;
  /** [maxLength] 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Real (unpadded) tokens kept, ≤ maxLength. */
  numTokens: number;
  /** True when the templated prompt had more than maxLength ids (the tail was dropped). */
  truncated: boolean;
  /** The chat-templated string that was tokenized. */
  templated: string;
}

export interface PromptTokenizer {
  /** Pad id (from tokenizer_config `pad_token`, looked up in the vocabulary). */
  readonly padId: number;
  /** Chat-templates, tokenizes, pads/truncates to `maxLength` (default 512). */
  encode(prompt: string, maxLength?: number): EncodedPrompt;
}

interface TokenizerConfigJson {
  chat_template?: unknown;
  pad_token?: string | { content: string } | null;
  [key: string]: unknown;
}

/** Builds a PromptTokenizer from already-parsed tokenizer.json / tokenizer_config.json. */
export function createTokenizer(tokenizerJson: object, config: TokenizerConfigJson, where = 'tokenizer'): PromptTokenizer {
  if (typeof config.chat_template !== 'string') {
    throw new InvalidInput(`${where}/${TOKENIZER_CONFIG}: chat_template missing or not a single string`);
  }
  const padToken = typeof config.pad_token === 'string' ? config.pad_token : config.pad_token?.content;
  if (padToken === undefined) throw new InvalidInput(`${where}/${TOKENIZER_CONFIG}: no pad_token`);
  const tokenizer = new Tokenizer(tokenizerJson, config);
  const padId = tokenizer.token_to_id(padToken);
  if (padId === undefined) throw new InvalidInput(`${where}: pad_token ${padToken} is not in the vocabulary`);
  const template = new Template(config.chat_template);

  return {
    padId,
    encode(prompt: string, maxLength = MAX_TEXT_TOKENS): EncodedPrompt {
      if (!(Number.isSafeInteger(maxLength) && maxLength > 0)) {
        throw new InvalidInput(`tokenizer: maxLength must be a positive integer, got ${maxLength}`);
      }
      const templated = template.render({
        messages: [{ role: 'user', content: prompt }],
        add_generation_prompt: true,
        enable_thinking: false,
      });
      const ids = tokenizer.encode(templated).ids;
      const numTokens = Math.min(ids.length, maxLength);
      const inputIds = new Int32Array(maxLength).fill(padId);
      inputIds.set(ids.slice(0, numTokens));
      const attentionMask = new Int32Array(maxLength);
      attentionMask.fill(1, 0, numTokens);
      return { inputIds, attentionMask, numTokens, truncated: ids.length > maxLength, templated };
    },
  };
}

/** Loads `tokenizer/tokenizer.json` (≈ 11 MB) and `tokenizer/tokenizer_config.json` from a model. */
export async function loadTokenizer(src: FileSource): Promise<PromptTokenizer> {
  const [json, config] = await Promise.all([src.json<object>(TOKENIZER_JSON), src.json<TokenizerConfigJson>(TOKENIZER_CONFIG)]);
  return createTokenizer(json, config, src.id);
}
