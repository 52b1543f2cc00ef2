// group_norm: y[c, i] = (x[c, i] − mean_g)/√(var_g + eps) · w[c] + b[c], g = ⌊c / (C/G)⌋, then SiLU
// (y/(1 + e^−y)) when SILU. var_g is the biased variance M2/count (torch GroupNorm).
// Shapes: x, y [C, H·W] f32; stats [G, 3] (count, mean, M2) from group_norm_merge; w, b [C].
// Dtypes (W_DTYPE, B_DTYPE): 0 f32, 1 f16, 2 bf16; f16/bf16 packed two per u32 word, low half first.
// Bindings: 0 x, 1 stats: array<f32>, 2 w: array<u32>, 3 b: array<u32>, 4 y (write), 5 params.
// Dispatch: grid1d(C·H·W, 256) → (x, y); flat index = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32, hw: u32, cpg: u32, eps: f32 }

override W_DTYPE: u32 = 0u;
override B_DTYPE: u32 = 0u;
override SILU: bool = false;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> b: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// Element i of a packed array given its word: f32 bits, or the low/high half of an f16/bf16 pair.
fn decode(word: u32, i: u32, dtype: u32) -> f32 {
  if (dtype == 0u) { return bitcast<f32>(word); }
  if (dtype == 1u) { return unpack2x16float(word)[i & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}

fn word_of(i: u32, dtype: u32) -> u32 { return select(i >> 1u, i, dtype == 0u); }

@compute @workgroup_size(256)
fn group_norm(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  let c = i / p.hw;
  let q = 3u * (c / p.cpg);
  let mean = stats[q + 1u];
  let variance = stats[q + 2u] / stats[q];
  let scale = inverseSqrt(variance + p.eps) * decode(w[word_of(c, W_DTYPE)], c, W_DTYPE);
  var v = (x[i] - mean) * scale + decode(b[word_of(c, B_DTYPE)], c, B_DTYPE);
  if (SILU) { v = v / (1.0 + exp(-v)); }
  y[i] = v;
}
