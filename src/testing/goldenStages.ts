/**
 * What the golden stage tests share: the two backends they run on, a component's weights of the
 * golden model loaded on one of them, and the t2i-64 transformer inputs (context, RoPE table).
 */
import { CpuOps } from '../ops/cpuOps';
import { GpuOps } from '../ops/gpuOps';
import type { Ops } from '../ops/ops';
import { type Configs, readConfigs } from '../model/config';
import { fluxRopeTable } from '../model/ropeTables';
import { embedContext, loadTransformer } from '../model/transformer';
import { WeightLoader } from '../weights/load';
import { openComponent } from '../weights/safetensors';
import { type GoldenCase, goldenModelSource, goldenTensor } from './golden';
import { testGpu } from './gpu';

/** ['cpu', plain loops] and ['gpu', WGSL kernels on the test adapter], for describe.each. */
export const GOLDEN_BACKENDS: readonly [string, () => Promise<Ops<unknown>>][] = [
  ['cpu', async () => new CpuOps() as Ops<unknown>],
  ['gpu', async () => new GpuOps(await testGpu()) as Ops<unknown>],
];

/** The golden model's configs and one component's weights (folder `component`) through `load`. */
export async function loadGoldenComponent<T, W>(
  ops: Ops<T>,
  component: 'text_encoder' | 'transformer' | 'vae',
  load: (l: WeightLoader<T>, cfg: Configs) => Promise<W>,
): Promise<{ cfg: Configs; w: W }> {
  const src = goldenModelSource();
  const cfg = await readConfigs(src);
  return { cfg, w: await load(new WeightLoader(ops, await openComponent(src, component)), cfg) };
}

/** A golden case's int64 tensor `name` as Int32Array. */
export function goldenIds(c: GoldenCase, name: string): Int32Array {
  return Int32Array.from(goldenTensor(c.tensors, name).data as BigInt64Array, Number);
}

/**
 * The transformer of the golden model with case `c`'s inputs: txt = context_embedder(prompt_embeds)
 * [L, D], rope = the [L + N, Dh/2, 2] table of text_ids then latent_ids, n = N image tokens.
 */
export async function goldenTransformerInputs<T>(ops: Ops<T>, c: GoldenCase) {
  const { cfg: all, w } = await loadGoldenComponent(ops, 'transformer', (l, cfg) => loadTransformer(l, cfg.transformer));
  const cfg = all.transformer;
  const pe = goldenTensor(c.tensors, 'prompt_embeds');
  const txt = embedContext(ops, w, ops.fromHost(pe.data as Float32Array, pe.shape.slice(1), 'prompt_embeds'));
  const table = fluxRopeTable(new Int32Array([...goldenIds(c, 'text_ids'), ...goldenIds(c, 'latent_ids')]), cfg.axes_dims_rope, cfg.rope_theta);
  const rope = ops.fromHost(table.data, table.shape, 'rope');
  return { cfg, w, txt, rope, n: c.meta.image_seq_len };
}
