// attention: out = softmax(q·kᵀ·scale + mask)·v per head with an online (flash-style) softmax: the
// score matrix never leaves workgroup memory; each query row keeps a running max m, sum l and its
// output accumulator, rescaled by exp(m_old − m_new) whenever the max grows.
// Shapes: q, out: [Sq, H·DH]; k, v: [Sk, HKV·DH]; key_mask: [Sk]; DH % 4 = 0 (rows read as vec4).
// Views: q, k, v are column windows of wider rows (e.g. one joint q|k|v buffer): element (i, c) of q
// is q[i·q_stride4 + q_off4 (vec4 units) + c/4], likewise k and v; out rows are out_stride4 wide.
// Storage: q, k, v in f16 (packed two per u32, low half first) when F16, else f32; out in f16 when
// OUT_F16. Arithmetic, scores and softmax in f32.
// Query head h reads kv head h / group, group = H/HKV (GQA, transformers repeat_kv).
// Masking: key j is visible to query i iff j < Sk, (CAUSAL) j ≤ i and (HAS_MASK) key_mask[j] ≠ 0.
// Invisible keys get probability exactly 0, which equals transformers' additive f32 minimum
// whenever a row keeps a visible key; a row with no visible key outputs zeros (not NaN).
// Bindings: 0 q, 1 k, 2 v (array<u32>), 3 key_mask (any f32 buffer when !HAS_MASK; never read then),
// 4 out (write), 5 params {sq, sk, group, q_stride4, k_stride4, v_stride4, q_off4, k_off4, v_off4,
// out_stride4, n_blocks, scale}.
// Dispatch: (gx, gy, H) with gx·gy ≥ n_blocks = ⌈Sq/BR⌉ (grid1d fold); block = wg.y·gx + wg.x.
// Workgroup: BR·BC threads, thread (r, c) = (li / BC, li % BC); loops over key blocks of BC keys:
//   1. score s = q[r]·k[c]: q rows (pre-scaled) stay in qs, K is staged DC dims at a time in kvs;
//   2. every thread of row r reads the row's BC scores, updates m, l and p = exp(s − m);
//   3. thread (r, c) owns the vec4 groups g ≡ c (mod BC) of out row r in registers (acc[g / BC]);
//      V is staged like K. DC = DH or a multiple of 4·BC, so ownership is the same in every chunk.
// Tiling (BR, BC, DC) is chosen by src/ops/gpu/attention.ts within 16 KiB of workgroup memory.
struct Params {
  sq: u32, sk: u32, group: u32, q_stride4: u32, k_stride4: u32, v_stride4: u32,
  q_off4: u32, k_off4: u32, v_off4: u32, out_stride4: u32, n_blocks: u32, scale: f32,
}

override DH: u32;
override BR: u32;
override BC: u32;
override DC: u32;
override CAUSAL: bool = false;
override HAS_MASK: bool = false;
override F16: bool = false;
override OUT_F16: bool = false;
override DH4: u32 = DH / 4u;
override DC4: u32 = DC / 4u;
override NACC: u32 = (DH4 + BC - 1u) / BC; // vec4 accumulators per thread, ≤ MAX_ACC

const MAX_ACC = 8u;
const LOWEST = -3.4028234663852886e38; // f32 minimum: score of an invisible key, initial m

@group(0) @binding(0) var<storage, read> q: array<u32>;
@group(0) @binding(1) var<storage, read> k: array<u32>;
@group(0) @binding(2) var<storage, read> v: array<u32>;
@group(0) @binding(3) var<storage, read> key_mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

// vec4 number i4 (elements 4·i4 … 4·i4 + 3) of q, k, v in their storage type.
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

var<workgroup> qs: array<vec4f, BR * DH4>;         // scaled q rows [BR][DH4]
var<workgroup> kvs: array<vec4f, BC * (DC4 + 1u)>; // K or V chunk [BC][DC4], padded (banks)
var<workgroup> ss: array<f32, BR * BC>;            // block scores [BR][BC]
var<workgroup> ps: array<f32, BR * BC>;            // block probabilities [BR][BC]

fn visible(row: u32, key: u32) -> bool {
  if (key >= p.sk) { return false; }
  if (CAUSAL && key > row) { return false; }
  if (HAS_MASK && key_mask[key] == 0.0) { return false; }
  return true;
}

// Stages vec4 groups [g0, g0+DC4) of keys kb..kb+BC of kv head kvh from K (or V); zero past Sk.
fn load_chunk(from_v: bool, kb: u32, kvh: u32, g0: u32, li: u32) {
  for (var e = li; e < BC * DC4; e += BR * BC) {
    let j = e / DC4;
    let g = e % DC4;
    var x = vec4f(0.0);
    if (kb + j < p.sk) {
      let col = kvh * DH4 + g0 + g;
      if (from_v) { x = v4((kb + j) * p.v_stride4 + p.v_off4 + col); } else { x = k4((kb + j) * p.k_stride4 + p.k_off4 + col); }
    }
    kvs[j * (DC4 + 1u) + g] = x;
  }
}

@compute @workgroup_size(BR * BC)
fn attention(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let blk = wg.y * nwg.x + wg.x;
  if (blk >= p.n_blocks) { return; }
  let h = wg.z;
  let kvh = h / p.group;
  let r = li / BC;
  let c = li % BC;
  let row = blk * BR + r;
  let row_ok = row < p.sq;

  for (var e = li; e < BR * DH4; e += BR * BC) {
    let qr = blk * BR + e / DH4;
    var x = vec4f(0.0);
    if (qr < p.sq) { x = q4(qr * p.q_stride4 + p.q_off4 + h * DH4 + e % DH4) * p.scale; }
    qs[e] = x;
  }

  var m = LOWEST;
  var l = 0.0;
  var acc: array<vec4f, MAX_ACC>;
  var k_end = p.sk;
  if (CAUSAL) { k_end = min(p.sk, (blk + 1u) * BR); } // later key blocks are fully masked
  for (var kb = 0u; kb < k_end; kb += BC) {
    // 1. scores
    var s = 0.0;
    for (var g0 = 0u; g0 < DH4; g0 += DC4) {
      workgroupBarrier(); // previous readers of kvs (and the q stores) are done
      load_chunk(false, kb, kvh, g0, li);
      workgroupBarrier();
      for (var g = 0u; g < DC4; g++) { s += dot(qs[r * DH4 + g0 + g], kvs[c * (DC4 + 1u) + g]); }
    }
    let vis = row_ok && visible(row, kb + c);
    ss[li] = select(LOWEST, s, vis);
    workgroupBarrier();

    // 2. online softmax update, computed redundantly (identically) by every thread of the row
    var bmax = LOWEST;
    for (var j = 0u; j < BC; j++) { bmax = max(bmax, ss[r * BC + j]); }
    let m_new = max(m, bmax);
    let alpha = exp(m - m_new); // 0 when m was LOWEST and the row now has a visible key
    m = m_new;
    ps[li] = select(0.0, exp(s - m_new), vis);
    workgroupBarrier();
    var psum = 0.0;
    for (var j = 0u; j < BC; j++) { psum += ps[r * BC + j]; }
    l = l * alpha + psum;
    for (var i = 0u; i < NACC; i++) { acc[i] *= alpha; }

    // 3. acc += P·V for this thread's vec4 groups
    for (var g0 = 0u; g0 < DH4; g0 += DC4) {
      workgroupBarrier(); // previous readers of kvs are done
      load_chunk(true, kb, kvh, g0, li);
      workgroupBarrier();
      for (var i = 0u; i < (DC4 + BC - 1u) / BC; i++) {
        let g = c + BC * i;
        if (g < DC4) {
          var t = vec4f(0.0);
          for (var j = 0u; j < BC; j++) { t += ps[r * BC + j] * kvs[j * (DC4 + 1u) + g]; }
          acc[g0 / BC + i] += t;
        }
      }
    }
  }

  if (row_ok) {
    let inv = select(0.0, 1.0 / l, l > 0.0); // l = 0 only when no key was visible
    for (var i = 0u; i < NACC; i++) {
      let g = c + BC * i;
      if (g < DH4) { store4(row * p.out_stride4 + h * DH4 + g, acc[i] * inv); }
    }
  }
}
