// matmul_q: y[m, n] = Σ_k x[m, k] · Ŵ[row0 + n, k] (+ bias[row0 + n]), tiled for many rows (M > 8;
// see matvec_q.wgsl for M ≤ 8), where Ŵ is a group-quantized weight dequantized in registers while
// staging (src/weights/quant.ts has the layout). f32 accumulation.
//   QFORMAT 0 (q8): Ŵ = c·s, c = signed byte k%4 of code word k/4
//   QFORMAT 1 (q4): Ŵ = mn + c·s, c = nibble k%8 (bits 4·(k%8)) of code word k/8
//   QFORMAT 2 (q8m): Ŵ = mn + c·s, c = unsigned byte k%4 of code word k/4
// s (and mn) are the f16 entries r·groups + k/GROUP of the scale (min) tables, two per u32 word.
// Shapes: x [M, K] f32; W [≥ row0 + N, K] quantized; bias [≥ row0 + N] in BIAS_DTYPE; y [M, N] f32.
// Bindings: 0 x: array<f32> (read), 1 w: array<u32> (read; codes, scales, mins in one buffer),
// 2 bias: array<u32> (read; any buffer when HAS_BIAS is false), 3 y: array<f32> (write),
// 4 params {M, N, K, row0, wordsPerRow, groups, scaleWord, minWord} (word offsets into w).
// Dispatch: (⌈N/64⌉, ⌈M/64⌉), the tiling of matmul.wgsl: a 16×16-invocation workgroup computes the
// 64×64 tile of y at (64·wg.y, 64·wg.x); invocation (tx, ty) owns rows ty + 16i and columns tx + 16j,
// i, j < 4. K is walked in steps of 16: each step stages a 64×16 slab of x and of Ŵ (dequantized) in
// workgroup memory (zero-filled past M, N and K), then does 16 rank-1 updates of the 4×4 accumulators.

override QFORMAT: u32 = 0u;    // 0 q8, 1 q4, 2 q8m
override GROUP: u32 = 64u;     // weights per scale, a multiple of 8
override BIAS_DTYPE: u32 = 0u; // 0 f32, 1 f16, 2 bf16
override HAS_BIAS: bool = false;

struct Params { M: u32, N: u32, K: u32, row0: u32, wordsPerRow: u32, groups: u32, scaleWord: u32, minWord: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const TILE = 64u;
const BK = 16u;
const PAD = 65u; // slab row stride: the transposed stores below hit distinct banks

var<workgroup> xs: array<f32, 1040>; // BK × PAD, xs[k·PAD + r] = x[m0 + r, k0 + k]
var<workgroup> ws: array<f32, 1040>; // BK × PAD, ws[k·PAD + r] = Ŵ[row0 + n0 + r, k0 + k]

// f16 entry i of the table starting at word `base` of w.
fn table_at(base: u32, i: u32) -> f32 {
  let h = unpack2x16float(w[base + (i >> 1u)]);
  return select(h.x, h.y, (i & 1u) == 1u);
}

// Ŵ[r, k], dequantized.
fn w_at(r: u32, k: u32) -> f32 {
  let gi = r * p.groups + k / GROUP;
  let s = table_at(p.scaleWord, gi);
  if (QFORMAT == 0u) {
    let word = w[r * p.wordsPerRow + (k >> 2u)];
    return f32(bitcast<i32>(word << (24u - 8u * (k & 3u))) >> 24u) * s;
  }
  if (QFORMAT == 2u) {
    let word = w[r * p.wordsPerRow + (k >> 2u)];
    return fma(f32((word >> (8u * (k & 3u))) & 255u), s, table_at(p.minWord, gi));
  }
  let word = w[r * p.wordsPerRow + (k >> 3u)];
  return fma(f32((word >> (4u * (k & 7u))) & 15u), s, table_at(p.minWord, gi));
}

fn bias_at(i: u32) -> f32 {
  if (BIAS_DTYPE == 0u) { return bitcast<f32>(bias[i]); }
  let word = bias[i >> 1u];
  let odd = (i & 1u) == 1u;
  if (BIAS_DTYPE == 2u) { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd)); }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

@compute @workgroup_size(16, 16)
fn matmul_q(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
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
      if (k < p.K && n0 + r < p.N) { wv = w_at(p.row0 + n0 + r, k); }
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
