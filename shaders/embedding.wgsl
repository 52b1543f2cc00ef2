// embedding: y[t, d] = table[ids[t], d], converted to f32 (token-id lookup, e.g. Qwen3 embed_tokens).
// Shapes: ids [n] u32 (uploaded as a Uint32Array in a tensor typed 'f32': same byte length, the
// bits are read as u32 here); table [V, D] in DTYPE; y [n, D] f32. Ids are validated on the host.
// f16/bf16 tables are packed two per u32 word: element i is in word i >> 1, low half first (rows start
// mid-word when D is odd, so every element is addressed by its flat index).
// Bindings: 0 ids: array<u32> (read), 1 table: array<u32> (read), 2 y: array<f32> (write),
// 3 params {n·D, D}.
// Dispatch: grid1d(n·D, 256) → (gx, gy); one invocation per output element, flat index
// i = (wg.y·gx + wg.x)·256 + local.
override DTYPE: u32 = 0u; // table dtype: 0 f32, 1 f16, 2 bf16

struct Params { total: u32, D: u32 }

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn embedding(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.total) { return; }
  let t = i / p.D;
  let e = ids[t] * p.D + (i - t * p.D); // flat index of table[ids[t], d]
  if (DTYPE == 0u) {
    y[i] = bitcast<f32>(table[e]);
    return;
  }
  let word = table[e >> 1u];
  let odd = (e & 1u) == 1u;
  if (DTYPE == 2u) {
    y[i] = bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd));
  } else {
    let h = unpack2x16float(word);
    y[i] = select(h.x, h.y, odd);
  }
}
