// group_norm_stats: partial statistics (count, mean, M2 = Σ(v − mean)²) of each chunk of each group.
// RAW = true: input is x [C, H, W] read as [G, n] (a group's C/G channels are contiguous, n = (C/G)·H·W);
// RAW = false: input is the previous level's output [G, n, 3], merged again (n partials per group).
// Workgroup (c, g) reduces items [c·CHUNK, min((c+1)·CHUNK, n)) of group g, CHUNK = 256·ITEMS: each
// thread takes items li + 256·t (coalesced) — raw values as sums shifted by its first value, partials
// with Chan's parallel formula — then the 256 thread results merge pairwise (Chan et al. 1979).
// Bindings: 0 src: array<f32>, 1 dst: array<f32> [G, chunks, 3] (write), 2 params {n, chunks}.
// Dispatch: (chunks, G) workgroups of 256, chunks = ⌈n / CHUNK⌉.
struct Params { n: u32, chunks: u32 }

override RAW: bool = true;

const WG = 256u;
const ITEMS = 16u; // items per thread; CHUNK = 4096 (group_norm.ts relies on it)

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
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
fn group_norm_stats(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let g = wg.y;
  let begin = wg.x * WG * ITEMS;
  var acc = vec3f(0.0);
  if (RAW) {
    let base = g * p.n;
    var count = 0.0;
    var shift = 0.0;
    var s1 = 0.0;
    var s2 = 0.0;
    for (var t = 0u; t < ITEMS; t++) {
      let i = begin + li + WG * t;
      if (i >= p.n) { break; }
      let v = src[base + i];
      if (t == 0u) { shift = v; }
      let d = v - shift;
      count += 1.0;
      s1 += d;
      s2 += d * d;
    }
    if (count > 0.0) { acc = vec3f(count, shift + s1 / count, max(s2 - s1 * s1 / count, 0.0)); }
  } else {
    let base = g * p.n;
    for (var t = 0u; t < ITEMS; t++) {
      let i = begin + li + WG * t;
      if (i >= p.n) { break; }
      let q = 3u * (base + i);
      acc = merge(acc, vec3f(src[q], src[q + 1u], src[q + 2u]));
    }
  }
  part[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] = merge(part[li], part[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u) {
    let q = 3u * (g * p.chunks + wg.x);
    dst[q] = part[0].x;
    dst[q + 1u] = part[0].y;
    dst[q + 2u] = part[0].z;
  }
}
