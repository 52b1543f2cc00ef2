/**
 * Local mode: an ImageBackend (backend.ts) that renders in this browser tab's engine worker through
 * createGenerator (generator.ts) instead of calling a server. The AI SDK mapping (request.ts) is
 * shared with server mode; this file maps a KleinbildImageRequest to the engine's GenerateRequests,
 * decodes reference images and encodes the results, the browser's way (createImageBitmap,
 * OffscreenCanvas), so nothing here runs in Node except localPlan/toGenerateRequests.
 */
import { InvalidArgumentError, UnsupportedFunctionalityError } from '@ai-sdk/provider';
import { defaultSizeFor, referenceSizeError } from '../pipeline/references';
import { DEFAULT_MODEL } from '../worker/api';
import type { ImageBackend, ImageBackendResult, KleinbildImageRequest, KleinbildOutputFormat, KleinbildReferenceImage } from './backend';
import { createGenerator, type GenerateRequest, type GenerateResult, type Generator, type LoadOptions, type ModelSource, type ReferenceImage } from './generator';
import { PROVIDER } from './request';

/** Steps when the caller gives none: klein is distilled for 4. */
export const DEFAULT_STEPS = 4;
/** Output side when the caller gives no size and no reference image, px (klein's native 1024²). */
export const DEFAULT_SIDE = 1024;
/** Largest seed the engine takes (its noise RNG is seeded with a uint32). */
export const SEED_MAX = 0xffffffff;
/**
 * Largest reference image decoded, in pixels: the decoded RGBA8 is held on this thread and copied to
 * the worker (150 MP = 600 MiB each). The same cap as the app's reference panel (ui/referenceRules.ts).
 */
export const MAX_REFERENCE_PIXELS = 150 * 1024 * 1024;

export type LocalBackendOptions = {
  /**
   * Render with this Generator (createGenerator) instead of creating one: its model, load options and
   * LoRAs (generator.addLora) are used, and `model`/`load` here are ignored. The caller owns it (dispose).
   */
  generator?: Generator;
  /** The model to load: hub repo id, http(s) base URL or `store:<id>`; default DEFAULT_MODEL (the hub's FLUX.2-klein-4B). */
  model?: ModelSource;
  /** How it is loaded (quantization, low memory, precision). */
  load?: LoadOptions;
};

/** What localPlan derives from a request without looking at pixels. */
export type LocalPlan = {
  /** The explicit output size, or null to take the first reference's size (else DEFAULT_SIDE²). */
  size: { width: number; height: number } | null;
  steps: number;
  /** One seed per image: seed, seed+1, …; from a random start when the request has none. */
  seeds: number[];
};

const invalid = (argument: string, message: string): never => {
  throw new InvalidArgumentError({ argument, message });
};

/**
 * Checks and maps what needs no pixels. `random()` ∈ [0, 1) draws the first seed when the request
 * has none. Throws InvalidArgumentError for: guidance ≠ 1 or a negative prompt (the distilled klein
 * has guidance built in; there is no classifier-free guidance), a seed that is not an integer in
 * 0…SEED_MAX−(n−1), a size that is not `WxH` with positive integers. The engine checks the rest
 * (sides multiples of 16, 64…2048; steps) and rejects with InvalidInput.
 */
export function localPlan(request: KleinbildImageRequest, random: () => number = Math.random): LocalPlan {
  const { n, seed, guidance, negativePrompt } = request;
  if (guidance !== undefined && guidance !== 1) {
    invalid(`providerOptions.${PROVIDER}.guidance`, `guidance ${guidance}: the local model (FLUX.2 klein, distilled) has guidance built in; only 1 is accepted`);
  }
  if (negativePrompt !== undefined && negativePrompt !== '') {
    invalid(`providerOptions.${PROVIDER}.negativePrompt`, 'negativePrompt: the local model (FLUX.2 klein, distilled) has no classifier-free guidance, so a negative prompt cannot apply');
  }
  const lastStart = SEED_MAX - (n - 1);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= lastStart)) {
    invalid('seed', `seed ${seed}: use an integer 0…${lastStart} (${n} image${n === 1 ? '' : 's'} take seeds seed…seed+${n - 1})`);
  }
  let size: LocalPlan['size'] = null;
  if (request.size !== undefined) {
    const match = /^(\d+)x(\d+)$/.exec(request.size);
    const [width, height] = [Number(match?.[1]), Number(match?.[2])];
    if (!match || !(width > 0) || !(height > 0)) invalid('size', `size must be "WxH" in pixels, e.g. "1024x1024"; got ${JSON.stringify(request.size)}`);
    size = { width, height };
  }
  const start = seed ?? Math.floor(random() * (lastStart + 1));
  return { size, steps: request.steps ?? DEFAULT_STEPS, seeds: Array.from({ length: n }, (_, i) => start + i) };
}

/**
 * The engine requests for `request` (one per image, rendered back to back): its prompt and steps,
 * seeds seed, seed+1, …, the decoded `references` (in order), the request's LoRAs (by the names given
 * to generator.addLora; the engine refuses unknown ones before any work), and the size: the request's,
 * else the first reference's processed size (defaultSizeFor: ≤ 1024², floored to multiples of 16),
 * else DEFAULT_SIDE². Throws what localPlan throws.
 */
export function toGenerateRequests(request: KleinbildImageRequest, references: ReferenceImage[], random: () => number = Math.random): GenerateRequest[] {
  const plan = localPlan(request, random);
  return requestsFor(request, plan, references);
}

function requestsFor(request: KleinbildImageRequest, plan: LocalPlan, references: ReferenceImage[]): GenerateRequest[] {
  const { width, height } = plan.size ?? defaultSizeFor(references) ?? { width: DEFAULT_SIDE, height: DEFAULT_SIDE };
  const loras = request.loras?.length ? { loras: request.loras.map((l) => ({ ...l })) } : {};
  return plan.seeds.map((seed) => ({ prompt: request.prompt, width, height, steps: plan.steps, seed, ...(references.length > 0 ? { references } : {}), ...loras }));
}

/**
 * Decodes reference image `index` (0-based) as stored, as the app's reference panel does: no
 * colour-space conversion, unpremultiplied alpha (as Pillow reads it) → RGBA8 [height, width, 4].
 * Throws InvalidArgumentError (argument `files[index]`) when the browser cannot decode it, a side is
 * under 64 px, the aspect ratio exceeds 8:1 or it has more than MAX_REFERENCE_PIXELS.
 */
export async function decodeReference(image: KleinbildReferenceImage, index: number): Promise<ReferenceImage> {
  const argument = `files[${index}]`;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([new Uint8Array(image.data)], { type: image.mediaType }), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new InvalidArgumentError({ argument, message: `reference image ${index + 1} (${image.mediaType}, ${image.data.length} bytes) is not an image this browser can decode (${why})`, cause: e });
  }
  try {
    const { width, height } = bitmap;
    const tooBig = width * height > MAX_REFERENCE_PIXELS ? `reference image ${index + 1} is ${width}×${height}; at most ${MAX_REFERENCE_PIXELS / 2 ** 20} MP are decoded (downscale it first)` : null;
    const error = referenceSizeError(width, height, index + 1) ?? tooBig;
    if (error) invalid(argument, error);
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error(`no 2D canvas context for ${width}×${height}`);
    ctx.drawImage(bitmap, 0, 0);
    return { width, height, rgba: ctx.getImageData(0, 0, width, height).data };
  } finally {
    bitmap.close();
  }
}

/**
 * Encodes an engine result (RGBA8 [height, width, 4]) as `format` with OffscreenCanvas.convertToBlob
 * at quality 1 (the server's default output_compression is 100). Throws UnsupportedFunctionalityError
 * when this browser cannot encode the format (convertToBlob silently falls back to PNG).
 */
export async function encodeImage(result: GenerateResult, format: KleinbildOutputFormat): Promise<Uint8Array> {
  const { width, height } = result;
  const ctx = new OffscreenCanvas(width, height).getContext('2d');
  if (!ctx) throw new Error(`no 2D canvas context for ${width}×${height}`);
  // the worker transferred the result's buffer: a plain ArrayBuffer, as ImageData wants
  ctx.putImageData(new ImageData(result.rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  const type = `image/${format}`;
  const blob = await ctx.canvas.convertToBlob({ type, quality: 1 });
  if (blob.type !== type) {
    throw new UnsupportedFunctionalityError({ functionality: `outputFormat ${format}`, message: `this browser cannot encode ${type} (convertToBlob gave ${blob.type || 'nothing'}); use png` });
  }
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * Every LoRA the request names was added to `generator` (before any work). Throws InvalidArgumentError
 * (argument `providerOptions.kleinbild.loras`) saying how to add one otherwise.
 */
export function checkLoras(request: KleinbildImageRequest, generator: Generator): void {
  const added = generator.loras().map((l) => l.name);
  const missing = request.loras?.find((l) => !added.includes(l.name));
  if (!missing) return;
  invalid(
    `providerOptions.${PROVIDER}.loras`,
    `LoRA "${missing.name}" was not added to this local model's Generator (${added.length ? `added: ${added.map((n) => `"${n}"`).join(', ')}` : 'none was'}); ` +
      "create one with createGenerator, call generator.addLora(name, bytes), and pass it as kleinbild.image(id, { local: true, generator })",
  );
}

/** A local backend and the Generator it renders with (its worker lives as long as the page, or until generator.dispose()). */
export type LocalBackend = ImageBackend & { generator: Generator };

/**
 * An ImageBackend rendering in an engine worker (createGenerator; created at the first call). Each
 * request: localPlan's checks, reference decoding, then n images back to back, each encoded as the
 * request's outputFormat; `imageMetadata[i].seed` is image i's seed. An aborted `abortSignal` cancels
 * the running image and rejects with the signal's reason (as fetch-based backends do).
 */
export function createLocalBackend(options: LocalBackendOptions = {}): LocalBackend {
  const generator = options.generator ?? createGenerator({ model: options.model ?? DEFAULT_MODEL, ...(options.load ? { load: options.load } : {}) });
  return {
    generator,
    async generate(request, call): Promise<ImageBackendResult> {
      const signal = call.abortSignal;
      const plan = localPlan(request);
      checkLoras(request, generator);
      signal?.throwIfAborted();
      const references = await Promise.all(request.images.map((image, i) => decodeReference(image, i)));
      const images: Uint8Array[] = [];
      const imageMetadata: { seed: number }[] = [];
      for (const req of requestsFor(request, plan, references)) {
        let result: GenerateResult;
        try {
          result = await generator.generate(req, signal ? { signal } : {});
        } catch (e) {
          if (signal?.aborted && e instanceof Error && e.name === 'Cancelled') throw signal.reason;
          throw e;
        }
        images.push(await encodeImage(result, request.outputFormat));
        imageMetadata.push({ seed: result.seed });
      }
      return { images, imageMetadata };
    },
  };
}
