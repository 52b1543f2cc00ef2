/** What a saved image tells others about the model: no credentials or signed-URL query (privacy). */
import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import type { Output } from '../useGenerator';
import { entryFromOutput, outputPng } from './save';

const SIGNED = 'https://user:secret@models.example.com/klein/q4?X-Amz-Signature=abc123&token=hf_xyz#part';

function output(model: string, extra: Partial<Output['req']> = {}): Output {
  const rgba = Uint8ClampedArray.from([255, 0, 0, 255, 0, 128, 255, 255]);
  const timings = { encodeMs: 1, stepMs: [1], decodeMs: 1, totalMs: 3 };
  return { id: 1, model, req: { prompt: 'a cat', width: 2, height: 1, steps: 4, seed: 7, ...extra }, result: { width: 2, height: 1, seed: 7, rgba, timings } } as unknown as Output;
}

describe('saved images and history entries', () => {
  it('write a URL model source without credentials, query or fragment', async () => {
    expect(entryFromOutput(output(SIGNED)).model).toBe('https://models.example.com/klein/q4');
    const text = decode(new Uint8Array(await outputPng(output(SIGNED)).arrayBuffer())).text;
    expect(text.model).toBe('https://models.example.com/klein/q4');
    expect(text.parameters).toContain('Model: https://models.example.com/klein/q4');
    expect(JSON.stringify(text)).not.toMatch(/secret|Signature|hf_xyz|user/);
  });

  it('keep hub ids and stored models as they are', async () => {
    expect(entryFromOutput(output('black-forest-labs/FLUX.2-klein-4B')).model).toBe('black-forest-labs/FLUX.2-klein-4B');
    const text = decode(new Uint8Array(await outputPng(output('store:abc')).arrayBuffer())).text;
    expect(text.model).toBe('store:abc');
  });

  it('record the guidance scale and negative prompt of a base-model image, and nothing of the kind otherwise', async () => {
    const base = output('store:base', { steps: 50, guidance: 3.5, negativePrompt: 'blurry' });
    expect(entryFromOutput(base)).toMatchObject({ steps: 50, guidance: 3.5, negativePrompt: 'blurry' });
    const text = decode(new Uint8Array(await outputPng(base).arrayBuffer())).text;
    expect([text.guidance, text.negative_prompt]).toEqual(['3.5', 'blurry']);
    const noNegative = entryFromOutput(output('store:base', { guidance: 4, negativePrompt: '' }));
    expect(noNegative.guidance).toBe(4);
    expect('negativePrompt' in noNegative).toBe(false);
    const distilled = entryFromOutput(output('store:abc'));
    expect('guidance' in distilled || 'negativePrompt' in distilled).toBe(false);
  });

  it('record the safety verdict of a checked image (the kiosk shows only checked ones while its checker is on), and none when nothing checked it', () => {
    const checked = { ...output('store:abc'), checked: { model: 'AdamCodd/vit-base-nsfw-detector', scores: { sfw: 0.98, nsfw: 0.02 } } };
    expect(entryFromOutput(checked).safety).toEqual({ model: 'AdamCodd/vit-base-nsfw-detector', scores: { sfw: 0.98, nsfw: 0.02 } });
    expect('safety' in entryFromOutput(output('store:abc'))).toBe(false);
  });
});
