/**
 * Reference images → packed latent tokens for the image stream (flux2-klein.md §7): preprocess
 * (references.ts), VAE encoder mean, patchify + BN-normalise. Loads the encoder weights on first
 * use (text-to-image never reads them) and keeps the tokens of the last call's references, so
 * repeated edits with the same images encode once (exact byte comparison, no hash collisions).
 */
import type { Ops } from '../ops/ops';
import type { Flux2VaeConfig } from '../model/config';
import { type EncoderWeights, encodeLatent } from '../model/vaeEncoder';
import type { ReferenceImage } from './types';
import type { Dump } from './observers';
import type { StageWeights } from './stageWeights';
import { preprocessReference, referenceIds, validateReferences } from './references';

interface Cached<T> {
  ref: ReferenceImage;
  /** [h·w, 128], owned by the cache. */
  tokens: T;
}

export interface EncodedReferences<T> {
  /** All references' tokens concatenated: [R, 128]; the caller releases it. */
  tokens: T;
  /** Position ids [R, 4]: (10·(k+1), i, j, 0) per reference k. */
  ids: Int32Array;
  count: number;
}

export class ReferenceEncoder<T> {
  private cache: Cached<T>[] = [];

  constructor(
    private readonly ops: Ops<T>,
    private readonly cfg: Flux2VaeConfig,
    /**
     * The encoder weights (`encoder.*`, `quant_conv`, `bn`; loadEncoder), read on first use. In
     * low-memory mode they are read for every encode() that has a new image and freed after it.
     */
    private readonly weights: StageWeights<T, EncoderWeights<T>>,
  ) {}

  /**
   * Encodes refs (1…4) → tokens [R, 128] + ids. With `dump`, encodes afresh and adds
   * ref{k}_pixels [1, 3, h, w], ref{k}_latent [1, 32, h/8, w/8], ref_tokens [1, R, 128], ref_ids [1, R, 4].
   * Errors: InvalidInput for a bad reference (before any weight is read).
   */
  async encode(refs: readonly ReferenceImage[], dump?: Dump): Promise<EncodedReferences<T>> {
    const { ops, cfg } = this;
    validateReferences(refs);
    const processed = refs.map((r, k) => preprocessReference(r, k));
    const next: Cached<T>[] = [];
    const ids: Int32Array[] = [];
    for (const [k, p] of processed.entries()) {
      const ref = refs[k] as ReferenceImage;
      ids.push(referenceIds(k, p.height / 16, p.width / 16));
      const hit = dump ? undefined : (this.cache.find((c) => sameImage(c.ref, ref)) ?? next.find((c) => sameImage(c.ref, ref)));
      if (hit) {
        if (!next.includes(hit)) next.push(hit);
        continue;
      }
      const w = await this.weights.acquire(); // only when some reference is new
      const pixels = ops.fromHost(p.pixels, [3, p.height, p.width], `ref${k}.pixels`);
      const z = encodeLatent(ops, w, cfg, pixels);
      ops.release(pixels);
      if (dump) {
        dump.set(`ref${k}_pixels`, { shape: [1, 3, p.height, p.width], data: p.pixels });
        dump.set(`ref${k}_latent`, { shape: [1, ...ops.shape(z)], data: await ops.read(z) });
      }
      const tokens = ops.tidy(() => ops.latentPack(z, w.bn.running_mean, w.bn.running_var, cfg.batch_norm_eps));
      ops.release(z);
      next.push({ ref: { width: ref.width, height: ref.height, rgba: ref.rgba.slice() }, tokens });
    }
    for (const c of this.cache) if (!next.includes(c)) ops.release(c.tokens);
    this.cache = next;
    this.weights.release();
    const perRef = processed.map((_, k) => (next.find((c) => sameImage(c.ref, refs[k] as ReferenceImage)) as Cached<T>).tokens);
    const tokens = ops.tidy(() => perRef.slice(1).reduce((acc, t) => ops.concatRows(acc, t), ops.sliceRows(perRef[0] as T, 0, ops.shape(perRef[0] as T)[0] as number)));
    const allIds = new Int32Array(ids.reduce((s, a) => s + a.length, 0));
    ids.reduce((o, a) => (allIds.set(a, o), o + a.length), 0);
    const count = allIds.length / 4;
    if (dump) {
      dump.set('ref_tokens', { shape: [1, ...ops.shape(tokens)], data: await ops.read(tokens) });
      dump.set('ref_ids', { shape: [1, count, 4], data: allIds });
    }
    return { tokens, ids: allIds, count };
  }

  /** Frees the encoder weights and cached tokens. */
  dispose(): void {
    for (const c of this.cache) this.ops.release(c.tokens);
    this.cache = [];
    this.weights.dispose();
  }
}

function sameImage(a: ReferenceImage, b: ReferenceImage): boolean {
  if (a.width !== b.width || a.height !== b.height || a.rgba.length !== b.rgba.length) return false;
  for (let i = 0; i < a.rgba.length; i++) if (a.rgba[i] !== b.rgba[i]) return false;
  return true;
}
