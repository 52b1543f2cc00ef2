// latent_unpack: packed tokens → VAE latent. BN de-normalise each packed channel k,
// P[k, i, j] = tokens[i·w + j, k]·√(var[k] + eps) + mean[k], then unpatchify 2×2:
// z[c, 2i + pi, 2j + pj] = P[4c + 2pi + pj, i, j] (diffusers Flux2KleinPipeline: _unpack_latents_with_ids,
// BN denorm, _unpatchify_latents). One thread per output element.
// Shapes: tokens [h·w, K] f32 (K = 128 in klein), mean/var [K] M_DTYPE/V_DTYPE → z [K/4, 2h, 2w] f32.
// Dtypes: 0 f32, 1 f16, 2 bf16; f16/bf16 packed two per u32 word, low half first.
// Bindings: 0 tokens: array<f32>, 1 mean: array<u32>, 2 var: array<u32>, 3 z: array<f32> (write), 4 params.
// Dispatch: grid1d(K·h·w, 256) → (x, y); flat output index = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32, k: u32, h: u32, w: u32, eps: f32 }

override M_DTYPE: u32 = 0u;
override V_DTYPE: u32 = 0u;

@group(0) @binding(0) var<storage, read> tokens: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<u32>;
@group(0) @binding(2) var<storage, read> variance: array<u32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Element i of a packed array given its word: f32 bits, or the low/high half of an f16/bf16 pair.
fn decode(word: u32, i: u32, dtype: u32) -> f32 {
  if (dtype == 0u) { return bitcast<f32>(word); }
  if (dtype == 1u) { return unpack2x16float(word)[i & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}

fn word_of(i: u32, dtype: u32) -> u32 { return select(i >> 1u, i, dtype == 0u); }

@compute @workgroup_size(256)
fn latent_unpack(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = (wg.y * nwg.x + wg.x) * 256u + li;
  if (o >= p.n) { return; }
  let plane = 4u * p.h * p.w; // one latent channel [2h, 2w]
  let c = o / plane;
  let rem = o % plane;
  let yy = rem / (2u * p.w);
  let xx = rem % (2u * p.w);
  let k = 4u * c + 2u * (yy & 1u) + (xx & 1u);
  let token = (yy >> 1u) * p.w + (xx >> 1u);
  let m = decode(mean[word_of(k, M_DTYPE)], k, M_DTYPE);
  let v = decode(variance[word_of(k, V_DTYPE)], k, V_DTYPE);
  z[o] = tokens[token * p.k + k] * sqrt(v + p.eps) + m;
}
