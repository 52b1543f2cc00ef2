// silu_mul (SwiGLU): y[i] = silu(gate[i])·up[i] = gate[i] / (1 + exp(−gate[i]))·up[i], elementwise over n.
// Bindings: 0 gate: array<f32> (read), 1 up: array<f32> (read), 2 y: array<f32> (write), 3 params {n}.
// Dispatch: grid1d(n, 256) → (x, y); flat index = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn silu_mul(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  let g = gate[i];
  y[i] = g / (1.0 + exp(-g)) * up[i];
}
