// attention_rows: the same attention as attention.wgsl — out = softmax(q·kᵀ·scale + mask)·v per
// head, online softmax, scores never stored — with one invocation per (query row, head) and no
// workgroup memory or barriers. Chosen on CPU adapters (SwiftShader, llvmpipe), where barriers
// cost far more than the lost K/V reuse; GPUs use the tiled kernel.
// Shapes: q, out: [Sq, H·DH]; k, v: [Sk, HKV·DH]; key_mask: [Sk]; DH % 4 = 0, DH ≤ 4·MAX_DH4.
// Masking, GQA, column views (offsets and strides in vec4 units) and f16 storage (F16: q, k, v;
// OUT_F16: out) exactly as attention.wgsl (invisible keys get probability 0; a row with no visible
// key outputs zeros).
// Bindings: 0 q, 1 k, 2 v (array<u32>), 3 key_mask (unused when !HAS_MASK), 4 out, 5 params
//   {sq, sk, group, q_stride4, k_stride4, v_stride4, q_off4, k_off4, v_off4, out_stride4, scale, heads}.
// Batches as attention.wgsl: sq, sk are the rows of one of B sequences, sequence b starts b·sq / b·sk rows on.
// Dispatch: (gx, gy, H·B) with gx·gy·64 ≥ sq (grid1d fold); row = (wg.y·gx + wg.x)·64 + local index,
// head = wg.z mod H, sequence = wg.z / H.
struct Params {
  sq: u32, sk: u32, group: u32, q_stride4: u32, k_stride4: u32, v_stride4: u32,
  q_off4: u32, k_off4: u32, v_off4: u32, out_stride4: u32, scale: f32, heads: u32,
}

override DH: u32;
override CAUSAL: bool = false;
override HAS_MASK: bool = false;
override F16: bool = false;
override OUT_F16: bool = false;
override DH4: u32 = DH / 4u;

const MAX_DH4 = 128u; // DH ≤ 512 (VAE mid-block attention, one head over C channels)
const LOWEST = -3.4028234663852886e38;

@group(0) @binding(0) var<storage, read> q: array<u32>;
@group(0) @binding(1) var<storage, read> k: array<u32>;
@group(0) @binding(2) var<storage, read> v: array<u32>;
@group(0) @binding(3) var<storage, read> key_mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

// vec4 number i4 of q, k, v in their storage type (as attention.wgsl).
fn q4(i4: u32) -> vec4f {
  if (F16) { return vec4f(unpack2x16float(q[2u * i4]), unpack2x16float(q[2u * i4 + 1u])); }
  return bitcast<vec4f>(vec4u(q[4u * i4], q[4u * i4 + 1u], q[4u * i4 + 2u], q[4u * i4 + 3u]));
}
fn k4(i4: u32) -> vec4f {
  if (F16) { return vec4f(unpack2x16float(k[2u * i4]), unpack2x16float(k[2u * i4 + 1u])); }
  return bitcast<vec4f>(vec4u(k[4u * i4], k[4u * i4 + 1u], k[4u * i4 + 2u], k[4u * i4 + 3u]));
}
fn v4(i4: u32) -> vec4f {
  if (F16) { return vec4f(unpack2x16float(v[2u * i4]), unpack2x16float(v[2u * i4 + 1u])); }
  return bitcast<vec4f>(vec4u(v[4u * i4], v[4u * i4 + 1u], v[4u * i4 + 2u], v[4u * i4 + 3u]));
}
fn store4(i4: u32, x: vec4f) {
  if (OUT_F16) {
    out[2u * i4] = pack2x16float(x.xy);
    out[2u * i4 + 1u] = pack2x16float(x.zw);
  } else {
    let u = bitcast<vec4u>(x);
    out[4u * i4] = u.x;
    out[4u * i4 + 1u] = u.y;
    out[4u * i4 + 2u] = u.z;
    out[4u * i4 + 3u] = u.w;
  }
}

@compute @workgroup_size(64)
fn attention_rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = (wg.y * nwg.x + wg.x) * 64u + li;
  if (row >= p.sq) { return; }
  let h = wg.z % p.heads;
  let bt = wg.z / p.heads; // sequence of the batch
  let kv0 = (h / p.group) * DH4;
  let q0 = (bt * p.sq + row) * p.q_stride4 + p.q_off4 + h * DH4;
  var qv: array<vec4f, MAX_DH4>;
  var acc: array<vec4f, MAX_DH4>;
  for (var g = 0u; g < DH4; g++) {
    qv[g] = q4(q0 + g) * p.scale;
    acc[g] = vec4f(0.0);
  }
  var m = LOWEST;
  var l = 0.0;
  var k_end = p.sk;
  if (CAUSAL) { k_end = min(p.sk, row + 1u); }
  for (var j = 0u; j < k_end; j++) {
    if (HAS_MASK && key_mask[bt * p.sk + j] == 0.0) { continue; }
    let kj = (bt * p.sk + j) * p.k_stride4 + p.k_off4 + kv0;
    let vj = (bt * p.sk + j) * p.v_stride4 + p.v_off4 + kv0;
    var s = 0.0;
    for (var g = 0u; g < DH4; g++) { s += dot(qv[g], k4(kj + g)); }
    if (s > m) { // new running max: rescale what was accumulated
      let alpha = exp(m - s);
      l *= alpha;
      for (var g = 0u; g < DH4; g++) { acc[g] *= alpha; }
      m = s;
    }
    let pj = exp(s - m);
    l += pj;
    for (var g = 0u; g < DH4; g++) { acc[g] += pj * v4(vj + g); }
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let o0 = (bt * p.sq + row) * p.out_stride4 + h * DH4;
  for (var g = 0u; g < DH4; g++) { store4(o0 + g, acc[g] * inv); }
}
