/**
 * The pipeline's prompt encodings: tokens and Qwen3 context of the last request's prompt (and, with
 * CFG, its negative prompt), kept so that a batch, a new seed or a new size with the same texts skips
 * the text encoder (and, in low-memory mode, reading its weights).
 */
import { TEXT_SEQ_LEN, type Qwen3Config } from '../model/config';
import { type Qwen3Weights, qwen3PromptEmbeds } from '../model/qwen3';
import type { PromptTokenizer } from '../model/tokenizer';
import type { Ops } from '../ops/ops';

/** A prompt's token ids and mask [512] and its context [512, 3·hidden] (Qwen3 hidden states 9/18/27). */
export interface EncodedPrompt<T> {
  prompt: string;
  tokens: { inputIds: Int32Array; attentionMask: Int32Array };
  embeds: T;
}

export class PromptCache<T> {
  /** The last request's encodings; owned here. */
  private entries: EncodedPrompt<T>[] = [];

  constructor(
    private readonly ops: Ops<T>,
    private readonly tokenizer: PromptTokenizer,
    private readonly cfg: Qwen3Config,
  ) {}

  /**
   * The encodings of `texts` (qwen3PromptEmbeds), in order. Afterwards only these are kept: the
   * others are freed. `weights` reads the text encoder, once, when some text must be encoded;
   * `done` is called after the encoder ran (low-memory mode frees its weights there).
   */
  async encode(texts: readonly string[], weights: () => Promise<Qwen3Weights<T>>, done: () => void): Promise<EncodedPrompt<T>[]> {
    const missing = texts.filter((t, i) => texts.indexOf(t) === i && !this.entries.some((e) => e.prompt === t));
    if (missing.length > 0) {
      try {
        const w = await weights();
        for (const prompt of missing) {
          const tokens = this.tokenizer.encode(prompt, TEXT_SEQ_LEN);
          const embeds = await qwen3PromptEmbeds(this.ops, w, this.cfg, tokens.inputIds, tokens.attentionMask);
          this.entries.push({ prompt, tokens, embeds });
        }
      } finally {
        done();
      }
    }
    const keep = this.entries.filter((e) => texts.includes(e.prompt));
    for (const e of this.entries) if (!keep.includes(e)) this.ops.release(e.embeds);
    this.entries = keep;
    return texts.map((t) => keep.find((e) => e.prompt === t) as EncodedPrompt<T>);
  }

  /** Frees every kept context. */
  dispose(): void {
    for (const e of this.entries) this.ops.release(e.embeds);
    this.entries = [];
  }
}
