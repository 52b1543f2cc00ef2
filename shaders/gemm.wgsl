// gemm: the linear-layer kernel family, y = epilogue(prologue(x) · Ŵᵀ), for many rows (M > 8). f32
// accumulation whatever the storage types.
//   input    xin[m, k] = x[xRow0 + m, k] for k < K1, else x2[m, k − K1]   (a K-concatenation [x | x2])
//   PROLOGUE 1 (LayerNorm + modulation, K1 = K): xin = ((x − m_r) − c_r)·rstd_r·(1 + mod[scaleOff + k]) + mod[shiftOff + k],
//            (m_r, c_r, rstd_r) = stats[3r .. 3r + 2] of row r = xRow0 + m (row_stats.wgsl)
//   a[m, n]  = Σ_k xin[m, k]·Ŵ[row0 + n, k] (+ bias[row0 + n]);   b[m, n] likewise at row1 (SwiGLU only)
//   EPILOGUE 0 store:     y[yRow0 + m, yCol0 + n] = a
//            1 SwiGLU:    y[yRow0 + m, yCol0 + n] = silu(a)·b    (gate rows at row0, value rows at row1)
//            2 residual:  y[yRow0 + m, yCol0 + n] += g_n·a, y f32 in place, g_n = mod[gateOff + n] (1 without GATE)
//   LORA     a[m, n] += Σ_j u[m, j]·lb[row0 + n, j] (b likewise at row1) before bias and epilogue: a LoRA term
//            with u = A·xin: [M, R] and lb = strength·scale·B: [rows of Ŵ, R], both f32, staged like more
//            K slabs (16 of R each) after the main loop
// Ŵ: W_FORMAT 0 f32, 1 f16, 2 bf16 (element i of the flat [rows, K] array), 3 q8, 4 q4, 5 q8m
// (group-quantized, src/util/quant.ts: codes, then f16 scales (and q4/q8m mins) per GROUP weights of
// a row, dequantized in registers: q8 c·s with c a signed byte, q4 mn + c·s with c a nibble, q8m
// mn + c·s with c an unsigned byte). x, x2: f16 (packed two per u32, low half first) when X_F16, else f32; y: f16 when Y_F16
// (epilogues 0 and 1; N, yStride and yCol0 even), else f32. Rows of x are K1 wide, of x2 K − K1,
// of y yStride (≥ yCol0 + N: a column window of a wider tensor, e.g. q|k|v of two streams).
// Bindings: 0 x, 1 x2 (or, under PROLOGUE 1, which takes no x2, the stats), 2 w, 3 bias, 4 u, 5 mod
// (read; unused ones may be any buffer but y), 6 y: array<u32> (read_write), 7 lb (read), 8 params:
// eight storage buffers, WebGPU's default maxStorageBuffersPerShaderStage.
// Dispatch: (⌈N/64⌉, ⌈M/64⌉). A 16×16-invocation workgroup computes the 64×64 tile of y at
// (64·wg.y, 64·wg.x); invocation (tx, ty) owns rows ty + 16i (i < 4) and the column pairs
// 2tx + 32j + {0, 1} (j < 2), so an f16 pair is one word written by one invocation. K is walked in
// steps of 16: each step stages a 64×16 slab of xin and of Ŵ (and of the value rows) in workgroup
// memory, zero-filled past M, N and K, then does 16 rank-1 updates of the accumulators. Ŵ is staged
// a storage word at a time (KPW weights per word: 1 f32, 2 f16/bf16, 4 q8/q8m, 8 q4; the host sets
// KPW): one load per word, and for the quantized formats one scale (and min) per word, not per weight. Activations are
// staged the same way (XPW per load): f16 x two per word when K1 and K are even (every row and both
// parts [x | x2] start on a word), else one at a time.

override W_FORMAT: u32 = 0u;   // 0 f32, 1 f16, 2 bf16, 3 q8, 4 q4, 5 q8m
override GROUP: u32 = 64u;     // q8/q4/q8m weights per scale, a multiple of 8
override BIAS_DTYPE: u32 = 0u; // 0 f32, 1 f16, 2 bf16
override HAS_BIAS: bool = false;
override X_F16: bool = false;
override Y_F16: bool = false;
override PROLOGUE: u32 = 0u;   // 0 none, 1 LayerNorm + modulation
override EPILOGUE: u32 = 0u;   // 0 store, 1 SwiGLU, 2 gated residual
override GATE: bool = false;   // EPILOGUE 2: scale by mod[gateOff + n]
override KPW: u32 = 1u;        // weights staged per load of Ŵ: 1 f32, 2 f16/bf16 (1 for an odd K), 4 q8/q8m, 8 q4
override XPW: u32 = 1u;        // activations staged per load: 2 for f16 x with even K1 and K, else 1
override LORA: bool = false;   // add the low-rank term u·lbᵀ (R = p.R columns)

struct Params {
  M: u32, N: u32, K: u32, K1: u32,
  row0: u32, row1: u32, xRow0: u32, yRow0: u32,
  wordsPerRow: u32, groups: u32, scaleWord: u32, minWord: u32,
  shiftOff: u32, scaleOff: u32, gateOff: u32, yStride: u32,
  yCol0: u32, R: u32,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> x2: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<u32>;
@group(0) @binding(4) var<storage, read> lora_u: array<f32>;
@group(0) @binding(5) var<storage, read> mods: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<u32>;
@group(0) @binding(7) var<storage, read> lora_b: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

// LayerNorm statistic i (PROLOGUE 1): the stats tensor is bound in x2's slot.
fn stat(i: u32) -> f32 {
  return bitcast<f32>(x2[i]);
}

const TILE = 64u;
const BK = 16u;
const PAD = 65u; // slab row stride: the transposed stores below hit distinct banks
override SWIGLU: bool = EPILOGUE == 1u; // derived: not set by the host
override WPR: u32 = BK / KPW;           // derived: words of one slab row
override XWPR: u32 = BK / XPW;          // derived: activation words of one slab row

var<workgroup> xs: array<f32, 1040>;  // BK × PAD, xs[k·PAD + r] = xin[m0 + r, k0 + k]
var<workgroup> ws: array<f32, 1040>;  // BK × PAD, ws[k·PAD + r] = Ŵ[row0 + n0 + r, k0 + k]
var<workgroup> vs: array<f32, 1040>;  // the same for the value rows (SwiGLU)

// Half `odd` of a packed word in dtype dt (1 f16, 2 bf16), or the word as f32 (dt 0).
fn unpack(word: u32, odd: bool, dt: u32) -> f32 {
  if (dt == 0u) { return bitcast<f32>(word); }
  if (dt == 2u) { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd)); }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

fn act_at(i: u32, second: bool) -> f32 {
  if (X_F16) {
    let word = select(x[i >> 1u], x2[i >> 1u], second);
    let h = unpack2x16float(word);
    return select(h.x, h.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(select(x[i], x2[i], second));
}

// xin[m, k] (absolute x row r = xRow0 + m), prologue applied.
fn xin_at(m: u32, k: u32) -> f32 {
  if (k < p.K1) {
    let r = p.xRow0 + m;
    let v = act_at(r * p.K1 + k, false);
    if (PROLOGUE == 1u) {
      let xhat = ((v - stat(3u * r)) - stat(3u * r + 1u)) * stat(3u * r + 2u);
      return fma(xhat, 1.0 + mods[p.scaleOff + k], mods[p.shiftOff + k]);
    }
    return v;
  }
  return act_at(m * (p.K - p.K1) + (k - p.K1), true);
}

// xin[m, k], xin[m, k + 1] from one f16 word (XPW = 2: k, K1 and K even), prologue applied.
fn xin_pair(m: u32, k: u32) -> vec2f {
  if (k < p.K1) {
    let r = p.xRow0 + m;
    let v = unpack2x16float(x[(r * p.K1 + k) >> 1u]);
    if (PROLOGUE == 1u) {
      let xhat = ((v - stat(3u * r)) - stat(3u * r + 1u)) * stat(3u * r + 2u);
      let scale = vec2f(mods[p.scaleOff + k], mods[p.scaleOff + k + 1u]);
      let shift = vec2f(mods[p.shiftOff + k], mods[p.shiftOff + k + 1u]);
      return fma(xhat, 1.0 + scale, shift);
    }
    return v;
  }
  return unpack2x16float(x2[(m * (p.K - p.K1) + (k - p.K1)) >> 1u]);
}

// f16 entry i of the table starting at word `base` of w.
fn table_at(base: u32, i: u32) -> f32 {
  let h = unpack2x16float(w[base + (i >> 1u)]);
  return select(h.x, h.y, (i & 1u) == 1u);
}

// The KPW weights Ŵ[r, k .. k + KPW) of one storage word (k a multiple of KPW), in the first KPW slots.
fn w_word(r: u32, k: u32) -> array<f32, 8> {
  var v: array<f32, 8>;
  if (W_FORMAT == 0u) {
    v[0] = bitcast<f32>(w[r * p.K + k]);
  } else if (W_FORMAT < 3u) {
    let i = r * p.K + k;
    let word = w[i >> 1u];
    if (KPW == 2u) {
      v[0] = unpack(word, false, W_FORMAT);
      v[1] = unpack(word, true, W_FORMAT);
    } else {
      v[0] = unpack(word, (i & 1u) == 1u, W_FORMAT); // odd K: rows not word-aligned, one weight at a time
    }
  } else {
    let gi = r * p.groups + k / GROUP;
    let s = table_at(p.scaleWord, gi);
    if (W_FORMAT == 3u) {
      let word = w[r * p.wordsPerRow + (k >> 2u)];
      for (var e = 0u; e < 4u; e++) { v[e] = f32(bitcast<i32>(word << (24u - 8u * e)) >> 24u) * s; }
    } else if (W_FORMAT == 5u) {
      let word = w[r * p.wordsPerRow + (k >> 2u)];
      let mn = table_at(p.minWord, gi);
      for (var e = 0u; e < 4u; e++) { v[e] = fma(f32((word >> (8u * e)) & 255u), s, mn); }
    } else {
      let word = w[r * p.wordsPerRow + (k >> 3u)];
      let mn = table_at(p.minWord, gi);
      for (var e = 0u; e < 8u; e++) { v[e] = fma(f32((word >> (4u * e)) & 15u), s, mn); }
    }
  }
  return v;
}

fn bias_at(i: u32) -> f32 {
  if (BIAS_DTYPE == 0u) { return bitcast<f32>(bias[i]); }
  return unpack(bias[i >> 1u], (i & 1u) == 1u, BIAS_DTYPE);
}

// Column of accumulator slot c (0..3) of invocation tx: pairs 2tx + 32j + {0, 1}.
fn col(tx: u32, c: u32) -> u32 {
  return 2u * tx + 32u * (c >> 1u) + (c & 1u);
}

// 16 rank-1 updates from the staged slabs: acc[4i + c] += xs[k, ty + 16i]·ws[k, col(tx, c)] (and accv from vs).
fn accumulate(l: vec2u, acc: ptr<function, array<f32, 16>>, accv: ptr<function, array<f32, 16>>) {
  for (var kk = 0u; kk < BK; kk++) {
    var a: array<f32, 4>;
    var b: array<f32, 4>;
    var v: array<f32, 4>;
    for (var i = 0u; i < 4u; i++) {
      a[i] = xs[kk * PAD + l.y + 16u * i];
      b[i] = ws[kk * PAD + col(l.x, i)];
      if (SWIGLU) { v[i] = vs[kk * PAD + col(l.x, i)]; }
    }
    for (var i = 0u; i < 4u; i++) {
      for (var c = 0u; c < 4u; c++) {
        (*acc)[4u * i + c] = fma(a[i], b[c], (*acc)[4u * i + c]);
        if (SWIGLU) { (*accv)[4u * i + c] = fma(a[i], v[c], (*accv)[4u * i + c]); }
      }
    }
  }
}

@compute @workgroup_size(16, 16)
fn gemm(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let m0 = wg.y * TILE;
  let n0 = wg.x * TILE;
  var acc: array<f32, 16>; // acc[4i + c] = a[m0 + ty + 16i, n0 + col(tx, c)]
  var accv: array<f32, 16>; // the value rows' (SwiGLU)
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // xin: slab word j of row r per step, XPW activations each (neighbours read consecutive k)
    for (var t = li; t < TILE * XWPR; t += 256u) {
      let r = t / XWPR;
      let kk = (t % XWPR) * XPW;
      let k = k0 + kk;
      let inside = k < p.K && m0 + r < p.M;
      if (XPW == 2u) {
        var xv = vec2f(0.0);
        if (inside) { xv = xin_pair(m0 + r, k); }
        xs[kk * PAD + r] = xv.x;
        xs[(kk + 1u) * PAD + r] = xv.y;
      } else {
        var xv = 0.0;
        if (inside) { xv = xin_at(m0 + r, k); }
        xs[kk * PAD + r] = xv;
      }
    }
    // Ŵ (and the value rows): slab word j of row r per step, KPW weights each
    for (var t = li; t < TILE * WPR; t += 256u) {
      let r = t / WPR;
      let kk = (t % WPR) * KPW;
      let kw = k0 + kk;
      let inside = n0 + r < p.N && kw < p.K;
      var wv: array<f32, 8>;
      var vv: array<f32, 8>;
      if (inside) {
        wv = w_word(p.row0 + n0 + r, kw);
        if (SWIGLU) { vv = w_word(p.row1 + n0 + r, kw); }
      }
      for (var e = 0u; e < KPW; e++) {
        let ok = inside && kw + e < p.K;
        ws[(kk + e) * PAD + r] = select(0.0, wv[e], ok);
        if (SWIGLU) { vs[(kk + e) * PAD + r] = select(0.0, vv[e], ok); }
      }
    }
    workgroupBarrier();
    accumulate(lid.xy, &acc, &accv);
    workgroupBarrier();
  }
  if (LORA) {
    // the LoRA term: slabs of u (as xin) and lb (as Ŵ and the value rows), zero-filled past M, N and R
    for (var j0 = 0u; j0 < p.R; j0 += BK) {
      for (var t = li; t < TILE * BK; t += 256u) {
        let r = t / BK;
        let kk = t % BK;
        let j = j0 + kk;
        var uv = 0.0;
        if (j < p.R && m0 + r < p.M) { uv = lora_u[(m0 + r) * p.R + j]; }
        xs[kk * PAD + r] = uv;
        let nIn = j < p.R && n0 + r < p.N;
        var bv = 0.0;
        if (nIn) { bv = lora_b[(p.row0 + n0 + r) * p.R + j]; }
        ws[kk * PAD + r] = bv;
        if (SWIGLU) {
          var vv = 0.0;
          if (nIn) { vv = lora_b[(p.row1 + n0 + r) * p.R + j]; }
          vs[kk * PAD + r] = vv;
        }
      }
      workgroupBarrier();
      accumulate(lid.xy, &acc, &accv);
      workgroupBarrier();
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y + 16u * i;
    if (m >= p.M) { continue; }
    let yr = (p.yRow0 + m) * p.yStride + p.yCol0;
    for (var c = 0u; c < 4u; c += 2u) {
      var out = vec2f(0.0);
      for (var h = 0u; h < 2u; h++) {
        let n = n0 + col(lid.x, c + h);
        if (n >= p.N) { continue; }
        var val = acc[4u * i + c + h];
        if (HAS_BIAS) { val += bias_at(p.row0 + n); }
        if (SWIGLU) {
          var vb = accv[4u * i + c + h];
          if (HAS_BIAS) { vb += bias_at(p.row1 + n); }
          val = val / (1.0 + exp(-val)) * vb;
        }
        if (EPILOGUE == 2u) {
          var g = 1.0;
          if (GATE) { g = mods[p.gateOff + n]; }
          y[yr + n] = bitcast<u32>(fma(g, val, bitcast<f32>(y[yr + n])));
        } else if (!Y_F16) {
          y[yr + n] = bitcast<u32>(val);
        }
        out[h] = val;
      }
      let n = n0 + col(lid.x, c);
      if (Y_F16 && EPILOGUE != 2u && n < p.N) { y[(yr + n) >> 1u] = pack2x16float(out); }
    }
  }
}
