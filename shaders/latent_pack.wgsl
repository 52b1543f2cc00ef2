// latent_pack: VAE latent → packed tokens (inverse of latent_unpack). Patchify 2×2,
// P[4c + 2pi + pj, i, j] = z[c, 2i + pi, 2j + pj], then BN-normalise each packed channel k:
// tokens[i·w + j, k] = (P[k, i, j] − mean[k]) / √(var[k] + eps) (diffusers Flux2KleinPipeline:
// _patchify_latents, BN normalise, _pack_latents). One thread per output element.
// Shapes: z [K/4, 2h, 2w] f32, mean/var [K] M_DTYPE/V_DTYPE (K = 128 in klein) → tokens [h·w, K] f32.
// Dtypes: 0 f32, 1 f16, 2 bf16; f16/bf16 packed two per u32 word, low half first.
// Bindings: 0 z: array<f32>, 1 mean: array<u32>, 2 var: array<u32>, 3 tokens: array<f32> (write), 4 params.
// Dispatch: grid1d(K·h·w, 256) → (x, y); flat output index = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32, k: u32, h: u32, w: u32, eps: f32 }

override M_DTYPE: u32 = 0u;
override V_DTYPE: u32 = 0u;

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<u32>;
@group(0) @binding(2) var<storage, read> variance: array<u32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Element i of a packed array given its word: f32 bits, or the low/high half of an f16/bf16 pair.
fn decode(word: u32, i: u32, dtype: u32) -> f32 {
  if (dtype == 0u) { return bitcast<f32>(word); }
  if (dtype == 1u) { return unpack2x16float(word)[i & 1u]; }
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}

fn word_of(i: u32, dtype: u32) -> u32 { return select(i >> 1u, i, dtype == 0u); }

@compute @workgroup_size(256)
fn latent_pack(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = (wg.y * nwg.x + wg.x) * 256u + li;
  if (o >= p.n) { return; }
  let token = o / p.k;
  let k = o % p.k;
  let yy = 2u * (token / p.w) + ((k >> 1u) & 1u);
  let xx = 2u * (token % p.w) + (k & 1u);
  let m = decode(mean[word_of(k, M_DTYPE)], k, M_DTYPE);
  let v = decode(variance[word_of(k, V_DTYPE)], k, V_DTYPE);
  tokens[o] = (z[((k >> 2u) * 2u * p.h + yy) * 2u * p.w + xx] - m) / sqrt(v + p.eps);
}
