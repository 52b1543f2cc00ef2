/**
 * LoRA `.safetensors` for the FLUX.2 transformer → a list of low-rank updates of OUR weights:
 * W ← W + strength·scale·B·A with A: [r, in], B: [out, r] (strength is the caller's).
 * Sources: diffusers loaders/lora_conversion_utils.py and lora_pipeline.py Flux2LoraLoaderMixin (@58eb52c),
 * test/golden/README.md "LoRA cases".
 *
 * Namings accepted (one per file):
 *   - ai-toolkit: `diffusion_model.<BFL module>.lora_A.weight` / `.lora_B.weight`; scale 1 (ai-toolkit
 *     saves no alpha: alpha = rank). `base_model.model.` is read as `diffusion_model.` and an
 *     already-expanded diffusers module after the prefix is taken as is (both as diffusers does).
 *     ComfyUI-style `.lora_down` / `.lora_up` / `.alpha` under this prefix are accepted too.
 *   - kohya: `lora_unet_<BFL module, . → _>.lora_down.weight` / `.lora_up.weight` / `.alpha`;
 *     scale = alpha / rank (alpha defaults to rank), diffusers `_convert_kohya_flux2_lora_to_diffusers`.
 *   - peft (diffusers): `transformer.<diffusers module>.lora_A.weight` / `.lora_B.weight`, or the
 *     same without `transformer.`; scale = lora_alpha / r (PEFT LoraConfig; alpha / √r with
 *     `use_rslora`) from `__metadata__.lora_adapter_metadata` (JSON written by diffusers'
 *     `write_lora_layers`, keys `transformer.lora_alpha`, `transformer.alpha_pattern`, … or
 *     unprefixed from `save_lora_adapter`), else a plain `__metadata__.lora_alpha`, else 1.
 *     alpha_pattern keys match a module by equality or as a `.`-suffix (PEFT takes regexes).
 * BFL module → our weight: table in loraNames.ts.
 *
 * Refused by name (InvalidInput): text-encoder LoRAs (`lora_te*`, `text_encoder*.`), DoRA
 * (`dora_scale`, `lora_magnitude_vector`, `use_dora`), LoKr / LoHa / LoCon-Tucker (`lokr_`, `hada_`,
 * `lora_mid`), full differences (`.diff`, `.diff_b`) and bias terms (our transformer has no biases).
 */
import { InvalidInput } from '../errors';
import { decodeToF32 } from '../util/dtype';
import { fmtShape } from '../util/assert';
import { type TensorInfo, dtypeOf, parseSafetensors } from './safetensors';
import { type LoraTarget, bflLoraTargets, kohyaToBfl } from './loraNames';

/** One low-rank update of one of our weights: ΔW = scale·B·A, ΔW: [outFeatures, inFeatures]. */
export interface LoraLayer {
  /** Our transformer weight name, as loadTransformer reads it, e.g. `transformer_blocks.0.attn.to_q.weight`. */
  target: string;
  /** [rank, inFeatures], row-major f32. Shared by the q, k and v layers of one fused qkv module: read-only. */
  a: Float32Array;
  /** [outFeatures, rank], row-major f32. */
  b: Float32Array;
  rank: number;
  inFeatures: number;
  outFeatures: number;
  /** alpha / rank (alpha / √rank with rsLoRA) or 1; the caller's strength multiplies it. */
  scale: number;
}

export type LoraFormat = 'ai-toolkit' | 'kohya' | 'peft';

export interface ParsedLora {
  format: LoraFormat;
  /** In file order; fused modules in the order of their parts (q, k, v). */
  layers: LoraLayer[];
  /** Largest rank. */
  rank: number;
  /** Bytes of f32 data the layers hold (a shared A counted once). */
  bytes: number;
}

/** How many offending keys an error lists. */
const LISTED_KEYS = 5;

const TEXT_ENCODER = /^(lora_te|text_encoder|text_encoders\.)/;
const REFUSED: readonly { re: RegExp; kind: string }[] = [
  { re: /dora_scale|lora_magnitude_vector/, kind: 'DoRA' },
  { re: /(^|[._])lokr_/, kind: 'LoKr' },
  { re: /(^|[._])hada_/, kind: 'LoHa' },
  { re: /\.lora_mid\./, kind: 'LoCon/Tucker (lora_mid)' },
  { re: /\.diff(_b)?$/, kind: 'full-difference (.diff)' },
  { re: /\.bias$/, kind: 'bias (the transformer has no biases)' },
];
const PREFIXES: readonly { prefix: string; format: LoraFormat }[] = [
  { prefix: 'diffusion_model.', format: 'ai-toolkit' },
  { prefix: 'base_model.model.', format: 'ai-toolkit' },
  { prefix: 'lora_unet_', format: 'kohya' },
  { prefix: 'transformer.', format: 'peft' },
];
const PARTS: readonly { suffix: string; part: 'a' | 'b' | 'alpha' }[] = [
  { suffix: '.lora_A.weight', part: 'a' },
  { suffix: '.lora_B.weight', part: 'b' },
  { suffix: '.lora_down.weight', part: 'a' },
  { suffix: '.lora_up.weight', part: 'b' },
  { suffix: '.alpha', part: 'alpha' },
];

type Tensor = { info: TensorInfo; bytes: Uint8Array };

/** The tensors of one LoRA module, under their file keys. */
interface Module {
  name: string;
  a?: [string, Tensor];
  b?: [string, Tensor];
  alpha?: [string, Tensor];
}

function listed(keys: readonly string[]): string {
  const more = keys.length > LISTED_KEYS ? ` and ${keys.length - LISTED_KEYS} more` : '';
  return keys.slice(0, LISTED_KEYS).join(', ') + more;
}

/** `__metadata__` of a file parseSafetensors accepted (string values only). */
function metadataOf(bytes: Uint8Array): Record<string, string> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as { __metadata__?: unknown };
  const meta = header.__metadata__;
  if (typeof meta !== 'object' || meta === null) return {};
  return Object.fromEntries(Object.entries(meta).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** PEFT alpha for a diffusers module: alpha_pattern, else lora_alpha (metadata); undefined when absent. */
function peftAlpha(meta: Record<string, string>, what: string): { alpha: (module: string) => number | undefined; rs: boolean } {
  let cfg: Record<string, unknown> = {};
  const raw = meta.lora_adapter_metadata;
  if (raw !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new InvalidInput(`${what}: __metadata__.lora_adapter_metadata is not JSON (${(e as Error).message})`);
    }
    const all = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    const own = Object.entries(all).filter(([k]) => k.startsWith('transformer.')).map(([k, v]) => [k.slice('transformer.'.length), v]);
    cfg = { ...all, ...Object.fromEntries(own) };
  }
  if (cfg.use_dora === true) throw new InvalidInput(`${what}: DoRA LoRAs (use_dora) are not supported`);
  const num = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    const x = typeof v === 'string' ? Number(v) : v;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new InvalidInput(`${what}: metadata ${name} = ${JSON.stringify(v)} is not a number`);
    return x;
  };
  const alpha = num(cfg.lora_alpha, 'lora_alpha') ?? num(meta.lora_alpha, 'lora_alpha');
  const pattern = typeof cfg.alpha_pattern === 'object' && cfg.alpha_pattern !== null ? Object.entries(cfg.alpha_pattern) : [];
  return {
    rs: cfg.use_rslora === true,
    alpha: (module) => {
      const hit = pattern.find(([k]) => module === k || module.endsWith(`.${k}`));
      return hit ? num(hit[1], `alpha_pattern[${hit[0]}]`) : alpha;
    },
  };
}

/** Splits the file's keys into LoRA modules; throws for refused, mixed or non-LoRA keys. */
function groupModules(tensors: Map<string, Tensor>, what: string): { format: LoraFormat; modules: Module[] } {
  const keys = [...tensors.keys()];
  const te = keys.filter((k) => TEXT_ENCODER.test(k));
  if (te.length) throw new InvalidInput(`${what}: LoRAs for the text encoder are not supported (keys ${listed(te)})`);
  for (const { re, kind } of REFUSED) {
    const bad = keys.filter((k) => re.test(k));
    if (bad.length) throw new InvalidInput(`${what}: ${kind} LoRA tensors are not supported (keys ${listed(bad)})`);
  }
  const formats = new Map<LoraFormat, string>();
  const modules = new Map<string, Module>();
  const other: string[] = [];
  for (const [key, t] of tensors) {
    const p = PARTS.find((x) => key.endsWith(x.suffix));
    if (!p) {
      other.push(key);
      continue;
    }
    const name = key.slice(0, -p.suffix.length);
    const format = PREFIXES.find((x) => name.startsWith(x.prefix))?.format ?? 'peft';
    if (!formats.has(format)) formats.set(format, key);
    const m = modules.get(name) ?? { name };
    m[p.part] = [key, t];
    modules.set(name, m);
  }
  if (modules.size === 0) {
    throw new InvalidInput(`${what}: no LoRA tensors (keys ending in .lora_A/.lora_B.weight or .lora_down/.lora_up.weight); keys: ${listed(keys)}`);
  }
  if (formats.size > 1) throw new InvalidInput(`${what}: mixes LoRA namings (${[...formats].map(([f, k]) => `${f}: ${k}`).join('; ')})`);
  if (other.length) throw new InvalidInput(`${what}: ${other.length} tensors are not LoRA tensors of this transformer: ${listed(other)}`);
  const partless = [...modules.values()].filter((m) => !m.a || !m.b);
  if (partless.length) {
    const miss = partless.map((m) => (m.a ? `${m.a[0]} without its B (lora_B / lora_up)` : m.b ? `${m.b[0]} without its A (lora_A / lora_down)` : `${m.alpha?.[0]} without A and B`));
    throw new InvalidInput(`${what}: incomplete LoRA modules: ${listed(miss)}`);
  }
  return { format: [...formats.keys()][0] as LoraFormat, modules: [...modules.values()] };
}

/** The module name without prefix (BFL or diffusers naming; kohya's turned to BFL) and its targets (undefined: unknown module). */
function resolve(format: LoraFormat, name: string): { module: string; targets: LoraTarget[] | undefined } {
  const prefix = PREFIXES.find((x) => name.startsWith(x.prefix))?.prefix ?? '';
  const bare = name.slice(prefix.length);
  const bfl = format === 'kohya' ? kohyaToBfl(bare) : bare;
  if (bfl === undefined) return { module: bare, targets: undefined };
  const t = bflLoraTargets(bfl) ?? (format === 'kohya' ? undefined : [{ weight: `${bfl}.weight`, of: 1, take: [0] }]);
  return { module: bfl, targets: t };
}

function decode(t: Tensor): Float32Array {
  return decodeToF32(t.bytes, dtypeOf(t.info));
}

/**
 * Parses a LoRA file for the FLUX.2 transformer. `what` names the file in messages; `expected(w)`
 * gives our weight `w`'s shape [out, in] (e.g. from tensorList), undefined when the model has no
 * such weight. Throws InvalidInput naming `what` (at most LISTED_KEYS keys listed): not a
 * safetensors file or truncated; text-encoder, DoRA, LoKr, LoHa, bias or `.diff` tensors; no LoRA
 * tensors; mixed namings; an A without its B (or a B or alpha without its A); keys that are no
 * LoRA tensor of a weight this transformer has (another model's LoRA); A/B shapes that do not fit
 * the weight (another model size, e.g. klein 9B with D = 4096), both shapes given; two modules for
 * one weight. WeightMismatch (dtypeOf) for tensors that are not F32, F16 or BF16.
 */
export function parseLora(bytes: Uint8Array, what: string, expected: (weight: string) => readonly number[] | undefined): ParsedLora {
  let tensors: Map<string, Tensor>;
  try {
    tensors = parseSafetensors(bytes, what);
  } catch (e) {
    if (!(e instanceof InvalidInput)) throw e;
    throw new InvalidInput(`${what}: not a LoRA .safetensors file, or truncated (${e.message})`);
  }
  const { format, modules } = groupModules(tensors, what);
  const peft = format === 'peft' ? peftAlpha(metadataOf(bytes), what) : undefined;

  const unknown: string[] = [];
  const misfit: string[] = [];
  const plans: { m: Module; t: LoraTarget[]; module: string; r: number; inF: number; outF: number }[] = [];
  for (const m of modules) {
    const [aKey, a] = m.a as [string, Tensor];
    const [bKey, b] = m.b as [string, Tensor];
    const { module, targets } = resolve(format, m.name);
    if (!targets || targets.some((t) => expected(t.weight) === undefined)) {
      unknown.push(aKey);
      continue;
    }
    const [r = -1, inF = -1] = a.info.shape;
    const [outF = -1, rb = -1] = b.info.shape;
    const shapes = `${aKey} ${fmtShape(a.info.shape)}, ${bKey} ${fmtShape(b.info.shape)}`;
    const fits = (t: LoraTarget): boolean => {
      const w = expected(t.weight) as readonly number[];
      return w.length === 2 && w[0] === (outF / t.of) * t.take.length && w[1] === inF;
    };
    if (a.info.shape.length !== 2 || b.info.shape.length !== 2 || r !== rb || r === 0 || !targets.every(fits)) {
      misfit.push(`${shapes} vs ${targets.map((t) => `${t.weight} ${fmtShape(expected(t.weight) as readonly number[])}`).join(', ')}`);
      continue;
    }
    plans.push({ m, t: targets, module, r, inF, outF });
  }
  if (unknown.length) throw new InvalidInput(`${what}: ${unknown.length} LoRA modules match no weight of this transformer (a LoRA for another model?): ${listed(unknown)}`);
  if (misfit.length) throw new InvalidInput(`${what}: LoRA shapes do not fit this transformer (a LoRA for another model size?): ${listed(misfit)}`);

  const layers: LoraLayer[] = [];
  const seen = new Map<string, string>();
  let bytesHeld = 0;
  for (const { m, t, module, r, inF, outF } of plans) {
    const a = decode((m.a as [string, Tensor])[1]);
    const b = decode((m.b as [string, Tensor])[1]);
    bytesHeld += a.byteLength;
    const alphaT = m.alpha ? decode(m.alpha[1]) : undefined;
    if (alphaT && alphaT.length !== 1) throw new InvalidInput(`${what}: ${m.alpha?.[0]} has ${alphaT.length} values; an alpha is one number`);
    const alpha = alphaT?.[0] ?? peft?.alpha(module);
    const scale = alpha === undefined ? 1 : alpha / (peft?.rs ? Math.sqrt(r) : r);
    for (const { weight, of, take } of t) {
      const block = (outF / of) * r; // floats per row block of B
      const prev = seen.get(weight);
      if (prev) throw new InvalidInput(`${what}: two LoRA modules change ${weight}: ${prev}, ${m.name}`);
      seen.set(weight, m.name);
      const bt = of === 1 ? b : new Float32Array(take.length * block);
      if (of !== 1) take.forEach((k, i) => bt.set(b.subarray(k * block, (k + 1) * block), i * block));
      bytesHeld += bt.byteLength;
      layers.push({ target: weight, a, b: bt, rank: r, inFeatures: inF, outFeatures: bt.length / r, scale });
    }
  }
  return { format, layers, rank: Math.max(...layers.map((l) => l.rank)), bytes: bytesHeld };
}
