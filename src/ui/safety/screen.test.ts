import { describe, expect, it } from 'vitest';
import { locateBrowserModel } from '../../safety/browser/locate';
import { blurRgba } from './screen';

describe('blurRgba', () => {
  it('replaces each block by its mean colour, opaque', () => {
    const w = 8;
    const h = 4;
    const px = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) px.set([i % 2 ? 200 : 0, 10, 20, 7], i * 4);
    const out = blurRgba(px, w, h); // block 4: two 4×4 blocks
    for (let i = 0; i < w * h; i++) expect([...out.subarray(i * 4, i * 4 + 4)]).toEqual([100, 10, 20, 255]);
  });
});

describe('locateBrowserModel', () => {
  it('reads hub ids and URLs; refuses paths', () => {
    expect(locateBrowserModel('AdamCodd/vit-base-nsfw-detector')).toEqual({ id: 'AdamCodd/vit-base-nsfw-detector', host: 'https://huggingface.co/', pathTemplate: '{model}/resolve/{revision}/' });
    expect(locateBrowserModel('http://127.0.0.1:4180/safety-classifier/')).toMatchObject({ host: 'http://127.0.0.1:4180/', pathTemplate: 'safety-classifier/' });
    expect(locateBrowserModel('http://127.0.0.1:4180/safety-classifier').id).toMatch(/^url\/[0-9a-f]{16}$/);
    expect(locateBrowserModel('http://127.0.0.1:4180/a').id).not.toBe(locateBrowserModel('http://127.0.0.1:4180/b').id);
    expect(() => locateBrowserModel('./models/x')).toThrow(/hub repo id \(owner\/name\) or an http\(s\) URL/);
  });
});
