// residual, in place: x[i] += y[i] (GATED = 0) or x[i] += gate[gateOff + i % d]·y[i] (GATED = 1,
// the FLUX gated residual `x + gate ⊙ y` with gate a chunk of the modulation vector).
// Shapes: x, y: [S, d] f32 (n = S·d values), gate: [k·d] f32 (GATED = 0: any read-only dummy).
// Bindings: 0 x (read_write), 1 y (read), 2 gate (read), 3 params {n, d, gateOff}.
// Dispatch: grid1d(n, 256) → (x, y); flat index = (wg.y·num_wg.x + wg.x)·256 + local.
override GATED: u32 = 0u;

struct Params { n: u32, d: u32, gateOff: u32 }

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn residual(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  var v = y[i];
  if (GATED == 1u) { v *= gate[p.gateOff + i % p.d]; }
  x[i] += v;
}
