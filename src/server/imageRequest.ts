/**
 * The fields of `POST /v1/images/generations` (JSON) and `/v1/images/edits` (multipart, every
 * value a string) → a checked ImageJob, with OpenAI's field names and a 400 naming the field
 * (`param`) for anything out of range. Checked before any image is decoded or generated.
 * Facts: OpenAI Images API (openai-node src/resources/images.ts, ImageGenerateParams/ImageEditParams).
 */
import { InvalidInput } from '../errors';
import { SIZE_MAX, SIZE_MIN, STEPS_MAX } from '../pipeline/generate';
import { LORA_STRENGTH_MAX, LORAS_MAX, validateLoraUses } from '../pipeline/loras';
import type { LoraUse } from '../pipeline/types';
import type { OutputFormat } from '../cli/imageEncode';
import { ApiError, invalidField } from './apiError';

/** The model id the server answers to (`model` field, GET /v1/models). */
export const MODEL_ID = 'flux.2-klein-4b';
/** `n`: images per request, run back to back with seeds seed, seed+1, … (OpenAI allows 1–10). */
export const N_MAX = 10;
/** Largest output, in pixels: 4 MP (2048×2048). */
export const MAX_OUTPUT_PIXELS = 4 * 1024 * 1024;
/** `size: "auto"` without reference images (diffusers' default 1024²). */
export const AUTO_SIDE = 1024;
/** Longest prompt in characters (OpenAI's GPT-image limit; the tokenizer keeps 512 tokens anyway). */
export const PROMPT_MAX_CHARS = 32000;
/** `partial_images` (OpenAI: 0–3). */
export const PARTIAL_IMAGES_MAX = 3;

/** OpenAI fields accepted and ignored: they select among OpenAI's own models and have no klein meaning. */
const IGNORED = new Set(['quality', 'moderation', 'style', 'user', 'input_fidelity']);
const KNOWN = new Set([
  'model', 'prompt', 'n', 'size', 'response_format', 'output_format', 'output_compression', 'background', 'stream', 'partial_images',
  'seed', 'steps', 'guidance', 'negative_prompt', 'loras', ...IGNORED,
]);

/** A checked request: one `Pipeline.generate` per image, `seed + i` for image i. */
export interface ImageJob {
  prompt: string;
  n: number;
  /** Output size in pixels, or 'auto': 1024² for generations, the first reference's size for edits. */
  size: { width: number; height: number } | 'auto';
  responseFormat: 'b64_json' | 'url';
  outputFormat: OutputFormat;
  /** 0–100, jpeg and webp only (OpenAI `output_compression`; default 100). */
  outputCompression: number;
  /** First image's seed, 0…2³²−1 − (n − 1); drawn at random when absent. */
  seed?: number;
  /** Denoising steps; absent: the model's default (ModelInfo.defaultSteps: 4 distilled, 50 base). */
  steps?: number;
  /** Extension for base models (guidance scale); a distilled model refuses any value but 1. */
  guidance?: number;
  /** Extension for base models; a distilled model refuses a non-empty one. */
  negativePrompt?: string;
  stream: boolean;
  /** Previews sent before each final image when streaming (0–3). */
  partialImages: number;
  /** Extension: LoRAs the server holds (--lora-dir), by name, applied to every image; absent: none. */
  loras?: LoraUse[];
}

type Raw = Record<string, unknown>;

/** Reads field `name` as an integer: a JSON number, or (multipart) a decimal string. */
function int(raw: Raw, name: string, min: number, max: number, form: boolean): number | undefined {
  let v = raw[name];
  if (v === undefined || v === null || (form && v === '')) return undefined;
  if (form && typeof v === 'string' && /^-?\d+$/.test(v.trim())) v = Number(v.trim());
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidField(name, `'${name}' must be an integer from ${min} to ${max}, got ${JSON.stringify(raw[name])}`);
  if (v < min || v > max) throw invalidField(name, `'${name}' must be from ${min} to ${max}, got ${v}`);
  return v;
}

function num(raw: Raw, name: string, min: number, max: number, form: boolean): number | undefined {
  let v = raw[name];
  if (v === undefined || v === null || (form && v === '')) return undefined;
  if (form && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) v = Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw invalidField(name, `'${name}' must be a number from ${min} to ${max}, got ${JSON.stringify(raw[name])}`);
  return v;
}

function str(raw: Raw, name: string): string | undefined {
  const v = raw[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidField(name, `'${name}' must be a string`);
  return v;
}

function oneOf<T extends string>(raw: Raw, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(raw, name);
  if (v === undefined || v === '') return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw invalidField(name, `'${name}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${v}'`);
  return v as T;
}

function bool(raw: Raw, name: string, form: boolean): boolean {
  const v = raw[name];
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (form && (v === 'true' || v === 'false')) return v === 'true';
  throw invalidField(name, `'${name}' must be true or false`);
}

/**
 * `"WxH"` (multiples of 16, 64–2048 a side, at most 4 MP) or `"auto"`. Errors: 400 with param 'size'.
 */
export function parseSize(v: string | undefined): ImageJob['size'] {
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(v);
  const rule = `use "WxH" with multiples of 16 from ${SIZE_MIN} to ${SIZE_MAX} a side and at most ${MAX_OUTPUT_PIXELS / 2 ** 20} MP, or "auto"`;
  if (!m) throw invalidField('size', `'size' ${JSON.stringify(v)} is invalid: ${rule}`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  for (const s of [width, height]) {
    if (s % 16 !== 0 || s < SIZE_MIN || s > SIZE_MAX) throw invalidField('size', `'size' ${v} is invalid: ${rule}`);
  }
  if (width * height > MAX_OUTPUT_PIXELS) throw invalidField('size', `'size' ${v} is ${((width * height) / 2 ** 20).toFixed(2)} MP: ${rule}`);
  return { width, height };
}

const LORA_KEYS = new Set(['name', 'strength']);
const loraRule = `'loras' must be a list of at most ${LORAS_MAX} objects {"name": string, "strength"?: number from -${LORA_STRENGTH_MAX} to ${LORA_STRENGTH_MAX}, default 1}`;
const invalidLora = (message: string) => invalidField('loras', message, 'invalid_lora');

/**
 * The `loras` extension: a JSON array of `{name, strength?}` (strength default 1), or on multipart
 * the same JSON as a string, or an array already assembled from `loras[][name]` parts (how the
 * official clients encode an array of objects; its strengths arrive as strings). The engine's rules
 * (validateLoraUses: ±LORA_STRENGTH_MAX, at most LORAS_MAX, no name twice) apply. `available`: the
 * names the server holds; a name outside them is a 400 `lora_not_found` listing them.
 * Errors: ApiError 400, param 'loras', code `invalid_lora` or `lora_not_found`.
 */
export function parseLoras(v: unknown, form: boolean, available?: readonly string[]): LoraUse[] | undefined {
  if (v === undefined || v === null || (form && v === '')) return undefined;
  if (form && typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw invalidLora(`'loras' is not valid JSON: ${loraRule}`);
    }
  }
  if (!Array.isArray(v)) throw invalidLora(`${loraRule}; got ${JSON.stringify(v)}`);
  const uses = v.map((u: unknown, i): LoraUse => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) throw invalidLora(`'loras[${i}]' must be an object {"name", "strength"?}; got ${JSON.stringify(u)}`);
    const extra = Object.keys(u).find((k) => !LORA_KEYS.has(k));
    if (extra !== undefined) throw invalidLora(`'loras[${i}]' has an unknown key '${extra}': ${loraRule}`);
    const { name, strength: raw } = u as { name?: unknown; strength?: unknown };
    if (typeof name !== 'string' || name === '') throw invalidLora(`'loras[${i}].name' must be a non-empty string (a LoRA listed by GET /v1/models); got ${JSON.stringify(name)}`);
    let strength = raw ?? 1;
    if (form && typeof strength === 'string' && strength.trim() !== '' && Number.isFinite(Number(strength))) strength = Number(strength);
    if (typeof strength !== 'number') throw invalidLora(`'loras[${i}].strength' must be a number from -${LORA_STRENGTH_MAX} to ${LORA_STRENGTH_MAX}; got ${JSON.stringify(raw)}`);
    return { name, strength };
  });
  try {
    validateLoraUses(uses);
  } catch (e) {
    if (e instanceof InvalidInput) throw invalidLora(`'loras': ${e.message}`);
    throw e;
  }
  if (available) {
    const missing = uses.find((u) => !available.includes(u.name));
    if (missing) {
      const held = available.length ? `available: ${available.map((n) => `"${n}"`).join(', ')}` : 'none is loaded (start the server with --lora-dir)';
      throw new ApiError(400, `LoRA "${missing.name}" is not loaded on this server; ${held} (GET /v1/models lists them)`, 'invalid_request_error', 'loras', 'lora_not_found');
    }
  }
  return uses;
}

/**
 * Checks the fields of a generations (JSON, `form` false) or edits (multipart, `form` true: numbers
 * and booleans arrive as strings) request. `distilled`: the loaded model ignores guidance, so a
 * guidance ≠ 1 or a negative prompt is refused rather than silently dropped. `loraNames`: the LoRAs
 * the server holds (parseLoras; unchecked when absent).
 * Errors: ApiError 400 (param = the field), 404 for a `model` other than MODEL_ID.
 */
export function parseImageFields(raw: Raw, form: boolean, distilled = true, loraNames?: readonly string[]): ImageJob {
  for (const k of Object.keys(raw)) {
    if (!KNOWN.has(k)) throw invalidField(k, `unknown parameter '${k}'`, 'unknown_parameter');
  }
  const model = str(raw, 'model');
  if (model !== undefined && model !== '' && model !== MODEL_ID) {
    throw new ApiError(404, `the model '${model}' does not exist on this server; it serves '${MODEL_ID}' (GET /v1/models)`, 'invalid_request_error', 'model', 'model_not_found');
  }
  const prompt = str(raw, 'prompt');
  if (prompt === undefined) throw invalidField('prompt', "'prompt' is required", 'missing_required_parameter');
  if (prompt.length > PROMPT_MAX_CHARS) throw invalidField('prompt', `'prompt' has ${prompt.length} characters; at most ${PROMPT_MAX_CHARS}`);
  const n = int(raw, 'n', 1, N_MAX, form) ?? 1;
  const size = parseSize(str(raw, 'size'));
  const responseFormat = oneOf(raw, 'response_format', ['b64_json', 'url'] as const, 'b64_json');
  const outputFormat = oneOf(raw, 'output_format', ['png', 'jpeg', 'webp'] as const, 'png');
  const outputCompression = int(raw, 'output_compression', 0, 100, form) ?? 100;
  const background = oneOf(raw, 'background', ['transparent', 'opaque', 'auto'] as const, 'auto');
  if (background === 'transparent') {
    throw invalidField('background', "'background': 'transparent' is not supported: FLUX.2 [klein] generates opaque images; use 'opaque' or 'auto'", 'unsupported_value');
  }
  const stream = bool(raw, 'stream', form);
  const partialImages = int(raw, 'partial_images', 0, PARTIAL_IMAGES_MAX, form) ?? 0;
  const seed = int(raw, 'seed', 0, 0xffffffff - (n - 1), form);
  const steps = int(raw, 'steps', 1, STEPS_MAX, form);
  const guidance = num(raw, 'guidance', 0, 100, form);
  const negativePrompt = str(raw, 'negative_prompt');
  if (distilled && guidance !== undefined && guidance !== 1) {
    throw invalidField('guidance', `'guidance' ${guidance}: the loaded model is distilled (guidance is built in); guidance needs a base model`, 'unsupported_value');
  }
  if (distilled && negativePrompt) {
    throw invalidField('negative_prompt', "'negative_prompt': the loaded model is distilled and has no classifier-free guidance; a negative prompt needs a base model", 'unsupported_value');
  }
  if (!distilled && negativePrompt && guidance !== undefined && guidance <= 1) {
    throw invalidField('negative_prompt', `'negative_prompt' has no effect at guidance ${guidance}: classifier-free guidance needs guidance > 1`, 'unsupported_value');
  }
  const loras = parseLoras(raw.loras, form, loraNames);
  return {
    prompt, n, size, responseFormat, outputFormat, outputCompression, stream, partialImages,
    ...(steps !== undefined ? { steps } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(guidance !== undefined ? { guidance } : {}),
    ...(negativePrompt ? { negativePrompt } : {}),
    ...(loras?.length ? { loras } : {}),
  };
}
