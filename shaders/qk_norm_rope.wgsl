// qk_norm_rope: per-head RMSNorm then RoPE of q and k, in place on the rows of a joint buffer (the
// fused q|k|v projection's output): one pass instead of RMSNorm and RoPE of q and of k apart.
// Row r, head h of q (columns qCol + h·DH …) — and of k (kCol + h·DH, KH heads) — with weights
// w = wqA/wkA for rows < split, wqB/wkB after (the text / image streams of a double block):
//   x̂ = w ⊙ x / sqrt(mean(x²) + eps)  (sum of squares in f32; f32 product rounded like rms_norm.wgsl)
//   pairs (i0, i1): (2p, 2p+1) INTERLEAVED (FLUX) or (p, p+DH/2) half-split (Qwen3), (c, s) = table[r, p]:
//   y[i0] = x̂[i0]·c − x̂[i1]·s,  y[i1] = x̂[i1]·c + x̂[i0]·s.
// Storage: x f16 (packed, low half first) when F16, else f32; weights f32/f16/bf16 (W_DTYPE); table f32.
// Shapes: x [S, W]; table [period, DH/2, 2]; weights [DH]. Columns of v or anything else are untouched.
// Bindings: 0 x (read_write), 1 table, 2 wqA, 3 wkA, 4 wqB, 5 wkB (array<u32>; B may alias A),
// 6 params {rows, width, qCol, kCol, qHeads, split, eps, period}.
// Batches: rows are sequences of `period` rows of the same layout; row r uses table row r mod period
// and compares r mod period with split (period = rows: one sequence).
// Dispatch: grid1d(rows·(qHeads + KH), 64): one invocation per (row, head) — q heads first, then k heads.
override DH: u32;
override KH: u32;                 // k heads
override INTERLEAVED: bool = true;
override F16: bool = false;
override W_DTYPE: u32 = 0u;       // 0 f32, 1 f16, 2 bf16

struct Params { rows: u32, width: u32, qCol: u32, kCol: u32, qHeads: u32, split: u32, eps: f32, period: u32 }

@group(0) @binding(0) var<storage, read_write> x: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> wqA: array<u32>;
@group(0) @binding(3) var<storage, read> wkA: array<u32>;
@group(0) @binding(4) var<storage, read> wqB: array<u32>;
@group(0) @binding(5) var<storage, read> wkB: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;

fn at(i: u32) -> f32 {
  if (F16) {
    let h = unpack2x16float(x[i >> 1u]);
    return select(h.x, h.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(x[i]);
}

// Writes elements i and j (i even, j = i + 1 when INTERLEAVED) — with F16 both halves of a word at once.
fn put2(i: u32, a: f32, j: u32, b: f32) {
  if (!F16) {
    x[i] = bitcast<u32>(a);
    x[j] = bitcast<u32>(b);
  } else if (j == i + 1u && (i & 1u) == 0u) {
    x[i >> 1u] = pack2x16float(vec2f(a, b));
  } else {
    put1(i, a);
    put1(j, b);
  }
}

// One f16 element (the other half of its word kept); only reached by half-split pairs, whose two
// elements sit in different words, each word written by this invocation alone.
fn put1(i: u32, a: f32) {
  let h = unpack2x16float(x[i >> 1u]);
  x[i >> 1u] = pack2x16float(select(vec2f(a, h.y), vec2f(h.x, a), (i & 1u) == 1u));
}

fn unpack_w(word: u32, odd: bool) -> f32 {
  if (W_DTYPE == 2u) { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd)); }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

fn weight(isK: bool, b: bool, d: u32) -> f32 {
  var word: u32;
  let i = select(d >> 1u, d, W_DTYPE == 0u);
  if (isK) { word = select(wkA[i], wkB[i], b); } else { word = select(wqA[i], wqB[i], b); }
  if (W_DTYPE == 0u) { return bitcast<f32>(word); }
  return unpack_w(word, (d & 1u) == 1u);
}

@compute @workgroup_size(64)
fn qk_norm_rope(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = (wg.y * nwg.x + wg.x) * 64u + li;
  let perRow = p.qHeads + KH;
  if (id >= p.rows * perRow) { return; }
  let r = id / perRow;
  let hh = id % perRow;
  let isK = hh >= p.qHeads;
  let base = r * p.width + select(p.qCol + hh * DH, p.kCol + (hh - p.qHeads) * DH, isK);
  let pr = r % p.period; // row within its sequence
  let b = pr >= p.split;
  var ss = 0.0;
  for (var d = 0u; d < DH; d++) {
    let v = at(base + d);
    ss = fma(v, v, ss);
  }
  let inv = inverseSqrt(ss / f32(DH) + p.eps);
  let half = DH / 2u;
  for (var q = 0u; q < half; q++) {
    let d0 = select(q, 2u * q, INTERLEAVED);
    let d1 = select(q + half, 2u * q + 1u, INTERLEAVED);
    let x0 = weight(isK, b, d0) * (at(base + d0) * inv);
    let x1 = weight(isK, b, d1) * (at(base + d1) * inv);
    let c = table[(pr * half + q) * 2u];
    let s = table[(pr * half + q) * 2u + 1u];
    put2(base + d0, x0 * c - x1 * s, base + d1, x1 * c + x0 * s);
  }
}
