// matmul: y[m, n] = Σ_k x[m, k] · W[row0 + n, k] (+ bias[row0 + n]), tiled for many rows (M > 8;
// see matvec.wgsl for M ≤ 8). f32 accumulation.
// Shapes: x [M, K] f32; W [≥ row0 + N, K] in DTYPE; bias [≥ row0 + N] in BIAS_DTYPE; y [M, N] f32.
// f16/bf16 tensors are packed two per u32 word: element i is in word i >> 1, low half first. Rows of
// a 16-bit W start mid-word when K is odd, so every element is addressed by its flat index.
// Bindings: 0 x: array<f32> (read), 1 w: array<u32> (read), 2 bias: array<u32> (read; any buffer when
// HAS_BIAS is false), 3 y: array<f32> (write), 4 params {M, N, K, row0}.
// Dispatch: (⌈N/64⌉, ⌈M/64⌉). A 16×16-invocation workgroup computes the 64×64 tile of y at
// (64·wg.y, 64·wg.x); invocation (tx, ty) owns rows ty + 16i and columns tx + 16j, i, j < 4. K is walked
// in steps of 16: each step stages a 64×16 slab of x and of W in workgroup memory (zero-filled past
// M, N and K), then does 16 rank-1 updates of the 4×4 accumulators.

override DTYPE: u32 = 0u;      // weight dtype: 0 f32, 1 f16, 2 bf16
override BIAS_DTYPE: u32 = 0u; // bias dtype, same codes
override HAS_BIAS: bool = false;

struct Params { M: u32, N: u32, K: u32, row0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TILE = 64u;
const BK = 16u;
const PAD = 65u; // slab row stride: the transposed stores below hit distinct banks

var<workgroup> xs: array<f32, 1040>; // BK × PAD, xs[k·PAD + r] = x[m0 + r, k0 + k]
var<workgroup> ws: array<f32, 1040>; // BK × PAD, ws[k·PAD + r] = W[row0 + n0 + r, k0 + k]

// Half `odd` of a packed word (or the whole word for f32) in dtype `dt`, as f32.
fn unpack(word: u32, odd: bool, dt: u32) -> f32 {
  if (dt == 0u) { return bitcast<f32>(word); }
  if (dt == 2u) { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd)); }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

fn w_at(i: u32) -> f32 {
  if (DTYPE == 0u) { return bitcast<f32>(w[i]); }
  return unpack(w[i >> 1u], (i & 1u) == 1u, DTYPE);
}

fn bias_at(i: u32) -> f32 {
  if (BIAS_DTYPE == 0u) { return bitcast<f32>(bias[i]); }
  return unpack(bias[i >> 1u], (i & 1u) == 1u, BIAS_DTYPE);
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let m0 = wg.y * TILE;
  let n0 = wg.x * TILE;
  // Loader role: column lk of the slab, rows lr + 16i (16 neighbours read 16 consecutive k).
  let lk = li % BK;
  let lr = li / BK;
  var acc: array<f32, 16>; // acc[4i + j] = y[m0 + ty + 16i, n0 + tx + 16j]
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    let k = k0 + lk;
    for (var i = 0u; i < 4u; i++) {
      let r = lr + 16u * i;
      var xv = 0.0;
      var wv = 0.0;
      if (k < p.K && m0 + r < p.M) { xv = x[(m0 + r) * p.K + k]; }
      if (k < p.K && n0 + r < p.N) { wv = w_at((p.row0 + n0 + r) * p.K + k); }
      xs[lk * PAD + r] = xv;
      ws[lk * PAD + r] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[kk * PAD + lid.y + 16u * i];
        b[i] = ws[kk * PAD + lid.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[4u * i + j] = fma(a[i], b[j], acc[4u * i + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + lid.x + 16u * j;
    if (n >= p.N) { continue; }
    var b = 0.0;
    if (HAS_BIAS) { b = bias_at(p.row0 + n); }
    for (var i = 0u; i < 4u; i++) {
      let m = m0 + lid.y + 16u * i;
      if (m < p.M) { y[m * p.N + n] = acc[4u * i + j] + b; }
    }
  }
}
