// matvec_q: y[m, n] = Σ_k x[m, k] · Ŵ[row0 + n, k] (+ bias[row0 + n]) for few rows (M = ROWS ≤ 8), where
// Ŵ is a group-quantized weight dequantized in registers (src/weights/quant.ts has the layout), f32
// accumulation. The weight-bandwidth-bound case: each code word is read once and applied to all rows.
//   QFORMAT 0 (q8): Ŵ = c·s, c = signed byte k%4 of code word k/4
//   QFORMAT 1 (q4): Ŵ = mn + c·s, c = nibble k%8 (bits 4·(k%8)) of code word k/8
//   QFORMAT 2 (q8m): Ŵ = mn + c·s, c = unsigned byte k%4 of code word k/4
// s (and mn) are the f16 entries r·groups + k/GROUP of the scale (min) tables, two per u32 word.
// Shapes: x [ROWS, K] f32; W [≥ row0 + N, K] quantized; bias [≥ row0 + N] in BIAS_DTYPE; y [ROWS, N] f32.
// Bindings: 0 x: array<f32> (read), 1 w: array<u32> (read; codes, scales, mins in one buffer),
// 2 bias: array<u32> (read; any buffer when HAS_BIAS is false), 3 y: array<f32> (write),
// 4 params {M, N, K, row0, wordsPerRow, groups, scaleWord, minWord} (word offsets into w; M = ROWS).
// Dispatch: grid1d(N, 8) → (gx, gy); workgroup g = wg.y·gx + wg.x owns outputs n = 8g .. 8g + 7, one
// per 32-lane group; the lanes stride over the row's code words (one group, so one scale, per word),
// then partial sums meet in workgroup memory and lane m < ROWS adds up row m's 32 partials.
// SUBGROUPS variant (same dispatch): the workgroup's 8 outputs are dealt to its subgroups (output
// t + subgroup_id, t += num_subgroups); a subgroup's lanes stride over the row's words by the
// subgroup size and meet in one subgroupAdd per row of x — no workgroup memory, no barriers.
// #if SUBGROUPS
enable subgroups;
// #endif

override QFORMAT: u32 = 0u;    // 0 q8, 1 q4, 2 q8m
override GROUP: u32 = 64u;     // weights per scale, a multiple of 8
override BIAS_DTYPE: u32 = 0u; // 0 f32, 1 f16, 2 bf16
override HAS_BIAS: bool = false;
override ROWS: u32 = 1u;       // M, 1..8

struct Params { M: u32, N: u32, K: u32, row0: u32, wordsPerRow: u32, groups: u32, scaleWord: u32, minWord: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const LANES = 32u;
const GROUPS = 8u;

var<workgroup> partial: array<f32, 2048>; // [ROWS ≤ 8][256 invocations]

// f16 entry i of the table starting at word `base` of w.
fn table_at(base: u32, i: u32) -> f32 {
  let h = unpack2x16float(w[base + (i >> 1u)]);
  return select(h.x, h.y, (i & 1u) == 1u);
}

fn bias_at(i: u32) -> f32 {
  if (BIAS_DTYPE == 0u) { return bitcast<f32>(bias[i]); }
  let word = bias[i >> 1u];
  let odd = (i & 1u) == 1u;
  if (BIAS_DTYPE == 2u) { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd)); }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

// Row n's partial sums Σ x[m, k]·Ŵ[row0 + n, k] (m < ROWS) over the code words lane, lane + stride, …
fn row_partials(n: u32, lane: u32, stride: u32) -> array<f32, 8> {
  let per_word = select(4u, 8u, QFORMAT == 1u); // codes per u32 word
  var acc = array<f32, 8>();
  let r = p.row0 + n;
  for (var wi = lane; wi * per_word < p.K; wi += stride) {
    let word = w[r * p.wordsPerRow + wi];
    let k0 = wi * per_word;
    let gi = r * p.groups + k0 / GROUP;
    let s = table_at(p.scaleWord, gi);
    var mn = 0.0;
    if (QFORMAT != 0u) { mn = table_at(p.minWord, gi); }
    for (var h = 0u; h < per_word; h++) {
      let k = k0 + h;
      if (k >= p.K) { break; }
      var wv: f32;
      if (QFORMAT == 0u) {
        wv = f32(bitcast<i32>(word << (24u - 8u * h)) >> 24u) * s;
      } else if (QFORMAT == 2u) {
        wv = fma(f32((word >> (8u * h)) & 255u), s, mn);
      } else {
        wv = fma(f32((word >> (4u * h)) & 15u), s, mn);
      }
      for (var m = 0u; m < ROWS; m++) { acc[m] = fma(x[m * p.K + k], wv, acc[m]); }
    }
  }
  return acc;
}

// #if SUBGROUPS
@compute @workgroup_size(256)
fn matvec_q(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32,
            @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  for (var t = 0u; t < GROUPS; t += nsg) {
    let n = (wg.y * nwg.x + wg.x) * GROUPS + t + sg;
    let live = t + sg < GROUPS && n < p.N;
    var acc = array<f32, 8>();
    if (live) { acc = row_partials(n, lane, sgs); }
    for (var m = 0u; m < ROWS; m++) {
      var s = subgroupAdd(acc[m]);
      if (live && lane == 0u) {
        if (HAS_BIAS) { s += bias_at(p.row0 + n); }
        y[m * p.N + n] = s;
      }
    }
  }
}
// #else
@compute @workgroup_size(256)
fn matvec_q(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  let g = li / LANES;
  let lane = li % LANES;
  let n = (wg.y * nwg.x + wg.x) * GROUPS + g;
  var acc = array<f32, 8>();
  if (n < p.N) { acc = row_partials(n, lane, LANES); }
  for (var m = 0u; m < ROWS; m++) { partial[m * 256u + li] = acc[m]; }
  workgroupBarrier();
  if (n < p.N && lane < ROWS) {
    var s = 0.0;
    for (var l = 0u; l < LANES; l++) { s += partial[lane * 256u + g * LANES + l]; }
    if (HAS_BIAS) { s += bias_at(p.row0 + n); }
    y[lane * p.N + n] = s;
  }
}
// #endif
