import code from '../../../shaders/attention.wgsl?raw';
import rowsCode from '../../../shaders/attention_rows.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../../gpu/context';
import type { AttentionOptions } from '../ops';
import { assert, fmtShape } from '../../util/assert';

const SHADER = { file: 'attention.wgsl', code };
const ROWS_SHADER = { file: 'attention_rows.wgsl', code: rowsCode };

/** attention_rows.wgsl keeps q and the output row in registers: MAX_DH4 vec4 (Dh ≤ 512). */
const ROWS_MAX_DH4 = 128;

export type AttentionVariant = 'tiled' | 'rows';


/** Workgroup memory the tiled kernel may use, bytes (WebGPU's default maxComputeWorkgroupStorageSize). */
const WORKGROUP_BYTES = 16384;
/** vec4 output accumulators per thread (MAX_ACC in attention.wgsl). */
const MAX_ACC = 8;
/** Query rows per workgroup, most preferred first (each staged K/V tile serves BR rows). */
const ROW_BLOCKS = [16, 8, 4, 2, 1];
/** Threads per query row, most preferred first: the first whose ⌈Dh/4/TPR⌉ accumulators fit MAX_ACC. */
const THREADS_PER_ROW = [8, 16];
/** Keys per thread and key block (MAX_KPT = 8 in attention.wgsl). */
const KEYS_PER_THREAD = [8, 4, 2, 1];

/** Tile sizes of attention.wgsl (its overrides BR, TPR, KPT, DC, F16_TILES). */
export interface AttentionTiling {
  /** Query rows per workgroup. */
  br: number;
  /** Threads per query row (the workgroup has br·tpr threads). */
  tpr: number;
  /** Keys each thread scores per key block. */
  kpt: number;
  /** Keys per block: tpr·kpt. */
  bc: number;
  /** Head dims per staged K/V chunk: Dh, or a divisor of Dh that is a multiple of tpr units. */
  dc: number;
  /** q and K/V tiles staged as packed f16 (8 values per 16-byte unit), else as f32 (4 per unit). */
  f16: boolean;
}

/** Bytes of attention.wgsl's workgroup arrays for `t` (each rounded up to 16 like Dawn counts them). */
function workgroupBytes(dh: number, t: AttentionTiling): number {
  const unit = t.f16 ? 8 : 4; // values per 16-byte unit
  const r16 = (b: number) => Math.ceil(b / 16) * 16;
  // qs [BR][Dh/unit + 1] + kvs [BC][DC/unit + 1] units, ps [BR][BC + 1] + pmax, psum [BR][TPR] f32
  return r16(16 * t.br * (dh / unit + 1)) + r16(16 * t.bc * (t.dc / unit + 1)) + r16(4 * t.br * (t.bc + 1)) + 2 * r16(4 * t.br * t.tpr);
}

/**
 * Tiles of the tiled kernel for head dim `dh` with inputs stored in f16 (`f16`) or f32, within 16 KiB
 * of workgroup memory and ≤ 256 threads. Tiles are packed f16 when the inputs are f16 and Dh % 8 = 0
 * (half the memory; f16 inputs with Dh % 8 ≠ 0 are staged as f32). TPR = 8 threads per row for
 * Dh ≤ 256, else 16 (a thread holds ⌈Dh/4/TPR⌉ ≤ 8 vec4 accumulators). Then the most query rows
 * BR ∈ {16, 8, 4, 2, 1} (K/V reuse: each staged tile serves BR rows) for which some tile fits, and
 * for that BR the keys per thread KPT ∈ {8, 4, 2, 1} and the widest chunk DC (Dh, or a divisor of
 * Dh that is a multiple of TPR units, as the accumulator ownership needs) with the fewest barriers
 * per key, (4·Dh/DC + 1)/BC; ties go to the larger KPT.
 * Examples (BR, TPR, KPT → BC, DC; workgroup bytes), f32: Dh 16 → (16, 8, 8 → 64, 16; 11584);
 * 64 → (16, 8, 4 → 32, 64; 16192); 128 → (16, 8, 4 → 32, 32; 16192); 512 → (4, 16, 1 → 16, 64;
 * 13392). f16: Dh 16 → (16, 8, 8 → 64, 16; 9024); 64 → (16, 8, 4 → 32, 64; 10048); 128 → (16, 8, 4
 * → 32, 128; 16192); 512 → (8, 16, 1 → 16, 128; 14240). In f16, Dh 128 needs one K and one V chunk
 * per key block (5 barriers per 32 keys) where f32 needs four of each (17).
 * Errors: Dh not a multiple of 4, Dh > 512 (accumulators), no tile fits (not for Dh ≤ 512 so far).
 */
export function attentionTiling(dh: number, f16 = false): AttentionTiling {
  assert(dh > 0 && dh % 4 === 0, () => `attention: head dim ${dh} is not a multiple of 4`);
  const packed = f16 && dh % 8 === 0;
  const unit = packed ? 8 : 4;
  const tpr = THREADS_PER_ROW.find((n) => Math.ceil(dh / unit / n) * (unit / 4) <= MAX_ACC);
  assert(tpr !== undefined, () => `attention: head dim ${dh} > ${4 * MAX_ACC * THREADS_PER_ROW[THREADS_PER_ROW.length - 1]!}`);
  for (const br of ROW_BLOCKS) {
    let best: AttentionTiling | null = null;
    let bestCost = Infinity;
    for (const kpt of KEYS_PER_THREAD) {
      for (let dc = dh; dc >= unit; dc -= unit) {
        if (dc !== dh && (dh % dc !== 0 || (dc / unit) % tpr !== 0)) continue;
        const t = { br, tpr, kpt, bc: tpr * kpt, dc, f16: packed };
        if (workgroupBytes(dh, t) > WORKGROUP_BYTES) continue;
        const cost = ((4 * dh) / dc + 1) / t.bc; // barriers per key
        if (cost < bestCost) [best, bestCost] = [t, cost];
        break; // narrower chunks of this KPT only cost more barriers
      }
    }
    if (best) return best;
  }
  throw new Error(`attention: head dim ${dh}: no tiling fits ${WORKGROUP_BYTES} bytes of workgroup memory`);
}

/**
 * Multi-head attention with online softmax (shaders/attention.wgsl), f32 arithmetic; q, k, v stored
 * in f32 or f16 (column windows of wider rows: AttentionViews), the output in f32 or f16.
 * q: [Sq, H·Dh], k, v: [Sk, Hkv·Dh] → [Sq, H·Dh]; out = softmax(q·kᵀ/√Dh + mask)·v per head,
 * query head h reads kv head ⌊h/(H/Hkv)⌋ (transformers repeat_kv). `causal`: key j visible to
 * query i iff j ≤ i (needs Sq = Sk). `keyMask`: [Sk], 0 = masked key. Masked keys get probability
 * exactly 0 (transformers' additive f32 minimum gives the same whenever a row keeps a visible key);
 * a row with no visible key returns zeros, not NaN. `batches` B: B independent sequences of Sq/B
 * query and Sk/B key rows, one dispatch (workgroups z = H·B).
 * `variant`: 'tiled' (attention.wgsl, GPUs) or 'rows' (attention_rows.wgsl: one invocation per
 * row and head, no barriers — the default on CPU adapters, where it is ~10× faster).
 * Errors: q, k, v not all f32 or all f16, shape mismatches, H not a multiple of Hkv, Dh unsupported by the tiling.
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
  const batches = opts.batches ?? 1;
  assert(Number.isInteger(batches) && batches >= 1 && sq % batches === 0 && sk % batches === 0, () => `attention: ${batches} batches do not divide Sq ${sq} and Sk ${sk}`);
  assert(heads * batches <= 65535, () => `attention: ${heads} heads × ${batches} batches > 65535 workgroups`);
  const [sqb, skb] = [sq / batches, sk / batches]; // rows of one sequence

  const out = ctx.alloc([sq, qCols], 'attention', opts.f16 ? 'f16' : 'f32');
  // Without a mask, binding 3 is k again: the shaders never read it (HAS_MASK = false).
  const bindings = [q, k, v, keyMask ?? k, out];
  const flags = { CAUSAL: causal ? 1 : 0, HAS_MASK: keyMask ? 1 : 0, F16: f16In ? 1 : 0, OUT_F16: opts.f16 ? 1 : 0 };
  const flops = (4 * batches * sqb * skb * qCols) / (causal ? 2 : 1); // QKᵀ and PV, per sequence
  const elem = f16In ? 2 : 4;
  const bytes = (sq * qCols + 2 * sk * kvCols) * elem + out.buffer.size; // the windows read once, out written
  const views = [qWidth / 4, kWidth / 4, vWidth / 4, qCol / 4, kCol / 4, vCol / 4, qCols / 4];
  const scale = { f32: 1 / Math.sqrt(dh) };
  if (variant === 'rows') {
    assert(dh <= 4 * ROWS_MAX_DH4, () => `attention: head dim ${dh} > ${4 * ROWS_MAX_DH4} (attention_rows.wgsl)`);
    const [gx, gy] = grid1d(sqb, 64);
    ctx.dispatch({
      shader: ROWS_SHADER,
      constants: { DH: dh, ...flags },
      bindings,
      params: [sqb, skb, heads / kvHeads, ...views, scale, heads],
      workgroups: [gx, gy, heads * batches],
      flops,
      bytes,
    });
    return out;
  }
  const tiling = attentionTiling(dh, f16In);
  const nBlocks = Math.ceil(sqb / tiling.br);
  const [gx, gy] = grid1d(nBlocks, 1);
  ctx.dispatch({
    shader: SHADER,
    constants: { DH: dh, BR: tiling.br, TPR: tiling.tpr, KPT: tiling.kpt, DC: tiling.dc, F16_TILES: tiling.f16 ? 1 : 0, ...flags },
    bindings,
    params: [sqb, skb, heads / kvHeads, ...views, nBlocks, scale, heads],
    workgroups: [gx, gy, heads * batches],
    flops,
    bytes,
  });
  return out;
}
