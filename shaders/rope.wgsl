// rope: rotary position embedding from a host-built (cos, sin) table; y is a new tensor.
// For token s, head h and pair p ∈ [0, Dh/2) with (c, s_) = table[s, p]:
//   y[i0] = x[i0]·c − x[i1]·s_,  y[i1] = x[i1]·c + x[i0]·s_
// LAYOUT 0 'interleaved' (FLUX DiT, diffusers apply_rotary_emb use_real_unbind_dim=-1): i0 = 2p, i1 = 2p+1;
// LAYOUT 1 'halfSplit' (Qwen3 rotate_half): i0 = p, i1 = p + Dh/2 (offsets inside the head).
// Shapes: x: [S, H·Dh] f32, table: [S, Dh/2, 2] f32, y: [S, H·Dh] f32.
// Bindings: 0 x (read), 1 table: array<vec2f> (read), 2 y (write), 3 params {pairs = S·H·Dh/2, heads, half = Dh/2}.
// Dispatch: one thread per pair; grid1d(pairs, 256) → (x, y); flat = (wg.y·num_wg.x + wg.x)·256 + local.
override LAYOUT: u32 = 0u;

struct Params { pairs: u32, heads: u32, half: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn rope(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.pairs) { return; }
  let pair = i % p.half;
  let sh = i / p.half; // s·H + h
  let s = sh / p.heads;
  let cs = table[s * p.half + pair];
  let head = sh * 2u * p.half;
  var i0 = head + pair;
  var i1 = i0 + p.half;
  if (LAYOUT == 0u) {
    i0 = head + 2u * pair;
    i1 = i0 + 1u;
  }
  let x0 = x[i0];
  let x1 = x[i1];
  y[i0] = x0 * cs.x - x1 * cs.y;
  y[i1] = x1 * cs.x + x0 * cs.y;
}
