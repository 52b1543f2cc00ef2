// layer_norm_modulate (AdaLN): per row of x, x̂ = (x − mean)/sqrt(var + eps) (LayerNorm without
// affine, biased variance), then y = (1 + scale[c])·x̂ + shift[c] with shift = modv[shiftOff + c],
// scale = modv[scaleOff + c] (torch LayerNorm(elementwise_affine=False) + diffusers Flux2
// `(1 + scale) * norm(x) + shift`).
// Statistics: corrected two-pass (Chan, Golub & LeVeque 1983). Pass 1: m = Σx/n in f32. Pass 2:
// with dx = x − m (exact for x near m), c = Σdx/n and var = Σdx²/n − c². Output uses (x − m) − c,
// so the f32 rounding of the mean (≈ 5e-4 for residual values ~1e4) does not shift x̂.
// Shapes: x: [rows, d] f32, modv: [k·d] f32 (chunk offsets are element offsets), y: [rows, d] f32.
// Bindings: 0 x (read), 1 modv (read), 2 y (write), 3 params {rows, d, shiftOff, scaleOff, eps}.
// Dispatch: one workgroup of 256 threads per row; grid1d(rows, 1) → (x, y); row = wg.y·num_wg.x + wg.x.
// Reduction: a workgroup-memory tree; the SUBGROUPS variant adds per subgroup (subgroupAdd), then
// the subgroups' sums in subgroup order (as row_stats.wgsl).
// #if SUBGROUPS
enable subgroups;
// #endif
struct Params { rows: u32, d: u32, shiftOff: u32, scaleOff: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> modv: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> partial: array<vec2f, 256>;

// #if SUBGROUPS
// Sum of `v` over the workgroup: per subgroup, then the subgroups' sums in order (deterministic).
fn workgroupSum(v: vec2f, sg: u32, nsg: u32, lane: u32) -> vec2f {
  let s = subgroupAdd(v);
  if (lane == 0u) { partial[sg] = s; }
  workgroupBarrier();
  var total = vec2f(0.0);
  for (var i = 0u; i < nsg; i++) { total += partial[i]; }
  workgroupBarrier(); // `partial` is rewritten by the next call
  return total;
}

@compute @workgroup_size(256)
fn layer_norm_modulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
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
  workgroupBarrier(); // `partial` is rewritten by the next call
  return total;
}

@compute @workgroup_size(256)
fn layer_norm_modulate(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
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
  let corr = sums.x; // mean − m
  let inv = inverseSqrt(max(sums.y - corr * corr, 0.0) + p.eps);

  for (var c = li; c < p.d; c += 256u) {
    let xhat = ((x[base + c] - m) - corr) * inv;
    y[base + c] = (1.0 + modv[p.scaleOff + c]) * xhat + modv[p.shiftOff + c];
  }
}
