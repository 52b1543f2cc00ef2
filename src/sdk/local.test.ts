// Local mode's option mapping in Node: KleinbildImageRequest → the engine's GenerateRequests (sizes,
// seeds, steps, references) and the refusals that happen before any worker starts. Decoding,
// encoding and rendering need a browser's canvas and WebGPU: e2e/sdk.spec.ts covers them.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@ai-sdk/provider';
import { generateImage } from 'ai';
import type { KleinbildImageRequest } from './backend';
import { createGenerator, createKleinbild, DEFAULT_SIDE, DEFAULT_STEPS, KLEIN_MODEL_ID, type GenerateRequest, type Generator, type LoraInfo, type ReferenceImage } from './index';
import { localPlan, SEED_MAX, toGenerateRequests } from './local';

function request(fields: Partial<KleinbildImageRequest> = {}): KleinbildImageRequest {
  return {
    modelId: KLEIN_MODEL_ID,
    prompt: 'a red fox',
    n: 1,
    size: undefined,
    seed: undefined,
    steps: undefined,
    guidance: undefined,
    negativePrompt: undefined,
    outputFormat: 'png',
    images: [],
    ...fields,
  };
}

function reference(width: number, height: number): ReferenceImage {
  return { width, height, rgba: new Uint8ClampedArray(width * height * 4) };
}

/** The InvalidArgumentError `fn` throws (fails the test when it throws nothing or something else). */
function invalidArgument(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (e) {
    if (InvalidArgumentError.isInstance(e)) return e;
    throw e;
  }
  return expect.fail('expected an InvalidArgumentError');
}

describe('localPlan', () => {
  it('defaults: no size (decided by the references), 4 steps, one seed drawn from random()', () => {
    // random() = 0.5 → floor(0.5 · 2³²) = 2147483648
    expect(localPlan(request(), () => 0.5)).toEqual({ size: null, steps: DEFAULT_STEPS, seeds: [2147483648] });
    expect(DEFAULT_STEPS).toBe(4);
  });

  it('n images take seeds seed, seed+1, …', () => {
    expect(localPlan(request({ n: 3, seed: 7, steps: 2 })).seeds).toEqual([7, 8, 9]);
    expect(localPlan(request({ n: 2, seed: SEED_MAX - 1 })).seeds).toEqual([SEED_MAX - 1, SEED_MAX]);
  });

  it('a random start leaves room for all n seeds (random() just under 1)', () => {
    const { seeds } = localPlan(request({ n: 3 }), () => 1 - 2 ** -53);
    expect(seeds).toEqual([SEED_MAX - 2, SEED_MAX - 1, SEED_MAX]);
    expect(localPlan(request({ n: 3 }), () => 0).seeds).toEqual([0, 1, 2]);
  });

  it('refuses seeds the engine cannot take, naming the range', () => {
    expect(invalidArgument(() => localPlan(request({ n: 2, seed: SEED_MAX }))).message).toContain(`0…${SEED_MAX - 1}`);
    for (const seed of [-1, 1.5, 2 ** 32, Number.NaN]) expect(invalidArgument(() => localPlan(request({ seed }))).argument).toBe('seed');
    expect(localPlan(request({ seed: 0 })).seeds).toEqual([0]);
  });

  it('parses size WxH; refuses anything else', () => {
    expect(localPlan(request({ size: '512x768' })).size).toEqual({ width: 512, height: 768 });
    for (const size of ['0x64', '64x', '1.5x64', ' 64x64'] as const) {
      expect(invalidArgument(() => localPlan(request({ size: size as `${number}x${number}` }))).argument).toBe('size');
    }
  });

  it('refuses guidance ≠ 1 and a negative prompt: the distilled model has no CFG', () => {
    expect(localPlan(request({ guidance: 1, negativePrompt: '' })).steps).toBe(4);
    const g = invalidArgument(() => localPlan(request({ guidance: 3.5 })));
    expect(g.argument).toBe('providerOptions.kleinbild.guidance');
    expect(g.message).toContain('distilled');
    const neg = invalidArgument(() => localPlan(request({ negativePrompt: 'blurry' })));
    expect(neg.argument).toBe('providerOptions.kleinbild.negativePrompt');
    expect(neg.message).toContain('classifier-free guidance');
  });
});

describe('toGenerateRequests', () => {
  it('text-to-image: DEFAULT_SIDE² with the prompt, steps and seeds, no references', () => {
    expect(toGenerateRequests(request({ n: 2, seed: 41, steps: 1 }), [])).toEqual([
      { prompt: 'a red fox', width: DEFAULT_SIDE, height: DEFAULT_SIDE, steps: 1, seed: 41 },
      { prompt: 'a red fox', width: DEFAULT_SIDE, height: DEFAULT_SIDE, steps: 1, seed: 42 },
    ]);
    expect(DEFAULT_SIDE).toBe(1024);
  });

  it('without a size, the first reference decides it: floored to multiples of 16, downscaled above 1024²', () => {
    const small = reference(1000, 700); // 1000 − 8 = 992, 700 − 12 = 688
    const [req] = toGenerateRequests(request({ seed: 1 }), [small, reference(64, 64)]);
    expect([req?.width, req?.height]).toEqual([992, 688]);
    expect(req?.references?.map((r) => r.width)).toEqual([1000, 64]); // all, in order, full size (the engine fits them)
    // 2000×1000: s = √(1024²/2·10⁶) = 0.7241 → 1448×724 → floored to 1440×720
    const [big] = toGenerateRequests(request({ seed: 1 }), [reference(2000, 1000)]);
    expect([big?.width, big?.height]).toEqual([1440, 720]);
  });

  it('carries the LoRAs into every image request', () => {
    const loras = [{ name: 'style', strength: 0.8 }];
    expect(toGenerateRequests(request({ n: 2, seed: 1, size: '64x64', loras }), []).map((r) => r.loras)).toEqual([loras, loras]);
    expect(toGenerateRequests(request({ seed: 1 }), [])[0]).not.toHaveProperty('loras');
  });

  it('an explicit size wins over the references', () => {
    const [req] = toGenerateRequests(request({ seed: 1, size: '64x128' }), [reference(1000, 700)]);
    expect([req?.width, req?.height]).toEqual([64, 128]);
    expect(req?.references).toHaveLength(1);
  });
});

describe('local mode through the AI SDK, before any worker', () => {
  // Node has no Worker: these calls pass only because the refusals come before the engine starts.
  it('generateImage rejects guidance 3 with InvalidArgumentError', async () => {
    const model = createKleinbild().image(KLEIN_MODEL_ID, { local: true, model: 'http://127.0.0.1:1/none' });
    const error: unknown = await generateImage({ model, prompt: 'x', size: '64x64', providerOptions: { kleinbild: { guidance: 3 } } }).then(
      () => expect.fail('expected a rejection'),
      (e: unknown) => e,
    );
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe('providerOptions.kleinbild.guidance');
  });

  it('an already aborted signal rejects with its reason', async () => {
    const model = createKleinbild().image(KLEIN_MODEL_ID, { local: true });
    const abort = new AbortController();
    abort.abort(new Error('stop here'));
    await expect(generateImage({ model, prompt: 'x', size: '64x64', abortSignal: abort.signal, maxRetries: 0 })).rejects.toThrow('stop here');
  });

  it('a disposed generator rejects generate() and addLora() with Cancelled', async () => {
    const generator = createGenerator({ model: 'http://127.0.0.1:1/none' });
    generator.dispose();
    await expect(generator.generate({ prompt: 'x', width: 64, height: 64, steps: 1, seed: 1 })).rejects.toMatchObject({ name: 'Cancelled' });
    await expect(generator.addLora('style', new Uint8Array(8))).rejects.toMatchObject({ name: 'Cancelled' });
    expect(generator.loras()).toEqual([]);
  });

  it('loras on a local model without them added: InvalidArgumentError saying how to add them', async () => {
    const model = createKleinbild().image(KLEIN_MODEL_ID, { local: true, model: 'http://127.0.0.1:1/none' });
    const error: unknown = await generateImage({ model, prompt: 'x', size: '64x64', providerOptions: { kleinbild: { loras: [{ name: 'style' }] } }, maxRetries: 0 }).then(
      () => expect.fail('expected a rejection'),
      (e: unknown) => e,
    );
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe('providerOptions.kleinbild.loras');
    expect((error as Error).message).toContain('LoRA "style" was not added to this local model\'s Generator (none was)');
    expect((error as Error).message).toContain('generator.addLora(name, bytes)');
  });

  it('{ local: true, generator } renders with that Generator and passes the selected LoRAs', async () => {
    const seen: GenerateRequest[] = [];
    const info: LoraInfo = { name: 'style', format: 'kohya', rank: 8, layers: 10, bytes: 1000 };
    const generator = {
      loras: () => [info],
      generate: async (req: GenerateRequest) => {
        seen.push(req);
        return { rgba: new Uint8ClampedArray(64 * 64 * 4), width: 64, height: 64, seed: req.seed };
      },
    } as unknown as Generator;
    const model = createKleinbild().image(KLEIN_MODEL_ID, { local: true, generator });
    // Node has no OffscreenCanvas: the call fails when encoding, after the engine request was made.
    await generateImage({ model, prompt: 'x', size: '64x64', seed: 3, providerOptions: { kleinbild: { loras: [{ name: 'style', strength: -1 }] } }, maxRetries: 0 }).catch(() => {});
    expect(seen).toEqual([{ prompt: 'x', width: 64, height: 64, steps: DEFAULT_STEPS, seed: 3, loras: [{ name: 'style', strength: -1 }] }]);
  });
});
