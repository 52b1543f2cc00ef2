#!/usr/bin/env python3
"""One FLUX.2 [klein] transformer step in PyTorch, bf16, eager: the GPU check's baseline.

The forward follows docs/flux2-klein.md §4 (the same math as src/model/transformer.ts and
blocks.ts): timestep embedding, shared modulations, double-stream blocks over [text; image],
single-stream blocks with one fused projection, final AdaLN and projection. Weights are random
(N(0, 1/fan_in)), no checkpoint is needed; the point is the time of the same shapes and FLOPs,
not the values. Attention is torch's scaled_dot_product_attention (flash/efficient kernels).

usage: python3 bench/torch_step.py --config bench/configs/flux2-klein-4b/transformer/config.json
           --size 1024 [--text-tokens 512] [--repeats 5] [--json]
Prints the median ms of one step (after warm-up) and the step's FLOPs (linear 2·M·N·K and
attention 4·S²·H·Dh, as the engine counts them).
"""
import argparse
import json
import math
import statistics

import torch
import torch.nn.functional as F


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--width", type=int)
    ap.add_argument("--height", type=int)
    ap.add_argument("--text-tokens", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    width, height = a.width or a.size, a.height or a.size
    dev = torch.device("cuda")
    dt = torch.bfloat16
    torch.manual_seed(0)

    heads, dh = cfg["num_attention_heads"], cfg["attention_head_dim"]
    d = heads * dh
    m = int(d * cfg["mlp_ratio"])
    eps = cfg["eps"]
    cin = cfg["in_channels"]
    cout = cfg["out_channels"] or cin
    L, N = a.text_tokens, (width // 16) * (height // 16)
    S = L + N
    flops = 0

    def w(out_f: int, in_f: int) -> torch.Tensor:
        return torch.randn(out_f, in_f, device=dev, dtype=dt) / math.sqrt(in_f)

    def lin(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        nonlocal flops
        flops += 2 * x.shape[0] * weight.shape[0] * weight.shape[1]
        return F.linear(x, weight)

    def rms(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # per head, statistics in f32
        xs = x.view(x.shape[0], heads, dh).float()
        return (xs * torch.rsqrt(xs.pow(2).mean(-1, keepdim=True) + eps)).to(dt) * g

    def mod_ln(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return (F.layer_norm(x.float(), (d,), eps=eps).to(dt)) * (1 + scale) + shift

    def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:  # interleaved pairs
        xs = x.view(x.shape[0], heads, dh // 2, 2)
        a0, a1 = xs[..., 0], xs[..., 1]
        return torch.stack((a0 * cos - a1 * sin, a0 * sin + a1 * cos), -1).view(x.shape[0], heads, dh)

    def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        nonlocal flops
        flops += 4 * S * S * heads * dh
        o = F.scaled_dot_product_attention(q.transpose(0, 1)[None], k.transpose(0, 1)[None], v.view(S, heads, dh).transpose(0, 1)[None])
        return o[0].transpose(0, 1).reshape(S, d)

    W = {
        "x": w(d, cin), "ctx": w(d, cfg["joint_attention_dim"]), "t1": w(d, cfg["timestep_guidance_channels"]), "t2": w(d, d),
        "mi": w(6 * d, d), "mt": w(6 * d, d), "ms": w(3 * d, d), "no": w(2 * d, d), "po": w(cout, d),
    }
    double = [{
        "q": w(d, d), "k": w(d, d), "v": w(d, d), "aq": w(d, d), "ak": w(d, d), "av": w(d, d), "o": w(d, d), "ao": w(d, d),
        "fi": w(2 * m, d), "fo": w(d, m), "ci": w(2 * m, d), "co": w(d, m),
    } for _ in range(cfg["num_layers"])]
    single = [{"p": w(3 * d + 2 * m, d), "o": w(d, d + m)} for _ in range(cfg["num_single_layers"])]
    g = torch.ones(dh, device=dev, dtype=dt)
    ang = torch.rand(S, heads, dh // 2, device=dev) * 6.28
    cos, sin = ang.cos().to(dt), ang.sin().to(dt)
    x_in = torch.randn(N, cin, device=dev, dtype=dt)
    ctx_in = torch.randn(L, cfg["joint_attention_dim"], device=dev, dtype=dt)
    t_in = torch.randn(1, cfg["timestep_guidance_channels"], device=dev, dtype=dt)

    def ff(x: torch.Tensor, wi: torch.Tensor, wo: torch.Tensor) -> torch.Tensor:
        gate, val = lin(x, wi).chunk(2, -1)
        return lin(F.silu(gate) * val, wo)

    def step() -> torch.Tensor:
        act = F.silu(lin(F.silu(lin(t_in, W["t1"])), W["t2"]))
        mi, mt, ms = lin(act, W["mi"]).chunk(6, -1), lin(act, W["mt"]).chunk(6, -1), lin(act, W["ms"]).chunk(3, -1)
        img, txt = lin(x_in, W["x"]), lin(ctx_in, W["ctx"])
        for b in double:
            xi, xt = mod_ln(img, mi[0], mi[1]), mod_ln(txt, mt[0], mt[1])
            q = rope(torch.cat((rms(lin(xt, b["aq"]), g), rms(lin(xi, b["q"]), g))), cos, sin)
            k = rope(torch.cat((rms(lin(xt, b["ak"]), g), rms(lin(xi, b["k"]), g))), cos, sin)
            v = torch.cat((lin(xt, b["av"]), lin(xi, b["v"])))
            o = attention(q, k, v)
            img = img + mi[2] * lin(o[L:], b["o"])
            img = img + mi[5] * ff(mod_ln(img, mi[3], mi[4]), b["fi"], b["fo"])
            txt = txt + mt[2] * lin(o[:L], b["ao"])
            txt = txt + mt[5] * ff(mod_ln(txt, mt[3], mt[4]), b["ci"], b["co"])
        s = torch.cat((txt, img))
        for b in single:
            u = mod_ln(s, ms[0], ms[1])
            p = lin(u, b["p"])
            q, k, v, gate, val = p.split((d, d, d, m, m), -1)
            o = attention(rope(rms(q, g), cos, sin), rope(rms(k, g), cos, sin), v)
            s = s + ms[2] * lin(torch.cat((o, F.silu(gate) * val), -1), b["o"])
        scale, shift = lin(act, W["no"]).chunk(2, -1)
        return lin(mod_ln(s[L:], shift, scale), W["po"])

    with torch.inference_mode():
        step()  # warm-up (kernel selection, allocator)
        torch.cuda.synchronize()
        times = []
        for _ in range(a.repeats):
            flops = 0
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    ms = statistics.median(times)
    r = {"width": width, "height": height, "text_tokens": L, "image_tokens": N, "ms": ms, "ms_all": times,
         "tflop": flops / 1e12, "tflops_per_s": flops / 1e9 / ms, "gpu": torch.cuda.get_device_name(),
         "torch": torch.__version__, "peak_gib": torch.cuda.max_memory_allocated() / 2**30}
    print(json.dumps(r) if a.json else f"{width}x{height}: {ms:.1f} ms per step, {flops / 1e12:.2f} TFLOP, {r['tflops_per_s']:.0f} TFLOP/s ({r['gpu']})")


if __name__ == "__main__":
    main()
