// to_rgba8: [3, H, W] image nominally in [−1, 1] → one RGBA8 pixel per u32 (r in the low byte, alpha
// 255), each channel v = round(clamp(x/2 + 0.5, 0, 1)·255), round half to even (diffusers
// VaeImageProcessor.postprocess: (x/2 + 0.5).clamp(0, 1), then ·255 and round via numpy).
// Shapes: x [3, H·W] f32 → rgba [H·W] u32; little-endian bytes are r, g, b, a (ImageData order).
// Bindings: 0 x: array<f32> (read), 1 rgba: array<u32> (write), 2 params {n = H·W}.
// Dispatch: grid1d(H·W, 256) → (x, y); pixel = (wg.y·num_wg.x + wg.x)·256 + local.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> rgba: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn to_byte(v: f32) -> u32 {
  return u32(round(clamp(v * 0.5 + 0.5, 0.0, 1.0) * 255.0));
}

@compute @workgroup_size(256)
fn to_rgba8(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= p.n) { return; }
  let r = to_byte(x[i]);
  let g = to_byte(x[p.n + i]);
  let b = to_byte(x[2u * p.n + i]);
  rgba[i] = r | (g << 8u) | (b << 16u) | (255u << 24u);
}
