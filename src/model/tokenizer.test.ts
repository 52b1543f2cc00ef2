import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_DIR, goldenModelSource, goldenTensor, loadGoldenCase } from '../testing/golden';
import { loadTokenizer, MAX_TEXT_TOKENS, type PromptTokenizer } from './tokenizer';

interface TokenizerCases {
  max_length: number;
  pad_id: number;
  cases: { prompt: string; templated: string; num_tokens: number; ids: number[]; truncated: boolean }[];
}

/** <|im_start|> user \n … <|im_end|> \n <|im_start|> assistant \n <think> \n\n </think> \n\n */
const TEMPLATE_IDS = [151644, 872, 198, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271];
const PAD_ID = 151643;

let tok: PromptTokenizer;
let golden: TokenizerCases;

beforeAll(async () => {
  tok = await loadTokenizer(goldenModelSource());
  golden = JSON.parse(await readFile(join(GOLDEN_DIR, 'tokenizer_cases.json'), 'utf8')) as TokenizerCases;
});

describe('PromptTokenizer on the real Qwen3 tokenizer files', () => {
  it('reads the pad id from tokenizer_config (<|endoftext|>)', () => {
    expect(tok.padId).toBe(PAD_ID);
    expect(golden.pad_id).toBe(PAD_ID);
    expect(golden.max_length).toBe(MAX_TEXT_TOKENS);
  });

  it('empty prompt → exactly the 12 template tokens', () => {
    const e = tok.encode('');
    expect(e.templated).toBe('<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    expect(e.numTokens).toBe(12);
    expect([...e.inputIds.subarray(0, 12)]).toEqual(TEMPLATE_IDS);
    expect(e.inputIds.subarray(12).every((v) => v === PAD_ID)).toBe(true);
  });

  it('matches all tokenizer_cases.json cases exactly (templated string, ids, padding, mask)', () => {
    expect(golden.cases.length).toBe(14);
    for (const c of golden.cases) {
      const e = tok.encode(c.prompt);
      const what = JSON.stringify(c.prompt.slice(0, 40));
      expect(e.templated, what).toBe(c.templated);
      expect(e.numTokens, what).toBe(c.num_tokens);
      expect(e.truncated, what).toBe(c.truncated);
      expect([...e.inputIds.subarray(0, e.numTokens)], what).toEqual(c.ids);
      expect(e.inputIds.length).toBe(512);
      expect(e.inputIds.subarray(e.numTokens).every((v) => v === PAD_ID), what).toBe(true);
      expect([...e.attentionMask].reduce((a, b) => a + b, 0), what).toBe(c.num_tokens);
      expect(e.attentionMask[c.num_tokens - 1], what).toBe(1);
    }
  });

  it('truncation keeps the first maxLength ids (the long case loses the template tail)', () => {
    const long = golden.cases.find((c) => c.truncated);
    expect(long).toBeDefined();
    const e = tok.encode(long?.prompt ?? '');
    expect(e.inputIds[511]).not.toBe(271); // would be "\n\n" had the tail survived
    const short = tok.encode('A red balloon on a wooden table.', 8);
    expect([...short.inputIds]).toEqual([151644, 872, 198, 32, 2518, 46756, 389, 264]);
    expect(short).toMatchObject({ numTokens: 8, truncated: true });
    expect(() => tok.encode('x', 0)).toThrow(/maxLength must be a positive integer, got 0/);
  });

  it('reproduces the t2i-64 golden input_ids / attention_mask', async () => {
    const { meta, tensors } = await loadGoldenCase('t2i-64');
    const e = tok.encode(meta.prompt);
    const ids = goldenTensor(tensors, 'input_ids');
    const mask = goldenTensor(tensors, 'attention_mask');
    expect(ids.shape).toEqual([1, 512]);
    expect([...e.inputIds].map(BigInt)).toEqual([...ids.data]);
    expect([...e.attentionMask].map(BigInt)).toEqual([...mask.data]);
  });
});
