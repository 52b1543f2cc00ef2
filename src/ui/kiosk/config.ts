/**
 * Kiosk configuration: a JSON object read at start from `public/kiosk.json` (served as
 * `<base>kiosk.json`) or from `?config=<same-origin path>`. Every key is optional: a missing key
 * takes its value from DEFAULT_KIOSK_CONFIG. A key the kiosk does not know is an error (it is
 * usually a typo), except keys starting with `$` (comments, e.g. `"$comment"`). All problems are
 * reported at once, each naming its key, and the kiosk shows them on screen instead of starting.
 * The keys are documented in ./README.md.
 */
import { classifySource } from '../../weights/source';
import type { ModelSource, StoredModel } from '../../worker/api';
import { sizeError, stepsError } from '../validate';
import { InvalidInput } from '../../errors';
import { type SafetyConfig, validateSafetyConfig } from '../../safety/config';
import { compileBlocklist } from './blocklist';
import { type PinHash, parsePinHash } from './pin';

export interface KioskConfig {
  /** Heading shown on the kiosk screen and the welcome slide. */
  title: string;
  /**
   * Model loaded at start: `stored` (a complete model stored in this browser, see
   * pickStoredModel: the kiosk never downloads), `store:<id>` (that stored model), a hub repo id
   * `owner/name[@revision]` or an http(s) folder URL (streamed on every start).
   */
  model: ModelSource;
  /** Output size in pixels (multiples of 16, 64…2048) and denoising steps (1…8). */
  width: number;
  height: number;
  steps: number;
  /** Prompts offered as chips; a tap puts the text into the prompt field. */
  suggestions: readonly string[];
  /** Words and phrases that refuse a prompt (whole words after folding look-alikes; see blocklist.ts). */
  blockedWords: readonly string[];
  /** Longest accepted prompt, in characters. */
  maxPromptLength: number;
  /** Seconds without interaction before the visitor's session is cleared. */
  idleResetSeconds: number;
  /** Seconds without interaction before the attract loop starts. */
  attractAfterSeconds: number;
  /** Seconds each gallery image stays up in the attract loop. */
  slideSeconds: number;
  /** Requests that may wait behind the running one, all visitors together. */
  maxQueued: number;
  /** Requests one visitor may have waiting or running at once. */
  maxQueuedPerVisitor: number;
  /**
   * The PIN's salted PBKDF2 hash, written in kiosk.json as `pbkdf2-sha256$<iterations>$<salt>$<hash>`
   * (see pin.ts; made by `npm run kiosk-pin -- <PIN>`), or null for no PIN.
   */
  pin: PinHash | null;
  /**
   * The safety checker (src/safety): `{ model, flaggedLabels, threshold, action, dtype?, device? }` with
   * action `block` (a friendly notice instead of the picture) or `blur` (the picture blurred with
   * the notice); either way a flagged picture never joins the gallery (the attract loop). null or
   * action `off`: no check. The shipped public/kiosk.json turns it on.
   */
  safety: SafetyConfig | null;
}

/** The `model` value meaning "the model stored in this browser" (the default). */
export const STORED_MODEL = 'stored';

export const DEFAULT_KIOSK_CONFIG: Readonly<KioskConfig> = Object.freeze({
  title: 'Kleinbild',
  model: STORED_MODEL,
  width: 512,
  height: 512,
  steps: 4,
  suggestions: Object.freeze([
    'A red balloon floating over a mountain lake at sunrise',
    'A cat astronaut in a tiny spaceship, watercolor',
    'A cozy library inside a giant tree, warm light',
    'A lighthouse on a cliff in a storm, oil painting',
  ]),
  blockedWords: Object.freeze([]),
  maxPromptLength: 300,
  idleResetSeconds: 90,
  attractAfterSeconds: 120,
  slideSeconds: 6,
  maxQueued: 6,
  maxQueuedPerVisitor: 1,
  pin: null,
  safety: null,
});

export type KioskConfigResult = { ok: true; config: KioskConfig } | { ok: false; errors: string[] };

const SECONDS_MAX = 24 * 60 * 60;
const QUEUE_MAX = 100;
const PROMPT_LENGTH_MAX = 2000;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Checks one key's value: the value to keep (normalised), or the message naming `key`. */
type Check = (v: unknown, key: string) => { value: unknown } | { error: string };

function int(min: number, max: number): Check {
  return (v, key) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? { value: v }
      : { error: `${key} must be a whole number from ${min} to ${max} (got ${describe(v)}).` };
}

/** A number checked by one of the prompt form's validators (which take the field's text). */
function formNumber(validate: (text: string) => string | null): Check {
  return (v, key) => {
    const e = typeof v === 'number' ? validate(String(v)) : `must be a number (got ${describe(v)}).`;
    return e ? { error: `${key}: ${e}` } : { value: v };
  };
}

function seconds(min: number): Check {
  return (v, key) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= SECONDS_MAX
      ? { value: v }
      : { error: `${key} must be a number of seconds from ${min} to ${SECONDS_MAX} (got ${describe(v)}).` };
}

function text(v: unknown, key: string): { value: string } | { error: string } {
  return typeof v === 'string' && v.trim() !== '' ? { value: v.trim() } : { error: `${key} must be a non-empty string (got ${describe(v)}).` };
}

function strings(v: unknown, key: string): { value: readonly string[] } | { error: string } {
  if (!Array.isArray(v)) return { error: `${key} must be an array of strings (got ${describe(v)}).` };
  const bad = v.findIndex((s) => typeof s !== 'string' || s.trim() === '');
  if (bad >= 0) return { error: `${key}[${bad}] must be a non-empty string (got ${describe(v[bad])}).` };
  return { value: (v as string[]).map((s) => s.trim()) };
}

const CHECKS: Readonly<Record<keyof KioskConfig, Check>> = {
  title: text,
  model: (v, key) => {
    const t = text(v, key);
    if ('error' in t) return t;
    if (t.value === STORED_MODEL || /^store:\S+$/.test(t.value)) return t;
    return classifySource(t.value) === 'path'
      ? { error: `${key} must be "stored", store:<id>, a hub repo id like owner/name[@revision] or an http(s) URL of a model folder (got ${describe(v)}).` }
      : t;
  },
  width: formNumber((t) => sizeError('Width', t)),
  height: formNumber((t) => sizeError('Height', t)),
  steps: formNumber(stepsError),
  suggestions: strings,
  blockedWords: strings,
  maxPromptLength: int(1, PROMPT_LENGTH_MAX),
  idleResetSeconds: seconds(1),
  attractAfterSeconds: seconds(1),
  slideSeconds: seconds(0.5),
  maxQueued: int(0, QUEUE_MAX),
  maxQueuedPerVisitor: int(1, QUEUE_MAX),
  safety: (v, key) => {
    if (v === null) return { value: null };
    if (typeof v !== 'object' || Array.isArray(v)) return { error: `${key} must be null or an object { model, flaggedLabels, threshold, action } (got ${describe(v)}).` };
    const known = ['model', 'flaggedLabels', 'threshold', 'action', 'dtype', 'device'];
    const extra = Object.keys(v).filter((k) => !k.startsWith('$') && !known.includes(k));
    if (extra.length) return { error: `${key}: unknown key(s) ${extra.join(', ')}; the known keys are ${known.join(', ')}.` };
    try {
      return { value: validateSafetyConfig(v as SafetyConfig) };
    } catch (e) {
      if (e instanceof InvalidInput) return { error: `${key}: ${e.message}.` };
      throw e;
    }
  },
  pin: (v, key) => {
    if (v === null) return { value: null };
    if (typeof v !== 'string') return { error: `${key} must be null or a string made by \`npm run kiosk-pin -- <PIN>\` (got ${describe(v)}).` };
    const r = parsePinHash(v);
    return 'error' in r ? { error: `${key} ${r.error} (got ${describe(v)}).` } : { value: r };
  },
};

/**
 * Keys that were once valid and are refused now, with what to do instead. They are not silently
 * ignored: a kiosk that looks protected must be.
 */
const RETIRED: Readonly<Record<string, string>> = {
  pinSha256:
    'pinSha256 is no longer accepted: an unsalted SHA-256 of a PIN is reversed in under a second. ' +
    'Make a salted hash with `npm run kiosk-pin -- <PIN>` and put the printed "pin" line in its place ' +
    '(or write "pin": null for no PIN).',
};

/**
 * Validates a parsed kiosk.json against KioskConfig. Returns the full config (defaults for missing
 * keys) or every problem found, each message naming its key and the value it got. Besides each
 * key's own range it checks that no suggestion is refused by the blocked words or longer than
 * maxPromptLength.
 */
export function parseKioskConfig(raw: unknown): KioskConfigResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: [`The kiosk configuration must be a JSON object (got ${describe(raw)}).`] };
  }
  const errors: string[] = [];
  const out: Record<string, unknown> = { ...DEFAULT_KIOSK_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('$')) continue;
    const retired = Object.hasOwn(RETIRED, key) ? RETIRED[key] : undefined;
    if (retired !== undefined) {
      errors.push(retired);
      continue;
    }
    if (!Object.hasOwn(CHECKS, key)) {
      errors.push(`Unknown key "${key}"; the known keys are ${Object.keys(CHECKS).join(', ')} (keys starting with $ are comments).`);
      continue;
    }
    const r = CHECKS[key as keyof KioskConfig](value, key);
    if ('error' in r) errors.push(r.error);
    else out[key] = r.value;
  }
  if (errors.length > 0) return { ok: false, errors };
  const config = out as unknown as KioskConfig;
  const blocklist = compileBlocklist(config.blockedWords);
  config.suggestions.forEach((s, i) => {
    if (blocklist.find(s) !== null) errors.push(`suggestions[${i}] contains a blocked word, so it could never be used.`);
    if (s.length > config.maxPromptLength) {
      errors.push(`suggestions[${i}] is ${s.length} characters long; maxPromptLength is ${config.maxPromptLength}.`);
    }
  });
  if (config.maxQueuedPerVisitor > config.maxQueued + 1) {
    errors.push(`maxQueuedPerVisitor (${config.maxQueuedPerVisitor}) cannot exceed maxQueued + 1 (${config.maxQueued + 1}: the waiting ones plus the running one).`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** The config file's URL when none is given: kiosk.json next to the app (Vite's base URL). */
export function defaultConfigPath(): string {
  return `${import.meta.env.BASE_URL}kiosk.json`;
}

/**
 * Resolves the `config` query parameter (or the default path) against `pageUrl`. Only same-origin
 * http(s) URLs are accepted: a kiosk must not be pointed at someone else's word list and PIN.
 */
export function resolveConfigUrl(param: string | null, pageUrl: string): { url: URL } | { error: string } {
  const page = new URL(pageUrl);
  let url: URL;
  try {
    url = new URL(param ?? defaultConfigPath(), page);
  } catch {
    return { error: `config=${describe(param)} is not a valid URL path.` };
  }
  if (url.origin !== page.origin) {
    return { error: `config=${describe(param)} must be a path on this site (${page.origin}), not ${url.origin}.` };
  }
  return { url };
}

/**
 * Fetches and validates the configuration at `url`. Never throws: a network failure, an HTTP error
 * or malformed JSON come back as errors, like validation problems.
 */
export async function loadKioskConfig(url: URL, fetchFn: typeof fetch = fetch): Promise<KioskConfigResult> {
  let body: string;
  try {
    const res = await fetchFn(url, { cache: 'no-cache' });
    if (!res.ok) return { ok: false, errors: [`Could not read ${url.pathname}: HTTP ${res.status} ${res.statusText}`.trim()] };
    body = await res.text();
  } catch (e) {
    return { ok: false, errors: [`Could not read ${url.pathname}: ${e instanceof Error ? e.message : String(e)}`] };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (e) {
    return { ok: false, errors: [`${url.pathname} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`] };
  }
  return parseKioskConfig(raw);
}

/**
 * The stored model a kiosk with `model: "stored"` loads: the first complete one in the store's
 * order; null when none is complete (the kiosk then says how to store one).
 */
export function pickStoredModel(models: readonly StoredModel[]): StoredModel | null {
  return models.find((m) => m.complete) ?? null;
}

/** Shown when `model` is "stored" and this browser has no complete model. */
export const NO_STORED_MODEL =
  'No model is stored in this browser yet. Open Kleinbild without ?kiosk=1, download a model under Stored models, then start the kiosk again.';
