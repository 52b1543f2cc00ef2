import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { encodePng, pngText, type PngMetadata } from './png';

const META: PngMetadata = { prompt: 'A red balloon on a wooden table.', seed: 1234, width: 2, height: 1, steps: 4, model: 'black-forest-labs/FLUX.2-klein-4B' };
const RGBA = Uint8ClampedArray.from([255, 0, 0, 255, 0, 128, 255, 255]);

/** Every chunk of a PNG as [type, data]. */
function chunks(png: Uint8Array): [string, Uint8Array][] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: [string, Uint8Array][] = [];
  for (let at = 8; at < png.length; ) {
    const len = view.getUint32(at);
    out.push([String.fromCharCode(...png.subarray(at + 4, at + 8)), png.subarray(at + 8, at + 8 + len)]);
    at += 12 + len;
  }
  return out;
}

describe('PNG export', () => {
  it('writes the pixels and one tEXt chunk per parameter that fast-png reads back', () => {
    const png = encodePng(2, 1, RGBA, META);
    const d = decode(png, { checkCrc: true });
    expect([d.width, d.height, d.channels, d.depth]).toEqual([2, 1, 3, 8]);
    expect([...d.data]).toEqual([255, 0, 0, 0, 128, 255]);
    expect(d.text).toEqual({
      Software: 'Kleinbild',
      prompt: META.prompt,
      seed: '1234',
      size: '2x1',
      steps: '4',
      model: META.model,
      parameters: `${META.prompt}\nSteps: 4, Seed: 1234, Size: 2x1, Model: ${META.model}`,
    });
    expect(chunks(png).filter(([t]) => t === 'tEXt')).toHaveLength(7);
  });

  it('records the guidance scale and negative prompt of a base-model image, and leaves them out otherwise', () => {
    const d = decode(encodePng(2, 1, RGBA, { ...META, steps: 50, guidance: 3.5, negativePrompt: 'blurry, text' }), { checkCrc: true });
    expect(d.text.guidance).toBe('3.5');
    expect(d.text.negative_prompt).toBe('blurry, text');
    expect(d.text.parameters).toBe(`${META.prompt}\nNegative prompt: blurry, text\nSteps: 50, Seed: 1234, Size: 2x1, CFG scale: 3.5, Model: ${META.model}`);
    // guidance without a negative prompt (an empty one is not written)
    const g = pngText({ ...META, guidance: 4, negativePrompt: '' });
    expect(g.guidance).toBe('4');
    expect('negative_prompt' in g).toBe(false);
    expect(g.parameters).toBe(`${META.prompt}\nSteps: 4, Seed: 1234, Size: 2x1, CFG scale: 4, Model: ${META.model}`);
    // a distilled model's image: neither key
    expect(Object.keys(pngText(META))).toEqual(['Software', 'prompt', 'seed', 'size', 'steps', 'model', 'parameters']);
    // a non-Latin-1 negative prompt goes in iTXt like the prompt
    const png = encodePng(2, 1, RGBA, { ...META, guidance: 4, negativePrompt: 'kein Text, 文字' });
    expect(decode(png, { checkCrc: true }).text.negative_prompt).toBeUndefined();
    const itxt = chunks(png).filter(([t]) => t === 'iTXt').map(([, data]) => new TextDecoder().decode(data));
    expect(itxt).toHaveLength(2); // negative_prompt and parameters
    expect(itxt[0]).toBe('negative_prompt\0\0\0\0\0kein Text, 文字');
  });

  it('puts a non-Latin-1 prompt in UTF-8 iTXt chunks before IEND, with a valid CRC', () => {
    const prompt = 'Ein Ballon über dem Tisch, 赤い風船 🎈';
    const png = encodePng(2, 1, RGBA, { ...META, prompt });
    const d = decode(png, { checkCrc: true }); // throws on a chunk whose CRC does not match
    expect(d.text.prompt).toBeUndefined();
    expect(d.text.seed).toBe('1234');
    const list = chunks(png);
    expect(list.at(-1)?.[0]).toBe('IEND');
    const itxt = list.filter(([t]) => t === 'iTXt').map(([, data]) => data);
    expect(itxt).toHaveLength(2); // prompt and parameters
    const first = itxt[0] as Uint8Array;
    // keyword "prompt" \0, flag 0, method 0, language "" \0, translated keyword "" \0, then UTF-8 text.
    expect(new TextDecoder().decode(first.subarray(0, 6))).toBe('prompt');
    expect([...first.subarray(6, 11)]).toEqual([0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(first.subarray(11))).toBe(prompt);
    expect(pngText({ ...META, prompt }).parameters).toMatch(new RegExp(`^${prompt}\\n`));
  });
});
