// upsample_nearest: y[c, Y, X] = x[c, ⌊Y/2⌋, ⌊X/2⌋] (nearest-neighbour ×2, torch F.interpolate
// mode="nearest", scale_factor=2). Each thread reads one input pixel and writes its 2×2 block.
// Shapes: x [C, H, W] f32 → y [C, 2H, 2W] f32.
// Bindings: 0 x: array<f32> (read), 1 y: array<f32> (write), 2 params {n = C·H·W, w = W}.
// Dispatch: grid1d(C·H·W, 256) → (x, y); flat input index = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32, w: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn upsample_nearest(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  let row = i / p.w; // c·H + h: output rows 2·row and 2·row + 1
  let col = i % p.w;
  let v = x[i];
  let top = (2u * row) * (2u * p.w) + 2u * col;
  y[top] = v;
  y[top + 1u] = v;
  y[top + 2u * p.w] = v;
  y[top + 2u * p.w + 1u] = v;
}
