import code from '@shaders/attention.wgsl?raw';
import rowsCode from '@shaders/attention_rows.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import type { AttentionOptions } from '../ops';
import { assert, fmtShape } from '../../util/assert';

const SHADER = { file: 'attention.wgsl', code };
const ROWS_SHADER = { file: 'attention_rows.wgsl', code: rowsCode };

/** attention_rows.wgsl keeps q and the output row in registers: MAX_DH4 vec4 (Dh ≤ 512). */
const ROWS_MAX_DH4 = 128;

export type AttentionVariant = 'tiled' | 'rows';


/** Workgroup memory the tiles may use, in f32 values (16 KiB, WebGPU's default limit). */
const WORKGROUP_FLOATS = 4096;
/** Keys per step: BC threads per query row. */
const BC = 16;
/** vec4 output accumulators per thread (MAX_ACC in attention.wgsl): ⌈Dh/4/BC⌉ ≤ 8. */
const MAX_ACC = 8;

/** Tile sizes of attention.wgsl: BR query rows × BC keys per step, K/V staged DC dims at a time. */
export interface AttentionTiling {
  br: number;
  bc: number;
  dc: number;
}

/**
 * Tiles for head dim `dh`. The block's q rows stay in workgroup memory (BR·Dh ≤ 2048 floats), so
 * BR = 16 up to Dh = 128 and shrinks for the VAE's Dh = 512 (BR = 4, 64 threads); BC = 16. K and V
 * are staged in chunks of DC dims: DC = Dh when it fits, else the largest multiple of 4·BC dividing
 * Dh that fits (the shader's accumulator ownership needs one of the two).
 * Examples: Dh 16 → (16, 16, 16); 64 → (16, 16, 64); 128 → (16, 16, 64); 512 → (4, 16, 64).
 * Errors: Dh not a multiple of 4, Dh > 512 (accumulators), no chunk width fits (e.g. Dh 112).
 */
export function attentionTiling(dh: number): AttentionTiling {
  assert(dh > 0 && dh % 4 === 0, () => `attention: head dim ${dh} is not a multiple of 4`);
  assert(Math.ceil(dh / 4 / BC) <= MAX_ACC, () => `attention: head dim ${dh} > ${4 * BC * MAX_ACC}`);
  const br = Math.min(16, 2 ** Math.floor(Math.log2(2048 / dh)));
  const fits = (dc: number) => br * dh + BC * (dc + 4) + 2 * br * BC <= WORKGROUP_FLOATS;
  let dc = 0;
  for (let w = dh; w > 0 && !dc; w -= 4) if ((w === dh || (dh % w === 0 && w % (4 * BC) === 0)) && fits(w)) dc = w;
  assert(dc > 0, () => `attention: head dim ${dh}: no K/V chunk width fits ${WORKGROUP_FLOATS} floats`);
  return { br, bc: BC, dc };
}

/**
 * Multi-head attention with online softmax (shaders/attention.wgsl), f32 arithmetic; q, k, v stored
 * in f32 or f16 (column windows of wider rows: AttentionViews), the output in f32 or f16.
 * q: [Sq, H·Dh], k, v: [Sk, Hkv·Dh] → [Sq, H·Dh]; out = softmax(q·kᵀ/√Dh + mask)·v per head,
 * query head h reads kv head ⌊h/(H/Hkv)⌋ (transformers repeat_kv). `causal`: key j visible to
 * query i iff j ≤ i (needs Sq = Sk). `keyMask`: [Sk], 0 = masked key. Masked keys get probability
 * exactly 0 (transformers' additive f32 minimum gives the same whenever a row keeps a visible key);
 * a row with no visible key returns zeros, not NaN.
 * `variant`: 'tiled' (attention.wgsl, GPUs) or 'rows' (attention_rows.wgsl: one invocation per
 * row and head, no barriers — the default on CPU adapters, where it is ~10× faster).
 * Errors: non-f32 inputs, shape mismatches, H not a multiple of Hkv, Dh unsupported by the tiling.
 */
export function attention(
  ctx: GpuContext,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  opts: AttentionOptions<GpuTensor>,
  variant: AttentionVariant = ctx.cpuAdapter ? 'rows' : 'tiled',
): GpuTensor {
  const { heads, kvHeads, causal = false, keyMask = null } = opts;
  assert(q.shape.length === 2 && k.shape.length === 2 && v.shape.length === 2, () => `attention: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} must be 2-D`);
  const [sq, qWidth] = q.shape as [number, number];
  const [sk, kWidth] = k.shape as [number, number];
  const vWidth = v.shape[1] as number;
  assert(heads > 0 && kvHeads > 0 && heads % kvHeads === 0, () => `attention: ${heads} heads not a multiple of ${kvHeads} kv heads`);
  const dh = opts.headDim ?? qWidth / heads;
  assert(Number.isInteger(dh) && dh > 0, () => `attention: q ${fmtShape(q.shape)} not divisible into ${heads} heads`);
  const qCols = heads * dh;
  const kvCols = kvHeads * dh;
  const [qCol, kCol, vCol] = [opts.qCol ?? 0, opts.kCol ?? 0, opts.vCol ?? 0];
  assert(qCol + qCols <= qWidth && (opts.qCol !== undefined || qWidth === qCols), () => `attention: q columns [${qCol}, +${qCols}) of ${fmtShape(q.shape)}`);
  assert(kCol + kvCols <= kWidth && (opts.kCol !== undefined || kWidth === kvCols), () => `attention: k columns [${kCol}, +${kvCols}) of ${fmtShape(k.shape)} (${kvHeads}×${dh})`);
  assert(v.shape[0] === sk && vCol + kvCols <= vWidth && (opts.vCol !== undefined || vWidth === kvCols), () => `attention: v columns [${vCol}, +${kvCols}) of ${fmtShape(v.shape)}, k ${fmtShape(k.shape)}`);
  assert([qCol, kCol, vCol, qWidth, kWidth, vWidth, dh].every((n) => n % 4 === 0), 'attention: column offsets, row widths and Dh must be multiples of 4');
  assert(!causal || sq === sk, () => `attention: causal needs Sq = Sk, got ${sq}, ${sk}`);
  assert(keyMask === null || (keyMask.shape.length === 1 && keyMask.shape[0] === sk), () => `attention: keyMask ${fmtShape(keyMask?.shape ?? [])}, want [${sk}]`);
  const f16In = q.dtype === 'f16';
  for (const t of [q, k, v]) assert(t.dtype === (f16In ? 'f16' : 'f32'), () => `attention: q, k, v must all be f32 or all f16; ${t.label} is ${t.dtype}`);
  assert(keyMask === null || keyMask.dtype === 'f32', 'attention: keyMask must be f32');
  assert(heads <= 65535, () => `attention: ${heads} heads > 65535 workgroups`);

  const out = ctx.alloc([sq, qCols], 'attention', opts.f16 ? 'f16' : 'f32');
  // Without a mask, binding 3 is k again: the shaders never read it (HAS_MASK = false).
  const bindings = [q, k, v, keyMask ?? k, out];
  const flags = { CAUSAL: causal ? 1 : 0, HAS_MASK: keyMask ? 1 : 0, F16: f16In ? 1 : 0, OUT_F16: opts.f16 ? 1 : 0 };
  const flops = (4 * sq * sk * qCols) / (causal ? 2 : 1); // QKᵀ and PV
  const elem = f16In ? 2 : 4;
  const bytes = (sq * qCols + 2 * sk * kvCols) * elem + out.buffer.size; // the windows read once, out written
  const views = [qWidth / 4, kWidth / 4, vWidth / 4, qCol / 4, kCol / 4, vCol / 4, qCols / 4];
  const scale = { f32: 1 / Math.sqrt(dh) };
  if (variant === 'rows') {
    assert(dh <= 4 * ROWS_MAX_DH4, () => `attention: head dim ${dh} > ${4 * ROWS_MAX_DH4} (attention_rows.wgsl)`);
    const [gx, gy] = grid1d(sq, 64);
    ctx.dispatch({
      shader: ROWS_SHADER,
      constants: { DH: dh, ...flags },
      bindings,
      params: [sq, sk, heads / kvHeads, ...views, scale],
      workgroups: [gx, gy, heads],
      flops,
      bytes,
    });
    return out;
  }
  const { br, bc, dc } = attentionTiling(dh);
  const nBlocks = Math.ceil(sq / br);
  const [gx, gy] = grid1d(nBlocks, 1);
  ctx.dispatch({
    shader: SHADER,
    constants: { DH: dh, BR: br, BC: bc, DC: dc, ...flags },
    bindings,
    params: [sq, sk, heads / kvHeads, ...views, nBlocks, scale],
    workgroups: [gx, gy, heads],
    flops,
    bytes,
  });
  return out;
}
