// silu: y[i] = x[i] / (1 + exp(−x[i])), elementwise over n values.
// Bindings: 0 x: array<f32> (read), 1 y: array<f32> (write), 2 params {n}.
// Dispatch: grid1d(n, 256) → workgroups (x, y); flat index = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn silu(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  let v = x[i];
  y[i] = v / (1.0 + exp(-v));
}
