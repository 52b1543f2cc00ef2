// group_norm_stats: GroupNorm partial statistics, one (count, mean, M2 = Σ(v − mean)²) per (group,
// image row): the cpg·W values of channels [g·cpg, (g+1)·cpg) in that row. The partition (group ×
// row) is fixed, so statistics gathered band by band (a tall image's rows in several calls, as the
// banded VAE does) equal those of one call over the whole image bit for bit; group_norm_merge then
// merges the rows in an order that depends only on the image height.
// Workgroup (r, g) reduces row r of group g: thread li takes items j = li + 256·t (channel ⌊j/W⌋,
// column j mod W: coalesced) as sums shifted by its first value, then the 256 thread results merge
// pairwise with Chan's formula (Chan et al. 1979).
// SUBGROUPS variant: each subgroup combines its threads' results in one step (count and Σcount·mean
// by subgroupAdd, then M2 = Σ(M2_i + count_i·(mean_i − mean)²)), and thread 0 merges the subgroups'
// results in subgroup order with Chan's formula. The partition is the same, so the band-by-band
// equality holds within each variant.
// Shapes: x [C, h, W] f32, rows [x_row, x_row + rows) read; partials [G, H, 3] f32, rows
// [row, row + rows) written (H = img_h, the whole image's height).
// Bindings: 0 x: array<f32>, 1 partials: array<f32> (write), 2 params {cpg, h, w, x_row, img_h, row}.
// Dispatch: (rows, G) workgroups of 256.
// #if SUBGROUPS
enable subgroups;
// #endif
struct Params { cpg: u32, h: u32, w: u32, x_row: u32, img_h: u32, row: u32 }

const WG = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> part: array<vec3f, WG>;

// (count, mean, M2) of the union of two disjoint sets.
fn merge(a: vec3f, b: vec3f) -> vec3f {
  let n = a.x + b.x;
  if (n == 0.0) { return vec3f(0.0); }
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3f(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}

@compute @workgroup_size(256)
// #if SUBGROUPS
fn group_norm_stats(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32,
                    @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32, @builtin(subgroup_invocation_id) lane: u32) {
// #else
fn group_norm_stats(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
// #endif
  let r = wg.x;
  let g = wg.y;
  let n = p.cpg * p.w;
  var count = 0.0;
  var shift = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = li; j < n; j += WG) {
    let c = g * p.cpg + j / p.w;
    let v = x[(c * p.h + p.x_row + r) * p.w + j % p.w];
    if (count == 0.0) { shift = v; }
    let d = v - shift;
    count += 1.0;
    s1 += d;
    s2 += d * d;
  }
  var acc = vec3f(0.0);
  if (count > 0.0) { acc = vec3f(count, shift + s1 / count, max(s2 - s1 * s1 / count, 0.0)); }
// #if SUBGROUPS
  let n_sg = subgroupAdd(acc.x);
  let mean_sg = select(0.0, subgroupAdd(acc.x * acc.y) / n_sg, n_sg > 0.0);
  let dm = acc.y - mean_sg;
  let m2_sg = subgroupAdd(acc.z + acc.x * dm * dm);
  if (lane == 0u) { part[sg] = vec3f(n_sg, mean_sg, m2_sg); }
  workgroupBarrier();
  if (li == 0u) {
    for (var i = 1u; i < nsg; i++) { part[0] = merge(part[0], part[i]); }
  }
// #else
  part[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] = merge(part[li], part[li + s]); }
    workgroupBarrier();
  }
// #endif
  if (li == 0u) {
    let q = 3u * (g * p.img_h + p.row + r);
    partials[q] = part[0].x;
    partials[q + 1u] = part[0].y;
    partials[q + 2u] = part[0].z;
  }
}
