// rms_norm: y = w ⊙ x / sqrt(mean(x²) + eps) over each group ("row") of `cols` consecutive values;
// the mean is reduced in f32 (matches transformers Qwen3RMSNorm: normalise in f32, then × weight).
// Shapes: x: [rows, cols] f32, w: [cols] stored as WDTYPE, y: [rows, cols] f32.
// Bindings: 0 x: array<f32> (read), 1 w: array<u32> raw words (read; f16/bf16 packed two per word,
//   element c in word c>>1, low half first), 2 y: array<f32> (write), 3 params {rows, cols, eps}.
// Dispatch: TPR threads per row (override, power of two ≤ 256), 256/TPR rows per workgroup;
//   grid1d(rows, 256/TPR) → (x, y); row = (wg.y·num_wg.x + wg.x)·(256/TPR) + local/TPR.
//   Each thread strides over its row by TPR; the TPR partial sums meet in a workgroup-memory tree.
// SUBGROUPS variant (same dispatch): with TPR = 256 the row's sum is added per subgroup
// (subgroupAdd), then the subgroups' sums in subgroup order; with TPR < 256 the workgroup's 256/TPR
// rows are dealt to its subgroups (row t + subgroup_id, t += num_subgroups), each row's lanes
// striding by the subgroup size and meeting in one subgroupAdd — no workgroup memory, no barriers.
// #if SUBGROUPS
enable subgroups;
// #endif
override TPR: u32 = 256u;
// Weight storage dtype: 0 f32, 1 f16, 2 bf16.
override WDTYPE: u32 = 0u;

struct Params { rows: u32, cols: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> partial: array<f32, 256>;

fn weight(c: u32) -> f32 {
  if (WDTYPE == 0u) { return bitcast<f32>(w[c]); }
  let word = w[c >> 1u];
  let high = (c & 1u) == 1u;
  if (WDTYPE == 1u) {
    let v = unpack2x16float(word);
    return select(v.x, v.y, high);
  }
  return select(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u), high);
}

// #if SUBGROUPS
@compute @workgroup_size(256)
fn rms_norm(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
            @builtin(subgroup_id) sg: u32, @builtin(num_subgroups) nsg: u32,
            @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let rpw = 256u / TPR; // rows of this workgroup
  let first = (wg.y * nwg.x + wg.x) * rpw;
  if (TPR == 256u) {
    let row = first;
    if (row >= p.rows) { return; } // uniform: depends on the workgroup only
    let base = row * p.cols;
    var ss = 0.0;
    for (var c = li; c < p.cols; c += 256u) {
      let v = x[base + c];
      ss += v * v;
    }
    let part = subgroupAdd(ss);
    if (lane == 0u) { partial[sg] = part; }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < nsg; i++) { total += partial[i]; }
    let inv = inverseSqrt(total / f32(p.cols) + p.eps);
    for (var c = li; c < p.cols; c += 256u) {
      y[base + c] = weight(c) * (x[base + c] * inv);
    }
    return;
  }
  for (var t = 0u; t < rpw; t += nsg) {
    let row = first + t + sg;
    let live = t + sg < rpw && row < p.rows;
    let base = row * p.cols;
    var ss = 0.0;
    if (live) {
      for (var c = lane; c < p.cols; c += sgs) {
        let v = x[base + c];
        ss += v * v;
      }
    }
    let inv = inverseSqrt(subgroupAdd(ss) / f32(p.cols) + p.eps);
    if (live) {
      for (var c = lane; c < p.cols; c += sgs) {
        y[base + c] = weight(c) * (x[base + c] * inv);
      }
    }
  }
}
// #else
@compute @workgroup_size(256)
fn rms_norm(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = (wg.y * nwg.x + wg.x) * (256u / TPR) + li / TPR;
  let lane = li % TPR;
  let live = row < p.rows; // rows past the end still join the barriers below
  let base = row * p.cols;

  var ss = 0.0;
  if (live) {
    for (var c = lane; c < p.cols; c += TPR) {
      let v = x[base + c];
      ss += v * v;
    }
  }
  partial[li] = ss;
  workgroupBarrier();
  for (var stride = TPR / 2u; stride > 0u; stride >>= 1u) {
    if (lane < stride) { partial[li] += partial[li + stride]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[li - lane] / f32(p.cols) + p.eps);

  if (live) {
    for (var c = lane; c < p.cols; c += TPR) {
      y[base + c] = weight(c) * (x[base + c] * inv);
    }
  }
}
// #endif
