/**
 * The LoRA files a pipeline holds (Pipeline.addLora / removeLora) and the request's selection of them
 * (GenerateRequest.loras) turned into run-time terms (../model/lora.ts). The stacked terms of the last
 * selection are kept until it changes, so steps and repeated requests reuse them.
 */
import { InvalidInput } from '../errors';
import type { Configs } from '../model/config';
import { type LoraTerm, buildLoraTerms, releaseLoraTerms, withLoras } from '../model/lora';
import { tensorList } from '../model/tensorList';
import type { Ops } from '../ops/ops';
import { type ParsedLora, parseLora } from '../weights/lora';
import { bflLoraModules, bflLoraTargets } from '../weights/loraNames';
import type { LoraInfo, LoraUse } from './types';

/** The largest |strength| a request may give a LoRA (the app offers −2…2; past ±10 the image is noise). */
export const LORA_STRENGTH_MAX = 10;
/** LoRAs one request may apply at once. */
export const LORAS_MAX = 16;
/** Longest LoRA name (a file name or URL). */
const NAME_MAX = 500;

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX) throw new InvalidInput(`a LoRA name must be a string of 1…${NAME_MAX} characters`);
}

/** Checks a request's `loras` (shape, names, strengths) without a model: InvalidInput naming the entry. */
export function validateLoraUses(uses: unknown): asserts uses is LoraUse[] {
  if (!Array.isArray(uses)) throw new InvalidInput('loras must be a list of { name, strength }');
  if (uses.length > LORAS_MAX) throw new InvalidInput(`${uses.length} LoRAs: at most ${LORAS_MAX} at once`);
  const seen = new Set<string>();
  uses.forEach((u: unknown, i) => {
    const { name, strength } = (u ?? {}) as { name?: unknown; strength?: unknown };
    checkName(name);
    if (typeof strength !== 'number' || !Number.isFinite(strength) || Math.abs(strength) > LORA_STRENGTH_MAX) {
      throw new InvalidInput(`LoRA "${name}" (loras[${i}]): strength ${String(strength)} is invalid, use a number from -${LORA_STRENGTH_MAX} to ${LORA_STRENGTH_MAX}`);
    }
    if (seen.has(name)) throw new InvalidInput(`LoRA "${name}" is listed twice`);
    seen.add(name);
  });
}

/** The transformer's weight names → shapes (what a LoRA's layers must fit). */
export async function transformerShapes(configs: Configs): Promise<Map<string, readonly number[]>> {
  const specs = await tensorList(configs);
  return new Map(specs.filter((t) => t.stage === 'transformer').map((t) => [t.name, t.shape]));
}

/** Parses a LoRA file against a model's configs without loading the model (the CLI's early check); InvalidInput as Pipeline.addLora. */
export async function checkLoraFile(configs: Configs, name: string, bytes: Uint8Array): Promise<ParsedLora> {
  const shapes = await transformerShapes(configs);
  return parseLora(bytes, `LoRA "${name}"`, (w) => shapes.get(w));
}

/**
 * A LoRA of rank `rank` on every transformer weight a FLUX.2 LoRA can change (loraNames.ts: blocks,
 * embedders, modulations, final layer; a fused qkv as three layers), filled by `fill` (default
 * zeros): the cost of a LoRA at the real shapes, for plans and benchmarks.
 */
export async function syntheticLora(configs: Configs, rank: number, fill: (n: number) => Float32Array = (n) => new Float32Array(n)): Promise<ParsedLora> {
  const shapes = await transformerShapes(configs);
  const t = configs.transformer;
  const layers: ParsedLora['layers'] = [];
  for (const module of bflLoraModules(t.num_layers, t.num_single_layers)) {
    let a: Float32Array | null = null; // the parts of a fused module (q, k, v) share A, as parsed files do
    for (const target of bflLoraTargets(module) ?? []) {
      const [out, inF] = shapes.get(target.weight) as [number, number];
      a ??= fill(rank * inF);
      layers.push({ target: target.weight, a, b: fill(out * rank), rank, inFeatures: inF, outFeatures: out, scale: 1 });
    }
  }
  const arrays = new Set(layers.flatMap((l) => [l.a, l.b]));
  return { format: 'ai-toolkit', layers, rank, bytes: [...arrays].reduce((n, x) => n + x.byteLength, 0) };
}

export class LoraSet<T> {
  private readonly files = new Map<string, { info: LoraInfo; parsed: ParsedLora }>();
  private shapes: Promise<Map<string, readonly number[]>> | null = null;
  private built: { key: string; terms: Map<string, LoraTerm<T>> } | null = null;
  /** Terms dropped while a generate() used them, freed when it ends (endRun). */
  private retired: Map<string, LoraTerm<T>>[] = [];
  /** generate() calls running (a removed or replaced LoRA must not free terms they use). */
  private running = 0;

  /** `names`: the transformer's weight tensors → checkpoint names (filled when its weights load). */
  constructor(
    private readonly ops: Ops<T>,
    private readonly configs: Configs,
    private readonly names: ReadonlyMap<T, string>,
  ) {}

  /** Parses and keeps a LoRA file, or keeps an already parsed LoRA (plans, benchmarks) (Pipeline.addLora). */
  async add(name: string, file: Uint8Array | ParsedLora): Promise<LoraInfo> {
    checkName(name);
    let parsed: ParsedLora;
    if (file instanceof Uint8Array) {
      this.shapes ??= transformerShapes(this.configs);
      const shapes = await this.shapes;
      parsed = parseLora(file, `LoRA "${name}"`, (w) => shapes.get(w));
    } else if (file && Array.isArray((file as ParsedLora).layers)) parsed = file;
    else throw new InvalidInput(`LoRA "${name}": the file must be given as bytes`);
    const info: LoraInfo = { name, format: parsed.format, rank: parsed.rank, layers: parsed.layers.length, bytes: parsed.bytes };
    this.remove(name);
    this.files.set(name, { info, parsed });
    return info;
  }

  remove(name: string): void {
    if (this.files.delete(name)) this.drop();
  }

  list(): LoraInfo[] {
    return [...this.files.values()].map((f) => f.info);
  }

  /** InvalidInput for a selected LoRA that is not held. */
  check(uses: readonly LoraUse[]): void {
    for (const u of uses) {
      if (!this.files.has(u.name)) {
        const held = [...this.files.keys()];
        throw new InvalidInput(`LoRA "${u.name}" is not loaded (${held.length ? `loaded: ${held.map((n) => `"${n}"`).join(', ')}` : 'none is'}); add the file first`);
      }
    }
  }

  /**
   * Ops that apply the selected LoRAs to the transformer's weights (after its weights were acquired);
   * `ops` itself when none is selected or all have strength 0.
   */
  opsFor(uses: readonly LoraUse[]): Ops<T> {
    this.check(uses);
    const active = uses.filter((u) => u.strength !== 0);
    const key = JSON.stringify(active.map((u) => [u.name, u.strength]));
    if (this.built?.key !== key) {
      this.drop();
      const terms = buildLoraTerms(this.ops, active.map((u) => ({ lora: (this.files.get(u.name) as { parsed: ParsedLora }).parsed, strength: u.strength })));
      this.built = { key, terms };
    }
    const byTensor = new Map<T, LoraTerm<T>>();
    for (const [t, name] of this.names) {
      const term = this.built?.terms.get(name);
      if (term) byTensor.set(t, term);
    }
    return withLoras(this.ops, byTensor);
  }

  /** Frees the stacked terms (rebuilt by the next opsFor()); while a run uses them, when it ends. */
  private drop(): void {
    if (this.built && this.running > 0) this.retired.push(this.built.terms);
    else if (this.built) releaseLoraTerms(this.ops, this.built.terms);
    this.built = null;
  }

  /** A generate() starts: terms stay valid until its endRun(), whatever add() or remove() do meanwhile. */
  beginRun(): void {
    this.running++;
  }

  endRun(): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running > 0) return;
    for (const t of this.retired) releaseLoraTerms(this.ops, t);
    this.retired = [];
  }

  dispose(): void {
    this.drop();
    for (const t of this.retired) releaseLoraTerms(this.ops, t);
    this.retired = [];
    this.files.clear();
  }
}
