// transpose: y[c, r] = x[r, c]. Shapes: x [R, C] f32 → y [C, R] f32.
// Bindings: 0 x: array<f32> (read), 1 y: array<f32> (write), 2 params {R, C, tilesC}.
// Dispatch: grid1d(⌈R/16⌉·⌈C/16⌉, 1) → (gx, gy); workgroup t = wg.y·gx + wg.x (t < tile count) moves
// the 16×16 tile at rows 16·(t / tilesC), columns 16·(t % tilesC): coalesced row reads into workgroup
// memory, then coalesced row writes of the transposed tile.
struct Params { R: u32, C: u32, tilesC: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const T = 16u;

var<workgroup> tile: array<f32, 272>; // 16 × 17: the padding column keeps the column reads conflict-free

@compute @workgroup_size(16, 16)
fn transpose(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_id) lid: vec3u) {
  let t = wg.y * nwg.x + wg.x;
  if (t >= p.tilesC * ((p.R + T - 1u) / T)) { return; } // whole workgroup: uniform exit
  let r0 = (t / p.tilesC) * T;
  let c0 = (t % p.tilesC) * T;
  let r = r0 + lid.y;
  let c = c0 + lid.x;
  if (r < p.R && c < p.C) { tile[lid.y * (T + 1u) + lid.x] = x[r * p.C + c]; }
  workgroupBarrier();
  // Write y[c0 + lid.y, r0 + lid.x] = x[r0 + lid.x, c0 + lid.y].
  let yr = c0 + lid.y;
  let yc = r0 + lid.x;
  if (yr < p.C && yc < p.R) { y[yr * p.R + yc] = tile[lid.x * (T + 1u) + lid.y]; }
}
