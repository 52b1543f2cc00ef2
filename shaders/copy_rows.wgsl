// copy_rows: dst[c, dst_row + r, x] = src[c, src_row + r, x] for c < C, r < rows, x < W: a band of
// rows from one [C, ·, W] image into another (the banded VAE gathers a band with its halo rows from
// stored chunks, and stores a band's own rows).
// Shapes: src [C, src_h, W] f32, dst [C, dst_h, W] f32 (different buffers).
// Bindings: 0 src: array<f32>, 1 dst: array<f32> (write), 2 params
//   {n = C·rows·W, band = rows·W, w, src_h, dst_h, src_row, dst_row}.
// Dispatch: grid1d(n, 256) → (x, y); flat index i = (wg.y·num_wg.x + wg.x)·256 + local = (c·rows + r)·W + x.
struct Params { n: u32, band: u32, w: u32, src_h: u32, dst_h: u32, src_row: u32, dst_row: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn copy_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  let c = i / p.band;
  let rest = i % p.band; // r·W + x
  dst[(c * p.dst_h + p.dst_row) * p.w + rest] = src[(c * p.src_h + p.src_row) * p.w + rest];
}
