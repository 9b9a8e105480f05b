"""Speed benchmark: the project's training and inference against a reference written the
way public PyTorch ports of the Context Encoder write it.

Reference: the paper's 128 px center model, eager fp32, NCHW, the 4000-wide bottleneck as
a 4x4 Conv2d / ConvTranspose2d, plain Adam, batch 64, non-saturating GAN loss plus
overlap-weighted L2, on tensors already in memory (no data loading).
Project: the same model, batch and loss through the real ``Trainer`` with the facades
dataset (data loading included) and its default fast path; inference through
``Inpainter`` on 128x128 images with the center hole.

Each measurement runs in its own process (so peak memory is its own); reference and
project alternate, after warm-up, and the median of the rounds is reported.

    python bench/speed.py [--rounds 3] [--steps 6] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN = torch.tensor([117, 104, 123]).view(1, 3, 1, 1) / 127.5 - 1


# -- the reference, as the public ports write it ----------------------------------------
def reference_models(nbottleneck: int = 4000):
    def down(i, o, bn=True):
        layers = [nn.Conv2d(i, o, 4, 2, 1, bias=False)]
        if bn:
            layers.append(nn.BatchNorm2d(o))
        return layers + [nn.LeakyReLU(0.2, True)]

    def up(i, o):
        return [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]

    g = nn.Sequential(
        *down(3, 64, False), *down(64, 64), *down(64, 128), *down(128, 256), *down(256, 512),
        nn.Conv2d(512, nbottleneck, 4, bias=False), nn.BatchNorm2d(nbottleneck),
        nn.LeakyReLU(0.2, True),
        nn.ConvTranspose2d(nbottleneck, 512, 4, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
        *up(512, 256), *up(256, 128), *up(128, 64),
        nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )
    d = nn.Sequential(*down(3, 64, False), *down(64, 128), *down(128, 256), *down(256, 512),
                      nn.Conv2d(512, 1, 4, bias=False), nn.Flatten())
    for m in [*g.modules(), *d.modules()]:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)
    return g, d


def reference_train(steps: int, warmup: int, batch: int, device: str) -> dict:
    g, d = reference_models()
    g, d = g.to(device), d.to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    w = torch.full((1, 1, 64, 64), 10.0, device=device)
    w[..., 4:60, 4:60] = 1
    real = torch.rand(batch, 3, 128, 128, device=device) * 2 - 1
    mean = MEAN.to(device)
    ones = torch.ones(batch, 1, device=device)
    zeros = torch.zeros(batch, 1, device=device)

    def step():
        center = real[..., 32:96, 32:96]
        x = real.clone()
        x[..., 36:92, 36:92] = mean
        fake = g(x)
        opt_d.zero_grad()
        loss_d = (F.binary_cross_entropy_with_logits(d(center), ones)
                  + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = 0.001 * F.binary_cross_entropy_with_logits(d(fake), ones) + 0.999 * (
            w * (fake - center) ** 2).mean()
        loss_g.backward()
        opt_g.step()

    for _ in range(warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return {"img_s": steps * batch / (time.perf_counter() - t0)}


def project_train(steps: int, warmup: int, batch: int, device: str) -> dict:
    from context_encoder.training import TrainConfig, Trainer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(batch_size=batch, steps=warmup + steps, out=tmp, device=device,
                          progress=False)
        tr = Trainer(cfg)
        loader = iter(tr._loader())
        dev = tr.device
        for _ in range(warmup):
            real, mask = next(loader)
            tr.train_step(real.to(dev), mask.to(dev))
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            real, mask = next(loader)
            tr.train_step(real.to(dev, non_blocking=True), mask.to(dev, non_blocking=True))
        _sync(device)
        return {"img_s": steps * batch / (time.perf_counter() - t0),
                "precision": str(tr.amp_dtype or "fp32"), "channels_last": tr.channels_last}


def _images(n: int):
    from context_encoder.data import render_facade

    imgs = [render_facade("val", i, 128) for i in range(n)]
    m = np.zeros((128, 128), bool)
    m[32:96, 32:96] = True
    return imgs, m


def reference_infer(batch: int, iters: int, device: str) -> dict:
    g, _ = reference_models()
    g = g.to(device).eval()
    imgs, m = _images(batch)
    mean = MEAN.to(device)

    def run():
        with torch.no_grad():
            x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().to(device)
            x = x / 127.5 - 1
            x[..., 36:92, 36:92] = mean
            out = x.clone()
            out[..., 32:96, 32:96] = g(x)
            out = ((out + 1) * 127.5).clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()
        return [np.where(m[..., None], o, i) for o, i in zip(out, imgs, strict=True)]

    return _time_infer(run, batch, iters, device)


def project_infer(batch: int, iters: int, device: str) -> dict:
    from context_encoder import ModelConfig
    from context_encoder.inference import Inpainter
    from context_encoder.models import Generator

    g = Generator(ModelConfig()).to(device)  # the paper's model, untrained weights
    inp = Inpainter(g.eval(), g.config, device=torch.device(device))
    imgs, m = _images(batch)
    if batch == 1:
        return _time_infer(lambda: inp(imgs[0], m), batch, iters, device)
    return _time_infer(lambda: inp(imgs, [m] * batch), batch, iters, device)


def _time_infer(fn, batch, iters, device) -> dict:
    for _ in range(3):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return {"img_s": iters * batch / (time.perf_counter() - t0)}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_part(part: str, args) -> dict:
    dev = args.device
    if part == "ref-train":
        r = reference_train(args.steps, 2, 64, dev)
    elif part == "proj-train":
        r = project_train(args.steps, 2, 64, dev)
    elif part.startswith("ref-infer"):
        b = int(part.split("-b")[1])
        r = reference_infer(b, args.infer_iters if b == 1 else max(2, args.infer_iters // 16), dev)
    else:
        b = int(part.split("-b")[1])
        r = project_infer(b, args.infer_iters if b == 1 else max(2, args.infer_iters // 16), dev)
    r["peak_mb"] = _peak_mb(dev)
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=6, help="timed training steps per round")
    p.add_argument("--infer-iters", type=int, default=32)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", help="also write the JSON here")
    p.add_argument("--part", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args)))
        return
    pairs = [("train", "ref-train", "proj-train"), ("infer_b1", "ref-infer-b1", "proj-infer-b1"),
             ("infer_b64", "ref-infer-b64", "proj-infer-b64")]
    results: dict[str, dict[str, list]] = {}
    for rnd in range(args.rounds):
        for _key, ref, proj in pairs:
            for part in (ref, proj) if rnd % 2 == 0 else (proj, ref):
                cmd = [sys.executable, __file__, "--part", part, "--steps", str(args.steps),
                       "--infer-iters", str(args.infer_iters), "--device", args.device]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONWARNINGS": "ignore"})
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results.setdefault(part, {}).setdefault("img_s", []).append(r["img_s"])
                results[part].setdefault("peak_mb", []).append(r["peak_mb"])
                print(f"round {rnd + 1} {part}: {r['img_s']:.1f} img/s, peak {r['peak_mb']:.0f} MB",
                      file=sys.stderr)
    dev_name = (torch.cuda.get_device_name() if args.device.startswith("cuda")
                else f"CPU, {os.cpu_count()} cores")
    summary: dict = {"device": dev_name, "torch": torch.__version__}
    print(f"\n{'':10} {'reference':>12} {'project':>12} {'ratio':>7} {'peak MB ref/proj':>18}")
    for key, ref, proj in pairs:
        r = statistics.median(results[ref]["img_s"])
        q = statistics.median(results[proj]["img_s"])
        summary[key] = {"reference_img_s": round(r, 2), "project_img_s": round(q, 2),
                        "ratio": round(q / r, 2),
                        "reference_peak_mb": round(max(results[ref]["peak_mb"])),
                        "project_peak_mb": round(max(results[proj]["peak_mb"]))}
        print(f"{key:10} {r:12.1f} {q:12.1f} {q / r:6.2f}x "
              f"{summary[key]['reference_peak_mb']:>8}/{summary[key]['project_peak_mb']}")
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
