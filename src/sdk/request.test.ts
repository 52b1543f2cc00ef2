// The shared request mapping: aspect ratio → size, provider options, warnings and the errors thrown
// before any request. No network: `{type: 'url'}` downloads go to a recording fetch stub.
import { describe, expect, it } from 'vitest';
import { APICallError, InvalidArgumentError, InvalidPromptError, type ImageModelV3CallOptions } from '@ai-sdk/provider';
import { MAX_SIDE, MIN_SIDE, parseKleinbildOptions, sizeForAspectRatio, toKleinbildRequest } from './request';

/** Call options with everything unset except the prompt. */
function callOptions(overrides: Partial<ImageModelV3CallOptions> = {}): ImageModelV3CallOptions {
  return { prompt: 'a red fox', n: 1, size: undefined, aspectRatio: undefined, seed: undefined, files: undefined, mask: undefined, providerOptions: {}, ...overrides };
}

/** A fetch that records its URLs and answers `bytes` with `contentType` (or `status` when not 200). */
function recordingFetch(bytes = new Uint8Array([1, 2, 3]), contentType = 'image/webp; charset=binary', status = 200) {
  const urls: string[] = [];
  const fetchFn: typeof fetch = async (input) => {
    urls.push(String(input));
    return new Response(status === 200 ? bytes : 'nope', { status, headers: { 'content-type': contentType } });
  };
  return { urls, fetchFn };
}

const context = { modelId: 'flux.2-klein-4b', fetch: recordingFetch().fetchFn };

describe('sizeForAspectRatio', () => {
  // Hand-checked: 1024·√(16/9) = 1365.3 → 1360, 1024·√(9/16) = 768; 1024·√(21/9) = 1564.2 → 1568, 1024/√(21/9) = 670.4 → 672.
  it.each([
    ['1:1', 1024, 1024],
    ['16:9', 1360, 768],
    ['9:16', 768, 1360],
    ['21:9', 1568, 672],
  ])('%s → %ix%i', (ratio, width, height) => {
    expect(sizeForAspectRatio(ratio)).toBe(`${width}x${height}`);
  });

  it.each(['1:1', '16:9', '9:16', '21:9', '4:3', '3:2', '2:3', '7:5'])('%s: multiples of 16, about 1 MP, the asked aspect, within 64–2048', (ratio) => {
    const [w, h] = sizeForAspectRatio(ratio).split('x').map(Number) as [number, number];
    const [rw, rh] = ratio.split(':').map(Number) as [number, number];
    expect(w % 16).toBe(0);
    expect(h % 16).toBe(0);
    for (const side of [w, h]) {
      expect(side).toBeGreaterThanOrEqual(MIN_SIDE);
      expect(side).toBeLessThanOrEqual(MAX_SIDE);
    }
    // Rounding each side to 16 px moves the area by at most ~±1.6 % around 1024² at these aspects.
    expect(Math.abs((w * h) / (1024 * 1024) - 1)).toBeLessThan(0.03);
    // …and the aspect by at most ~8/672 ≈ 1.2 % (the shorter side's half-step).
    expect(Math.abs(w / h / (rw / rh) - 1)).toBeLessThan(0.015);
  });

  it('shrinks both sides for extreme ratios and clamps to 64–2048', () => {
    expect(sizeForAspectRatio('4:1')).toBe('2048x512'); // √(4·2²⁰) = 2048 exactly
    expect(sizeForAspectRatio('8:1')).toBe('2048x256'); // 2896 > 2048 → ×0.707, aspect kept
    expect(sizeForAspectRatio('100:1')).toBe('2048x64'); // 20.48 px clamps up to 64
    expect(sizeForAspectRatio('1:100')).toBe('64x2048');
  });

  it.each(['16x9', '0:1', '1:0', 'a:b', '', '-1:2'])('rejects %j naming aspectRatio', (ratio) => {
    expect(() => sizeForAspectRatio(ratio)).toThrow(InvalidArgumentError);
    expect(() => sizeForAspectRatio(ratio)).toThrow(/aspectRatio/);
  });
});

describe('parseKleinbildOptions', () => {
  it('takes the known options', () => {
    const { options, warnings } = parseKleinbildOptions({ steps: 4, guidance: 1.5, negativePrompt: 'blur', outputFormat: 'webp' });
    expect(options).toEqual({ steps: 4, guidance: 1.5, negativePrompt: 'blur', outputFormat: 'webp' });
    expect(warnings).toEqual([]);
  });

  it('warns once per unknown key and keeps the known ones', () => {
    const { options, warnings } = parseKleinbildOptions({ steps: 2, lora: [], quality: 'hd' });
    expect(options).toEqual({ steps: 2 });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ type: 'other', message: expect.stringContaining('providerOptions.kleinbild.lora ') });
    expect(warnings[1]).toMatchObject({ type: 'other', message: expect.stringContaining('quality') });
  });

  it('takes loras, filling in strength 1; ranges and names are the backend\'s to check', () => {
    const { options, warnings } = parseKleinbildOptions({ loras: [{ name: 'style' }, { name: 'ink', strength: -0.5 }, { name: 'x', strength: 99 }] });
    expect(options).toEqual({ loras: [{ name: 'style', strength: 1 }, { name: 'ink', strength: -0.5 }, { name: 'x', strength: 99 }] });
    expect(warnings).toEqual([]);
    expect(parseKleinbildOptions({ loras: [] }).options).toEqual({ loras: [] });
  });

  it.each([
    [{ steps: '4' }, 'steps'],
    [{ steps: 2.5 }, 'steps'],
    [{ steps: 0 }, 'steps'],
    [{ guidance: 'high' }, 'guidance'],
    [{ guidance: null }, 'guidance'],
    [{ negativePrompt: 3 }, 'negativePrompt'],
    [{ outputFormat: 'gif' }, 'outputFormat'],
    [{ loras: 'style' }, 'loras'],
    [{ loras: { name: 'style' } }, 'loras'],
    [{ loras: ['style'] }, 'loras[0]'],
    [{ loras: [{ name: 'a' }, null] }, 'loras[1]'],
    [{ loras: [{ name: 'a', weight: 1 }] }, 'loras[0]'],
    [{ loras: [{ strength: 1 }] }, 'loras[0].name'],
    [{ loras: [{ name: '' }] }, 'loras[0].name'],
    [{ loras: [{ name: 'a', strength: '0.8' }] }, 'loras[0].strength'],
    [{ loras: [{ name: 'a', strength: null }] }, 'loras[0].strength'],
  ])('%j throws naming %s', (raw, name) => {
    let thrown: unknown;
    try {
      parseKleinbildOptions(raw);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
    expect((thrown as InvalidArgumentError).argument).toBe(`providerOptions.kleinbild.${name}`);
    expect((thrown as Error).message).toContain(`providerOptions.kleinbild.${name} must be`);
  });

  it('rejects a non-object', () => {
    expect(() => parseKleinbildOptions([] as never)).toThrow(/providerOptions.kleinbild must be an object/);
  });
});

describe('toKleinbildRequest', () => {
  it('maps a text-to-image call with defaults', async () => {
    const { request, warnings } = await toKleinbildRequest(callOptions({ n: 2, seed: 7 }), context);
    expect(request).toEqual({
      modelId: 'flux.2-klein-4b',
      prompt: 'a red fox',
      n: 2,
      size: undefined,
      seed: 7,
      steps: undefined,
      guidance: undefined,
      negativePrompt: undefined,
      outputFormat: 'png',
      images: [],
    });
    expect(warnings).toEqual([]);
  });

  it('passes size as is, derives it from aspectRatio silently, and warns when both are given', async () => {
    expect((await toKleinbildRequest(callOptions({ size: '512x768' }), context)).request.size).toBe('512x768');
    const derived = await toKleinbildRequest(callOptions({ aspectRatio: '16:9' }), context);
    expect(derived.request.size).toBe('1360x768');
    expect(derived.warnings).toEqual([]);
    const both = await toKleinbildRequest(callOptions({ size: '512x512', aspectRatio: '16:9' }), context);
    expect(both.request.size).toBe('512x512');
    expect(both.warnings).toEqual([{ type: 'unsupported', feature: 'aspectRatio', details: expect.stringContaining('512x512') }]);
  });

  it('warns about a mask and does not carry it', async () => {
    const mask = { type: 'file' as const, mediaType: 'image/png', data: new Uint8Array([9]) };
    const { request, warnings } = await toKleinbildRequest(callOptions({ mask }), context);
    expect(warnings).toEqual([{ type: 'unsupported', feature: 'mask', details: 'Kleinbild does not inpaint; the mask was ignored' }]);
    expect(JSON.stringify(request)).not.toContain('mask');
  });

  it('collects warnings in order: aspectRatio, mask, unknown options', async () => {
    const { warnings } = await toKleinbildRequest(
      callOptions({ size: '64x64', aspectRatio: '1:1', mask: { type: 'url', url: 'http://x/m.png' }, providerOptions: { kleinbild: { foo: 1 }, openai: { style: 'vivid' } } }),
      context,
    );
    expect(warnings.map((w) => (w.type === 'other' ? 'other' : w.feature))).toEqual(['aspectRatio', 'mask', 'other']);
  });

  it('applies provider options', async () => {
    const { request } = await toKleinbildRequest(callOptions({ providerOptions: { kleinbild: { steps: 8, guidance: 2, negativePrompt: 'text', outputFormat: 'jpeg' } } }), context);
    expect(request).toMatchObject({ steps: 8, guidance: 2, negativePrompt: 'text', outputFormat: 'jpeg' });
  });

  it('carries loras (strength filled in); an empty list is no loras', async () => {
    const { request } = await toKleinbildRequest(callOptions({ providerOptions: { kleinbild: { loras: [{ name: 'style', strength: 0.8 }, { name: 'ink' }] } } }), context);
    expect(request.loras).toEqual([{ name: 'style', strength: 0.8 }, { name: 'ink', strength: 1 }]);
    const none = await toKleinbildRequest(callOptions({ providerOptions: { kleinbild: { loras: [] } } }), context);
    expect('loras' in none.request).toBe(false);
    await expect(toKleinbildRequest(callOptions({ providerOptions: { kleinbild: { loras: [{ name: 'style', strength: 'max' }] } } }), context)).rejects.toThrow(
      'providerOptions.kleinbild.loras[0].strength must be a finite number; got "max"',
    );
  });

  it('decodes base64 files, keeps byte files and downloads url files', async () => {
    const { urls, fetchFn } = recordingFetch(new Uint8Array([7, 7]), 'image/webp; charset=binary');
    const files = [
      { type: 'file' as const, mediaType: 'image/png', data: btoa('\x89PNG') },
      { type: 'file' as const, mediaType: 'image/jpeg', data: new Uint8Array([0xff, 0xd8]) },
      { type: 'url' as const, url: 'http://example.test/ref.webp' },
    ];
    const { request } = await toKleinbildRequest(callOptions({ files }), { ...context, fetch: fetchFn });
    expect(urls).toEqual(['http://example.test/ref.webp']);
    expect(request.images).toEqual([
      { mediaType: 'image/png', data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) },
      { mediaType: 'image/jpeg', data: new Uint8Array([0xff, 0xd8]) },
      { mediaType: 'image/webp', data: new Uint8Array([7, 7]) },
    ]);
  });

  it('throws APICallError when a url file cannot be downloaded', async () => {
    const { fetchFn } = recordingFetch(undefined, 'text/plain', 404);
    const files = [{ type: 'url' as const, url: 'http://example.test/missing.png' }];
    const error = await toKleinbildRequest(callOptions({ files }), { ...context, fetch: fetchFn }).catch((e: unknown) => e);
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ statusCode: 404, url: 'http://example.test/missing.png', isRetryable: false });
  });

  it('throws for more than 4 files before downloading any', async () => {
    const { urls, fetchFn } = recordingFetch();
    const files = Array.from({ length: 5 }, (_, i) => ({ type: 'url' as const, url: `http://example.test/${i}.png` }));
    const error = await toKleinbildRequest(callOptions({ files }), { ...context, fetch: fetchFn }).catch((e: unknown) => e);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('Kleinbild takes at most 4 reference images; got 5');
    expect(urls).toEqual([]);
  });

  it('throws for bad base64 naming the file', async () => {
    const files = [{ type: 'file' as const, mediaType: 'image/png', data: '***' }];
    await expect(toKleinbildRequest(callOptions({ files }), context)).rejects.toThrow('files[0].data is not valid base64');
  });

  it('throws InvalidPromptError for a missing prompt, and for bad option types or n', async () => {
    await expect(toKleinbildRequest(callOptions({ prompt: undefined }), context)).rejects.toSatisfy((e) => InvalidPromptError.isInstance(e));
    await expect(toKleinbildRequest(callOptions({ providerOptions: { kleinbild: { steps: 'four' } } }), context)).rejects.toThrow(/providerOptions.kleinbild.steps/);
    await expect(toKleinbildRequest(callOptions({ n: 0 }), context)).rejects.toThrow(/n must be a positive integer/);
  });
});
