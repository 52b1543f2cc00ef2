// row_stats: LayerNorm statistics per row, for a GEMM's LayerNorm prologue (gemm.wgsl PROLOGUE 1).
// For row r of x: m = Σx/D (f32), then corrected two-pass (Chan, Golub & LeVeque 1983) with dx = x − m:
// corr = Σdx/D, var = Σdx²/D − corr² (biased, as torch LayerNorm); out[3r..3r+2] = (m, corr,
// 1/sqrt(var + eps)). The consumer normalises ((x − m) − corr)·rstd, so the f32 rounding of m (≈ 5e-4
// for residual values ~1e4) does not shift x̂ (the same arithmetic as layer_norm_modulate.wgsl).
// Shapes: x: [rows, d] f32, out: [rows, 3] f32.
// Bindings: 0 x (read), 1 out (write), 2 params {rows, d, eps}.
// Dispatch: one workgroup of 256 threads per row; grid1d(rows, 1) → (x, y); row = wg.y·num_wg.x + wg.x.
// Reduction: the 256 thread sums meet in a workgroup-memory tree; the SUBGROUPS variant adds them
// within each subgroup (subgroupAdd), then every thread adds the subgroups' sums in subgroup order.
// #if SUBGROUPS
enable subgroups;
// #endif
struct Params { rows: u32, d: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<vec2f, 256>;

// #if SUBGROUPS
// Sum of `v` over the workgroup: per subgroup, then the subgroups' sums in order (deterministic).
fn workgroupSum(v: vec2f, sg: u32, nsg: u32, lane: u32) -> vec2f {
  let s = subgroupAdd(v);
  if (lane == 0u) { partial[sg] = s; }
  workgroupBarrier();
  var total = vec2f(0.0);
  for (var i = 0u; i < nsg; i++) { total += partial[i]; }
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(256)
fn row_stats(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
             @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32, @builtin(subgroup_invocation_id) lane: u32) {
// #else
// Sum of `v` over the workgroup (tree in workgroup memory); call from uniform control flow.
fn workgroupSum(v: vec2f, li: u32) -> vec2f {
  partial[li] = v;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (li < stride) { partial[li] += partial[li + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(256)
fn row_stats(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
// #endif
  let row = wg.y * nwg.x + wg.x;
  if (row >= p.rows) { return; } // uniform: depends on the workgroup only
  let base = row * p.d;
  let n = f32(p.d);
  var s = 0.0;
  for (var c = li; c < p.d; c += 256u) { s += x[base + c]; }
// #if SUBGROUPS
  let m = workgroupSum(vec2f(s, 0.0), sg, nsg, lane).x / n;
// #else
  let m = workgroupSum(vec2f(s, 0.0), li).x / n;
// #endif
  var acc = vec2f(0.0);
  for (var c = li; c < p.d; c += 256u) {
    let dx = x[base + c] - m;
    acc += vec2f(dx, dx * dx);
  }
// #if SUBGROUPS
  let sums = workgroupSum(acc, sg, nsg, lane) / n;
// #else
  let sums = workgroupSum(acc, li) / n;
// #endif
  if (li == 0u) {
    out[3u * row] = m;
    out[3u * row + 1u] = sums.x;
    out[3u * row + 2u] = inverseSqrt(max(sums.y - sums.x * sums.x, 0.0) + p.eps);
  }
}
