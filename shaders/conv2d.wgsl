// conv2d: y[co, oy, ox] = b[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] · x̃[ci, oy·S + ky − top, ox·S + kx − left],
// x̃ = x, or with UP = 1 x upsampled ×2 by nearest neighbour on the fly (x̃[ci, Y, X] = x[ci, ⌊Y/2⌋, ⌊X/2⌋],
// never stored; the decoder's Upsample2D); x̃ read as zero outside its [0, H̃) × [0, W̃) (zero padding;
// bottom/right padding only widens Ho/Wo).
// Implicit GEMM: Y[Co, P] = Wm[Co, K] · X̂[K, P] with K = Ci·KH·KW (k = (ci·KH + ky)·KW + kx, the
// row-major order of w) and P = Ho·Wo (p = oy·Wo + ox); X̂ (im2col) is gathered tile by tile, never stored.
// Shapes: x [Ci, H, W] f32 (x̃: [Ci, H·2^UP, W·2^UP]), w [Co, Ci, KH, KW] W_DTYPE, b [Co] B_DTYPE, y [Co, Ho, Wo] f32.
// Dtypes (W_DTYPE, B_DTYPE): 0 f32, 1 f16, 2 bf16; f16/bf16 packed two per u32 word, low half first.
// Bindings: 0 x: array<f32>, 1 w: array<u32>, 2 b: array<u32> (any buffer when HAS_BIAS = false),
// 3 y: array<f32> (write), 4 params (up: 0 or 1, the upsampling shift).
// Tiling: a 16×16 workgroup owns 64 output channels × 64 pixels; thread (tx, ty) accumulates the 4×4
// outputs (co0 + ty + 16·i, p0 + tx + 16·j) in f32, stepping K by 16 through workgroup memory (8 KiB).
// Dispatch: (gx, ⌈Co/64⌉, gz) with (gx, gz) = grid1d(⌈P/64⌉, 1); pixel tile = wg.z·gx + wg.x.
struct Params { ci: u32, h: u32, w: u32, co: u32, ho: u32, wo: u32, stride: u32, pad_top: u32, pad_left: u32, up: u32 }

override KH: u32 = 3u;
override KW: u32 = 3u;
override W_DTYPE: u32 = 0u;
override B_DTYPE: u32 = 0u;
override HAS_BIAS: bool = true;

const TM = 64u; // output channels per workgroup
const TN = 64u; // pixels per workgroup
const TK = 16u; // reduction step

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> a_tile: array<f32, 1024>; // [TK][TM] weights, transposed
var<workgroup> b_tile: array<f32, 1024>; // [TK][TN] gathered inputs

// Element i of a packed array given its word: f32 bits, or the low/high half of an f16/bf16 pair.
fn decode(word: u32, i: u32, dtype: u32) -> f32 {
  if (dtype == 0u) { return bitcast<f32>(word); }
  if (dtype == 1u) { return unpack2x16float(word)[i & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}

fn word_of(i: u32, dtype: u32) -> u32 { return select(i >> 1u, i, dtype == 0u); }

@compute @workgroup_size(16, 16)
fn conv2d(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let np = p.ho * p.wo;
  let p0 = (wg.z * nwg.x + wg.x) * TN;
  let co0 = wg.y * TM;
  let kk = KH * KW;
  let k_total = p.ci * kk;

  // Gather role: this thread fills column bn of b_tile (one pixel) at rows bk + 4·r.
  let bn = li % TN;
  let bk = li / TN;
  let pix = p0 + bn;
  let pix_ok = pix < np;
  let iy0 = i32((pix / p.wo) * p.stride) - i32(p.pad_top);
  let ix0 = i32((pix % p.wo) * p.stride) - i32(p.pad_left);
  // Weight role: this thread fills row ak of a_tile at channels am + 16·r.
  let ak = li % TK;
  let am = li / TK;

  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < k_total; k0 += TK) {
    for (var r = 0u; r < 4u; r++) {
      let m = am + 16u * r;
      let k = k0 + ak;
      var v = 0.0;
      if (co0 + m < p.co && k < k_total) {
        let i = (co0 + m) * k_total + k;
        v = decode(w[word_of(i, W_DTYPE)], i, W_DTYPE);
      }
      a_tile[ak * TM + m] = v;
    }
    for (var r = 0u; r < 4u; r++) {
      let kr = bk + 4u * r;
      let k = k0 + kr;
      var v = 0.0;
      if (pix_ok && k < k_total) {
        let ci = k / kk;
        let rem = k % kk;
        let iy = iy0 + i32(rem / KW);
        let ix = ix0 + i32(rem % KW);
        if (iy >= 0 && iy < i32(p.h << p.up) && ix >= 0 && ix < i32(p.w << p.up)) {
          v = x[(ci * p.h + (u32(iy) >> p.up)) * p.w + (u32(ix) >> p.up)];
        }
      }
      b_tile[kr * TN + bn] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { av[i] = a_tile[k * TM + lid.y + 16u * i]; }
      for (var j = 0u; j < 4u; j++) { bv[j] = b_tile[k * TN + lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] = fma(av[i], bv[j], acc[i * 4u + j]); }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let co = co0 + lid.y + 16u * i;
    if (co >= p.co) { continue; }
    var bias = 0.0;
    if (HAS_BIAS) { bias = decode(b[word_of(co, B_DTYPE)], co, B_DTYPE); }
    for (var j = 0u; j < 4u; j++) {
      let px = p0 + lid.x + 16u * j;
      if (px < np) { y[co * np + px] = acc[i * 4u + j] + bias; }
    }
  }
}
