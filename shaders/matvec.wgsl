// matvec: y[m, n] = Σ_k x[m, k] · W[row0 + n, k] (+ bias[row0 + n]) for few rows (M = ROWS ≤ 8):
// the weight-bandwidth-bound case (time/modulation vectors). Each weight word is read once and
// applied to all ROWS rows of x. f32 accumulation.
// Shapes: x [ROWS, K] f32; W [≥ row0 + N, K] in DTYPE; bias [≥ row0 + N] in BIAS_DTYPE; y [ROWS, N] f32.
// f16/bf16 tensors are packed two per u32 word: element i is in word i >> 1, low half first (a row of a
// 16-bit W starts mid-word when K is odd; halves outside the row are skipped).
// Bindings: 0 x: array<f32> (read), 1 w: array<u32> (read), 2 bias: array<u32> (read; any buffer when
// HAS_BIAS is false), 3 y: array<f32> (write), 4 params {M, N, K, row0} (M = ROWS).
// Dispatch: grid1d(N, 8) → (gx, gy); workgroup g = wg.y·gx + wg.x owns outputs n = 8g .. 8g + 7, one
// per 32-lane group; the lanes stride over the row's words (coalesced), then partial sums meet in
// workgroup memory and lane m < ROWS adds up row m's 32 partials.
// SUBGROUPS variant (same dispatch): the workgroup's 8 outputs are dealt to its subgroups (output
// t + subgroup_id, t += num_subgroups); a subgroup's lanes stride over the row's words by the
// subgroup size and meet in one subgroupAdd per row of x — no workgroup memory, no barriers.
// #if SUBGROUPS
enable subgroups;
// #endif

override DTYPE: u32 = 0u;      // weight dtype: 0 f32, 1 f16, 2 bf16
override BIAS_DTYPE: u32 = 0u; // bias dtype, same codes
override HAS_BIAS: bool = false;
override ROWS: u32 = 1u;       // M, 1..8

struct Params { M: u32, N: u32, K: u32, row0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const LANES = 32u;
const GROUPS = 8u;

var<workgroup> partial: array<f32, 2048>; // [ROWS ≤ 8][256 invocations]

// Half `odd` of a packed word (or the whole word for f32) in dtype `dt`, as f32.
fn unpack(word: u32, odd: bool, dt: u32) -> f32 {
  if (dt == 0u) { return bitcast<f32>(word); }
  if (dt == 2u) { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd)); }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

fn bias_at(i: u32) -> f32 {
  if (BIAS_DTYPE == 0u) { return bitcast<f32>(bias[i]); }
  return unpack(bias[i >> 1u], (i & 1u) == 1u, BIAS_DTYPE);
}

// Row n's partial sums Σ x[m, k]·W[row0 + n, k] (m < ROWS) over the words lane, lane + stride, …
fn row_partials(n: u32, lane: u32, stride: u32) -> array<f32, 8> {
  let per_word = select(2u, 1u, DTYPE == 0u); // elements per u32 word
  var acc = array<f32, 8>();
  let first = (p.row0 + n) * p.K; // flat index of W[row0 + n, 0]
  let end = first + p.K;
  for (var wi = first / per_word + lane; wi * per_word < end; wi += stride) {
    let word = w[wi];
    for (var h = 0u; h < per_word; h++) {
      let e = wi * per_word + h;
      if (e < first || e >= end) { continue; }
      let wv = unpack(word, h == 1u, DTYPE);
      let k = e - first;
      for (var m = 0u; m < ROWS; m++) { acc[m] = fma(x[m * p.K + k], wv, acc[m]); }
    }
  }
  return acc;
}

// #if SUBGROUPS
@compute @workgroup_size(256)
fn matvec(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
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
fn matvec(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
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
