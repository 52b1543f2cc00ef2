/**
 * AI SDK call options → one backend-neutral KleinbildImageRequest, plus the warnings for what was
 * ignored. Shared by every backend (server mode now, local mode later).
 *
 * Sources: `ImageModelV3CallOptions` / `ImageModelV3File` / `SharedV3Warning` in @ai-sdk/provider
 * (vercel/ai packages/provider/src/image-model/v3); the server's fields follow the OpenAI Images API
 * (openai-node src/resources/images.ts) with our extensions seed/steps/guidance/negative_prompt/loras.
 */
import {
  APICallError,
  InvalidArgumentError,
  InvalidPromptError,
  type ImageModelV3CallOptions,
  type ImageModelV3File,
  type JSONObject,
  type SharedV3Warning,
} from '@ai-sdk/provider';
import { OUTPUT_FORMATS, type KleinbildImageRequest, type KleinbildLora, type KleinbildOutputFormat, type KleinbildReferenceImage } from './backend';

/** The provider name: the key of `providerOptions` and `providerMetadata`. */
export const PROVIDER = 'kleinbild';

/** FLUX.2 klein conditions on at most 4 reference images (the server and the local engine both cap it here). */
export const MAX_REFERENCE_IMAGES = 4;

/** Target area for a size derived from an aspect ratio: 1024² px (about 1 MP, klein's native resolution). */
export const ASPECT_TARGET_PIXELS = 1024 * 1024;
/** Derived sides are multiples of this (the VAE's 8× and the 2×2 patchify: 16 px per latent token). */
export const SIZE_MULTIPLE = 16;
/** Smallest and largest derived side, px. */
export const MIN_SIDE = 64;
export const MAX_SIDE = 2048;

/** `providerOptions.kleinbild` after validation. */
export type KleinbildProviderOptions = {
  steps?: number;
  guidance?: number;
  negativePrompt?: string;
  outputFormat?: KleinbildOutputFormat;
  /** LoRAs to apply, by the names the backend holds (server: --lora-dir; local: generator.addLora), strength default 1. */
  loras?: KleinbildLora[];
};

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['steps', 'guidance', 'negativePrompt', 'outputFormat', 'loras']);

/**
 * `loras`: an array of `{name: non-empty string, strength?: finite number}` → strengths filled in (1).
 * Ranges, duplicates and unknown names are the backend's to refuse (the server: 400 invalid_lora /
 * lora_not_found; the local engine: InvalidInput), as it knows its limits and its LoRAs.
 */
function parseLoraOption(raw: unknown, fail: (name: string, want: string, got: unknown) => never): KleinbildLora[] {
  const want = 'an array of { name: string, strength?: number }';
  if (!Array.isArray(raw)) return fail('loras', want, raw);
  return raw.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`loras[${i}]`, 'an object { name: string, strength?: number }', entry);
    const { name, strength = 1, ...rest } = entry as { name?: unknown; strength?: unknown };
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) return fail(`loras[${i}]`, `an object { name: string, strength?: number } (unknown key ${JSON.stringify(extra)})`, entry);
    if (typeof name !== 'string' || name === '') return fail(`loras[${i}].name`, 'a non-empty string', name);
    if (typeof strength !== 'number' || !Number.isFinite(strength)) return fail(`loras[${i}].strength`, 'a finite number', strength);
    return { name, strength };
  });
}

/** Rounds to the nearest multiple of SIZE_MULTIPLE, then clamps to [MIN_SIDE, MAX_SIDE]. */
function toSide(px: number): number {
  return Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.round(px / SIZE_MULTIPLE) * SIZE_MULTIPLE));
}

/**
 * The size of about 1 MP (ASPECT_TARGET_PIXELS) with the given aspect ratio `W:H`.
 *
 * width = √(A·r), height = √(A/r) with r = W/H; if one side exceeds MAX_SIDE both shrink by the same
 * factor (aspect kept, fewer pixels); then each side is rounded to a multiple of 16 and clamped to
 * 64–2048 (ratios beyond 32:1 cannot be kept). E.g. 1:1 → 1024x1024, 16:9 → 1360x768,
 * 9:16 → 768x1360, 21:9 → 1568x672.
 * Throws InvalidArgumentError (argument `aspectRatio`) unless both terms are positive finite numbers.
 */
export function sizeForAspectRatio(aspectRatio: string): `${number}x${number}` {
  const match = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(aspectRatio);
  const w = Number(match?.[1]);
  const h = Number(match?.[2]);
  if (!match || !(w > 0) || !(h > 0)) {
    throw new InvalidArgumentError({
      argument: 'aspectRatio',
      message: `aspectRatio must be "W:H" with positive numbers, e.g. "16:9"; got ${JSON.stringify(aspectRatio)}`,
    });
  }
  const ratio = w / h;
  let width = Math.sqrt(ASPECT_TARGET_PIXELS * ratio);
  let height = Math.sqrt(ASPECT_TARGET_PIXELS / ratio);
  const shrink = Math.min(1, MAX_SIDE / width, MAX_SIDE / height);
  width *= shrink;
  height *= shrink;
  return `${toSide(width)}x${toSide(height)}`;
}

/**
 * Validates `providerOptions.kleinbild` by hand (no zod in the bundle): steps a positive integer,
 * guidance a finite number, negativePrompt a string, outputFormat png|jpeg|webp, loras an array of
 * `{name, strength?}` (parseLoraOption).
 * Unknown keys become `{type: 'other'}` warnings; a wrong type throws InvalidArgumentError naming the
 * option (argument `providerOptions.kleinbild.<name>`).
 */
export function parseKleinbildOptions(raw: JSONObject | undefined): { options: KleinbildProviderOptions; warnings: SharedV3Warning[] } {
  const options: KleinbildProviderOptions = {};
  const warnings: SharedV3Warning[] = [];
  if (raw === undefined) return { options, warnings };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidArgumentError({ argument: `providerOptions.${PROVIDER}`, message: `providerOptions.${PROVIDER} must be an object` });
  }
  const fail = (name: string, want: string, got: unknown): never => {
    throw new InvalidArgumentError({
      argument: `providerOptions.${PROVIDER}.${name}`,
      message: `providerOptions.${PROVIDER}.${name} must be ${want}; got ${JSON.stringify(got)}`,
    });
  };
  const { steps, guidance, negativePrompt, outputFormat, loras } = raw;
  if (steps !== undefined) options.steps = Number.isInteger(steps) && (steps as number) >= 1 ? (steps as number) : fail('steps', 'a positive integer', steps);
  if (guidance !== undefined) options.guidance = typeof guidance === 'number' && Number.isFinite(guidance) ? guidance : fail('guidance', 'a finite number', guidance);
  if (negativePrompt !== undefined) options.negativePrompt = typeof negativePrompt === 'string' ? negativePrompt : fail('negativePrompt', 'a string', negativePrompt);
  if (outputFormat !== undefined) {
    options.outputFormat = OUTPUT_FORMATS.includes(outputFormat as KleinbildOutputFormat)
      ? (outputFormat as KleinbildOutputFormat)
      : fail('outputFormat', `one of ${OUTPUT_FORMATS.join(', ')}`, outputFormat);
  }
  if (loras !== undefined) options.loras = parseLoraOption(loras, fail);
  for (const key of Object.keys(raw)) {
    if (!KNOWN_OPTIONS.has(key)) {
      warnings.push({ type: 'other', message: `providerOptions.${PROVIDER}.${key} is not a Kleinbild option and was ignored (known: ${[...KNOWN_OPTIONS].join(', ')})` });
    }
  }
  return { options, warnings };
}

/** Decodes standard base64 (atob: a global in browsers and Node ≥ 16). Throws InvalidArgumentError naming `argument`. */
function base64ToBytes(base64: string, argument: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(base64);
  } catch (cause) {
    throw new InvalidArgumentError({ argument, message: `${argument} is not valid base64`, cause });
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * One ImageModelV3File → bytes + media type. `{type: 'url'}` is downloaded with `fetch` (the provider's
 * settings.fetch; no provider headers, the URL may be anyone's); its Content-Type (parameters dropped)
 * is the media type, `application/octet-stream` when absent. A non-2xx download throws APICallError.
 */
async function resolveFile(file: ImageModelV3File, index: number, fetchFn: typeof fetch, abortSignal: AbortSignal | undefined): Promise<KleinbildReferenceImage> {
  if (file.type === 'file') {
    const data = typeof file.data === 'string' ? base64ToBytes(file.data, `files[${index}].data`) : file.data;
    return { mediaType: file.mediaType, data };
  }
  const response = await fetchFn(file.url, abortSignal ? { signal: abortSignal } : {});
  if (!response.ok) {
    throw new APICallError({
      message: `could not download reference image files[${index}] from ${file.url}: HTTP ${response.status} ${response.statusText}`.trim(),
      url: file.url,
      requestBodyValues: {},
      statusCode: response.status,
      isRetryable: response.status === 429 || response.status >= 500,
    });
  }
  const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim() || 'application/octet-stream';
  return { mediaType, data: new Uint8Array(await response.arrayBuffer()) };
}

/** What the mapping needs besides the call options. */
export type RequestContext = {
  modelId: string;
  /** Used only to download `{type: 'url'}` files. */
  fetch: typeof fetch;
};

/**
 * Maps the AI SDK call options to a KleinbildImageRequest and collects warnings. Every check runs
 * before any download or request:
 * - prompt undefined → InvalidPromptError (no silent ''); n must be a positive integer;
 * - size `WxH` is passed as is; size undefined + aspectRatio → sizeForAspectRatio (no warning);
 *   both given → size wins, warning `{type: 'unsupported', feature: 'aspectRatio'}`;
 * - files > MAX_REFERENCE_IMAGES → InvalidArgumentError (argument `files`); mask → warning, never sent;
 * - providerOptions.kleinbild → parseKleinbildOptions.
 */
export async function toKleinbildRequest(
  call: ImageModelV3CallOptions,
  context: RequestContext,
): Promise<{ request: KleinbildImageRequest; warnings: SharedV3Warning[] }> {
  const { prompt, n, size, aspectRatio, files = [], mask } = call;
  if (prompt === undefined) {
    throw new InvalidPromptError({ prompt, message: 'Kleinbild needs a text prompt (got none); pass prompt or prompt.text' });
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError({ argument: 'n', message: `n must be a positive integer; got ${n}` });
  }
  if (files.length > MAX_REFERENCE_IMAGES) {
    throw new InvalidArgumentError({
      argument: 'files',
      message: `Kleinbild takes at most ${MAX_REFERENCE_IMAGES} reference images; got ${files.length}`,
    });
  }
  const warnings: SharedV3Warning[] = [];
  let requestSize = size;
  if (size === undefined && aspectRatio !== undefined) {
    requestSize = sizeForAspectRatio(aspectRatio);
  } else if (size !== undefined && aspectRatio !== undefined) {
    warnings.push({ type: 'unsupported', feature: 'aspectRatio', details: `both size and aspectRatio were given; size ${size} was used and aspectRatio ${aspectRatio} ignored` });
  }
  if (mask !== undefined) {
    warnings.push({ type: 'unsupported', feature: 'mask', details: 'Kleinbild does not inpaint; the mask was ignored' });
  }
  const parsed = parseKleinbildOptions(call.providerOptions[PROVIDER]);
  warnings.push(...parsed.warnings);

  const images = await Promise.all(files.map((file, i) => resolveFile(file, i, context.fetch, call.abortSignal)));
  const { steps, guidance, negativePrompt, outputFormat = 'png', loras } = parsed.options;
  const request: KleinbildImageRequest = {
    modelId: context.modelId,
    prompt,
    n,
    size: requestSize,
    seed: call.seed,
    steps,
    guidance,
    negativePrompt,
    outputFormat,
    images,
    ...(loras?.length ? { loras } : {}),
  };
  return { request, warnings };
}
