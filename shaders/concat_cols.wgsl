// concat_cols: y[r, c] = c < Ca ? a[r, c] : b[r, c − Ca] — joins two row-major matrices side by side.
// Shapes: a [M, Ca], b [M, Cb] → y [M, Ca + Cb] (f32).
// Bindings: 0 a (read), 1 b (read), 2 y (write), 3 params {m, ca, cb}.
// Dispatch: grid1d(M·(Ca+Cb), 256); one invocation per output element.
struct Params { m: u32, ca: u32, cb: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn concat_cols(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  let width = p.ca + p.cb;
  if (i >= p.m * width) { return; }
  let r = i / width;
  let c = i - r * width;
  if (c < p.ca) {
    y[i] = a[r * p.ca + c];
  } else {
    y[i] = b[r * p.cb + (c - p.ca)];
  }
}
