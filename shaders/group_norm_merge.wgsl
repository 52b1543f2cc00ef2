// group_norm_merge: the per-row partial statistics of group_norm_stats, [G, H, 3] (count, mean, M2),
// merged into one (count, mean, M2) per group, [G, 3]. Fixed order, a function of H only: thread li
// merges rows li, li + 256, li + 512, … in turn (Chan's formula), then the 256 thread results merge
// pairwise. So the result is the same however the partials were written (whole image or bands).
// Bindings: 0 partials: array<f32>, 1 stats: array<f32> [G, 3] (write), 2 params {h}.
// Dispatch: (G) workgroups of 256.
struct Params { h: u32 }

const WG = 256u;

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
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
fn group_norm_merge(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let g = wg.x;
  var acc = vec3f(0.0);
  for (var r = li; r < p.h; r += WG) {
    let q = 3u * (g * p.h + r);
    acc = merge(acc, vec3f(partials[q], partials[q + 1u], partials[q + 2u]));
  }
  part[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] = merge(part[li], part[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u) {
    stats[3u * g] = part[0].x;
    stats[3u * g + 1u] = part[0].y;
    stats[3u * g + 2u] = part[0].z;
  }
}
