// attention: out = softmax(q·kᵀ·scale + mask)·v per head with an online (flash-style) softmax: the
// score matrix never leaves workgroup memory; each query row keeps a running max m, sum l and its
// output accumulator, rescaled by exp(m_old − m_new) whenever the max grows.
// Shapes: q, out: [Sq, H·DH]; k, v: [Sk, HKV·DH]; key_mask: [Sk]; DH % 4 = 0 (rows read as vec4).
// Views: q, k, v are column windows of wider rows (e.g. one joint q|k|v buffer): element (i, c) of q
// is q[i·q_stride4 + q_off4 (vec4 units) + c/4], likewise k and v; out rows are out_stride4 wide.
// Storage: q, k, v in f16 (packed two per u32, low half first) when F16, else f32; out in f16 when
// OUT_F16. Arithmetic, scores, softmax, m, l and the accumulators are f32 in every case.
// Query head h reads kv head h / group, group = H/HKV (GQA, transformers repeat_kv).
// Masking: key j is visible to query i iff j < Sk, (CAUSAL) j ≤ i and (HAS_MASK) key_mask[j] ≠ 0.
// Invisible keys get probability exactly 0, which equals transformers' additive f32 minimum
// whenever a row keeps a visible key; a row with no visible key outputs zeros (not NaN).
// Bindings: 0 q, 1 k, 2 v (array<u32>), 3 key_mask (any f32 buffer when !HAS_MASK; never read then),
// 4 out (write), 5 params {sq, sk, group, q_stride4, k_stride4, v_stride4, q_off4, k_off4, v_off4,
// out_stride4, n_blocks, scale, heads}.
// Batches: B independent sequences (sq, sk are the rows of one): sequence b's q, k, v and out rows
// start b·sq (q, out) and b·sk (k, v, key_mask) rows further on; its queries see only its keys.
// Dispatch: (gx, gy, H·B) with gx·gy ≥ n_blocks = ⌈sq/BR⌉ (grid1d fold); block = wg.y·gx + wg.x,
// head = wg.z mod H, sequence = wg.z / H.
// Staging: q rows and K/V tiles sit in workgroup memory as 16-byte units (vec4u) of EPU values: 4
// f32 values (bit copies), or with F16_TILES (needs F16 and DH % 8 = 0) 8 f16 values exactly as stored (two
// vec4 groups, unpacked with unpack2x16float when read), which halves the tiles. q is staged
// unscaled; the score is scale·(q·k).
// Workgroup: BR query rows × TPR threads per row, thread (r, t) = (li / TPR, li % TPR). The keys
// are walked in blocks of BC = TPR·KPT; thread (r, t) owns the KPT keys kb + t + TPR·i of block kb:
//   1. K is staged DC dims at a time in kvs; the thread accumulates its KPT scores in registers,
//      reading each q unit of its row once for all of them;
//   2. the row's block max is the max of its TPR per-thread maxima (pmax), m_new = max(m, it); acc
//      and l are rescaled by exp(m − m_new); the thread writes its probabilities p = exp(s − m_new)
//      to ps and their sum to psum; l grows by the row's TPR sums;
//   3. V is staged like K; thread (r, t) owns the units u ≡ t (mod TPR) of out row r (acc, in
//      registers, ⌈DH/(EPU·TPR)⌉ units) and adds Σ_j p_j·v_j over the block's BC keys for them.
//      DC = DH or DC/EPU is a multiple of TPR, so a thread owns the same units in every chunk.
//   CAUSAL skips the key blocks after the block's last row: all their keys are masked.
// Barriers per key block: 2 per K chunk, 1 for the max, 2 per V chunk. Rows of kvs (read down a
// column by the TPR threads of a row), qs and ps (read by the several rows that share a SIMD group)
// are padded by one element against bank conflicts.
// Tiling (BR, TPR, KPT, DC, F16_TILES) is chosen by src/ops/gpu/attention.ts within 16 KiB of
// workgroup memory and ≤ 256 threads.
struct Params {
  sq: u32, sk: u32, group: u32, q_stride4: u32, k_stride4: u32, v_stride4: u32,
  q_off4: u32, k_off4: u32, v_off4: u32, out_stride4: u32, n_blocks: u32, scale: f32, heads: u32,
}

override DH: u32;
override BR: u32;  // query rows per workgroup
override TPR: u32; // threads per query row
override KPT: u32; // keys per thread and key block, ≤ MAX_KPT
override DC: u32;  // head dims per staged K/V chunk: DH, or a divisor of DH with DC/EPU % TPR = 0
override CAUSAL: bool = false;
override HAS_MASK: bool = false;
override F16: bool = false;
override F16_TILES: bool = false;
override OUT_F16: bool = false;
override BC: u32 = TPR * KPT;                   // keys per block
override DH4: u32 = DH / 4u;
override EPU: u32 = select(4u, 8u, F16_TILES);  // values per staged 16-byte unit
override VPU: u32 = EPU / 4u;                   // vec4 groups per unit
override DHU: u32 = DH / EPU;                   // units per head row
override DCU: u32 = DC / EPU;                   // units per chunk row
override NU: u32 = (DHU + TPR - 1u) / TPR;      // output units per thread; NU·VPU ≤ MAX_ACC

const MAX_ACC = 8u;
const MAX_KPT = 8u;
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
// The staged unit that starts at vec4 number i4 of q (src 0), k (1) or v (2): with F16_TILES the 4
// storage words of vec4 groups i4, i4 + 1 as they are, else the f32 bits of group i4.
fn unit(src: u32, i4: u32) -> vec4u {
  if (F16_TILES) {
    let w = 2u * i4;
    if (src == 0u) { return vec4u(q[w], q[w + 1u], q[w + 2u], q[w + 3u]); }
    if (src == 1u) { return vec4u(k[w], k[w + 1u], k[w + 2u], k[w + 3u]); }
    return vec4u(v[w], v[w + 1u], v[w + 2u], v[w + 3u]);
  }
  if (src == 0u) { return bitcast<vec4u>(q4(i4)); }
  if (src == 1u) { return bitcast<vec4u>(k4(i4)); }
  return bitcast<vec4u>(v4(i4));
}
// First vec4 group of a staged unit (the only one without F16_TILES) and the second (F16_TILES).
fn lo(w: vec4u) -> vec4f {
  if (F16_TILES) { return vec4f(unpack2x16float(w.x), unpack2x16float(w.y)); }
  return bitcast<vec4f>(w);
}
fn hi(w: vec4u) -> vec4f { return vec4f(unpack2x16float(w.z), unpack2x16float(w.w)); }

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

// Row offsets of this workgroup's sequence (vec4 units; mo in keys), set first thing in attention().
var<private> qo: u32;
var<private> ko: u32;
var<private> vo: u32;
var<private> mo: u32;

var<workgroup> qs: array<vec4u, BR * (DHU + 1u)>;  // q rows [BR][DHU], padded by one unit
var<workgroup> kvs: array<vec4u, BC * (DCU + 1u)>; // K or V chunk [BC][DCU], padded by one unit
var<workgroup> ps: array<f32, BR * (BC + 1u)>;     // block probabilities [BR][BC], padded by one
var<workgroup> pmax: array<f32, BR * TPR>;         // per-thread block maxima [BR][TPR]
var<workgroup> psum: array<f32, BR * TPR>;         // per-thread probability sums [BR][TPR]

fn visible(row: u32, key: u32) -> bool {
  if (key >= p.sk) { return false; }
  if (CAUSAL && key > row) { return false; }
  if (HAS_MASK && key_mask[mo + key] == 0.0) { return false; }
  return true;
}

// Stages units [c0, c0 + DCU) of keys kb … kb + BC − 1 of kv head kvh from K (src 1) or V (src 2);
// zeros past Sk.
fn stage(src: u32, kb: u32, kvh: u32, c0: u32, li: u32) {
  for (var e = li; e < BC * DCU; e += BR * TPR) {
    let j = e / DCU;
    let u = e % DCU;
    var w = vec4u(0u);
    if (kb + j < p.sk) {
      let col4 = kvh * DH4 + (c0 + u) * VPU;
      if (src == 1u) { w = unit(1u, (kb + j) * p.k_stride4 + ko + col4); } else { w = unit(2u, (kb + j) * p.v_stride4 + vo + col4); }
    }
    kvs[j * (DCU + 1u) + u] = w;
  }
}

@compute @workgroup_size(BR * TPR)
fn attention(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let blk = wg.y * nwg.x + wg.x;
  if (blk >= p.n_blocks) { return; }
  let h = wg.z % p.heads;
  let bt = wg.z / p.heads; // sequence of the batch
  qo = p.q_off4 + bt * p.sq * p.q_stride4;
  ko = p.k_off4 + bt * p.sk * p.k_stride4;
  vo = p.v_off4 + bt * p.sk * p.v_stride4;
  mo = bt * p.sk;
  let oo = bt * p.sq * p.out_stride4;
  let kvh = h / p.group;
  let r = li / TPR;
  let t = li % TPR;
  let row = blk * BR + r;
  let row_ok = row < p.sq;

  for (var e = li; e < BR * DHU; e += BR * TPR) {
    let qr = blk * BR + e / DHU;
    var w = vec4u(0u);
    if (qr < p.sq) { w = unit(0u, qr * p.q_stride4 + qo + h * DH4 + (e % DHU) * VPU); }
    qs[(e / DHU) * (DHU + 1u) + e % DHU] = w;
  }

  var m = LOWEST;
  var l = 0.0;
  var acc: array<vec4f, MAX_ACC>;
  var k_end = p.sk;
  if (CAUSAL) { k_end = min(p.sk, (blk + 1u) * BR); } // later key blocks are fully masked
  for (var kb = 0u; kb < k_end; kb += BC) {
    // 1. scores of this thread's keys kb + t + TPR·i
    // explicitly zeroed: Dawn (SwiftShader and lavapipe) zeroed `var s: array<…>;` here only once, not per block
    var s = array<f32, MAX_KPT>();
    for (var c0 = 0u; c0 < DHU; c0 += DCU) {
      workgroupBarrier(); // previous readers of kvs (and the q stores) are done
      stage(1u, kb, kvh, c0, li);
      workgroupBarrier();
      for (var u = 0u; u < DCU; u++) {
        let qw = qs[r * (DHU + 1u) + c0 + u];
        let qa = lo(qw);
        if (F16_TILES) {
          let qb = hi(qw);
          for (var i = 0u; i < KPT; i++) {
            let kw = kvs[(t + TPR * i) * (DCU + 1u) + u];
            s[i] += dot(qa, lo(kw)) + dot(qb, hi(kw));
          }
        } else {
          for (var i = 0u; i < KPT; i++) { s[i] += dot(qa, lo(kvs[(t + TPR * i) * (DCU + 1u) + u])); }
        }
      }
    }

    // 2. online softmax update from the row's TPR partial maxima and sums
    var vis = 0u; // bit i: key kb + t + TPR·i is visible to this row
    var tmax = LOWEST;
    for (var i = 0u; i < KPT; i++) {
      if (row_ok && visible(row, kb + t + TPR * i)) {
        vis |= 1u << i;
        s[i] *= p.scale;
        tmax = max(tmax, s[i]);
      }
    }
    pmax[li] = tmax;
    workgroupBarrier();
    var bmax = LOWEST;
    for (var i = 0u; i < TPR; i++) { bmax = max(bmax, pmax[r * TPR + i]); }
    let m_new = max(m, bmax);
    let alpha = exp(m - m_new); // 0 when m was LOWEST and the row now has a visible key
    m = m_new;
    var tsum = 0.0;
    for (var i = 0u; i < KPT; i++) {
      let pr = select(0.0, exp(s[i] - m_new), (vis & (1u << i)) != 0u);
      ps[r * (BC + 1u) + t + TPR * i] = pr;
      tsum += pr;
    }
    psum[li] = tsum;
    for (var i = 0u; i < NU * VPU; i++) { acc[i] *= alpha; }

    // 3. acc += P·V for this thread's units; keys ≥ k_end have p = 0 for every row
    let nj = min(BC, k_end - kb);
    for (var c0 = 0u; c0 < DHU; c0 += DCU) {
      workgroupBarrier(); // readers of kvs are done, ps and psum are written
      stage(2u, kb, kvh, c0, li);
      workgroupBarrier();
      let a0 = c0 / TPR; // slot of the thread's first unit in this chunk
      for (var j = 0u; j < nj; j++) {
        let pj = ps[r * (BC + 1u) + j];
        for (var i = 0u; i < (DCU + TPR - 1u) / TPR; i++) {
          let u = t + TPR * i;
          if (u < DCU) {
            let w = kvs[j * (DCU + 1u) + u];
            acc[VPU * (a0 + i)] += pj * lo(w);
            if (F16_TILES) { acc[VPU * (a0 + i) + 1u] += pj * hi(w); }
          }
        }
      }
    }
    // psum is rewritten only after the next block's max barrier, which every thread reaches later
    var bsum = 0.0;
    for (var i = 0u; i < TPR; i++) { bsum += psum[r * TPR + i]; }
    l = l * alpha + bsum;
  }

  if (row_ok) {
    let inv = select(0.0, 1.0 / l, l > 0.0); // l = 0 only when no key was visible
    for (var i = 0u; i < NU; i++) {
      let u = t + TPR * i;
      if (u < DHU) {
        let o4 = oo + row * p.out_stride4 + h * DH4 + u * VPU;
        store4(o4, acc[VPU * i] * inv);
        if (F16_TILES) { store4(o4 + 1u, acc[VPU * i + 1u] * inv); }
      }
    }
  }
}
