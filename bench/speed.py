"""Speed benchmark: the project's training and inference against a reference written the
way public PyTorch ports of the Context Encoder write it.

Two models, each timed in both implementations:
- ``paper``: the paper's 128 px center model (71 M parameters, the 4000-wide bottleneck).
  Reference: eager fp32, NCHW, the bottleneck as a 4x4 Conv2d / ConvTranspose2d, plain
  Adam, non-saturating GAN loss plus overlap-weighted L2.
- ``shipped``: the configuration the shipped models were trained with (``--mask mixed
  --bottleneck channelwise --width 64``: the full-image model, the mask as a 4th input
  channel, 6 M parameters). Reference: the same layers written plainly (the channel-wise
  fully-connected layer as the grouped convolution the paper describes), L2 with the
  context weighted 0.1, D on the composited image.
The reference trains on tensors already in memory (no data loading; the shipped model's
masks drawn once); the project trains through the real ``Trainer`` loop (its data loader
rendering facades and drawing masks, the copies to the device, the step, the device-side
loss watch and its read-back), batch 64, with its default fast path; inference runs
through ``Inpainter`` on 128x128 images with the center hole.

Each measurement runs in its own process (so peak memory is its own: on CUDA
``torch.cuda.max_memory_allocated``, else the process's peak RSS); reference and project
alternate, after warm-up, and the median of the rounds is reported.

    python bench/speed.py [--rounds 3] [--steps 6] [--only train,train_shipped]
                          [--compile none] [--json out.json]
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


#: The project's training options of each benchmarked model (batch and device apart).
TRAIN_CONFIGS: dict[str, dict] = {
    "paper": {},
    "shipped": {"mask": "mixed", "bottleneck": "channelwise", "width": 64},
}


# -- the reference, as the public ports write it ----------------------------------------
def _down(i, o, bn=True):
    layers = [nn.Conv2d(i, o, 4, 2, 1, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(o))
    return layers + [nn.LeakyReLU(0.2, True)]


def _up(i, o):
    return [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]


def reference_models(model: str = "paper", nbottleneck: int = 4000):
    if model == "paper":
        g = nn.Sequential(
            *_down(3, 64, False), *_down(64, 64), *_down(64, 128), *_down(128, 256),
            *_down(256, 512),
            nn.Conv2d(512, nbottleneck, 4, bias=False), nn.BatchNorm2d(nbottleneck),
            nn.LeakyReLU(0.2, True),
            nn.ConvTranspose2d(nbottleneck, 512, 4, bias=False), nn.BatchNorm2d(512),
            nn.ReLU(True),
            *_up(512, 256), *_up(256, 128), *_up(128, 64),
            nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh(),
        )
        d = nn.Sequential(*_down(3, 64, False), *_down(64, 128), *_down(128, 256),
                          *_down(256, 512), nn.Conv2d(512, 1, 4, bias=False), nn.Flatten())
    else:  # shipped: full image in (mask as a 4th channel) and out, channel-wise FC
        g = nn.Sequential(
            *_down(4, 64, False), *_down(64, 64), *_down(64, 128), *_down(128, 256),
            *_down(256, 512),
            nn.Conv2d(512, 512 * 16, 4, groups=512, bias=False),  # each 4x4 map to itself
            nn.Flatten(), nn.Unflatten(1, (512, 4, 4)), nn.BatchNorm2d(512),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(512, 512, 1, bias=False), nn.BatchNorm2d(512), nn.ReLU(True),
            *_up(512, 256), *_up(256, 128), *_up(128, 64), *_up(64, 64),
            nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), nn.Tanh(),
        )
        d = nn.Sequential(*_down(3, 64, False), *_down(64, 128), *_down(128, 256),
                          *_down(256, 512), *_down(512, 512), nn.Conv2d(512, 1, 4, bias=False),
                          nn.Flatten())
    for m in [*g.modules(), *d.modules()]:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)
    return g, d


def _reference_masks(batch: int, device: str) -> torch.Tensor:
    """(B, 1, 128, 128) mixed training masks, 1 = hole, drawn once (the reference's data
    sits in memory)."""
    from context_encoder.masks import get_mask_generator

    gen = get_mask_generator("mixed")
    rng = np.random.default_rng(0)
    masks = np.stack([gen((128, 128), rng) for _ in range(batch)])[:, None]
    return torch.from_numpy(masks).float().to(device)


def reference_train(model: str, steps: int, warmup: int, batch: int, device: str) -> dict:
    g, d = reference_models(model)
    g, d = g.to(device), d.to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 3, 128, 128, device=device) * 2 - 1
    mean = MEAN.to(device)
    ones = torch.ones(batch, 1, device=device)
    zeros = torch.zeros(batch, 1, device=device)
    if model == "paper":  # the center: L2 with the 4-px overlap ring weighted 10x
        w = torch.full((1, 1, 64, 64), 10.0, device=device)
        w[..., 4:60, 4:60] = 1

        def predict():
            x = real.clone()
            x[..., 36:92, 36:92] = mean
            fake = g(x)
            return fake, fake, real[..., 32:96, 32:96], w
    else:  # the whole image: hole weighted 1, context 0.1; D judges the composite
        m = _reference_masks(batch, device)

        def predict():
            fake = g(torch.cat([real * (1 - m) + mean * m, m], 1))
            return fake, m * fake + (1 - m) * real, real, 0.1 + 0.9 * m

    def step():
        fake, judged, target, weights = predict()
        opt_d.zero_grad()
        loss_d = (F.binary_cross_entropy_with_logits(d(target), ones)
                  + F.binary_cross_entropy_with_logits(d(judged.detach()), zeros))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = 0.001 * F.binary_cross_entropy_with_logits(d(judged), ones) + 0.999 * (
            weights * (fake - target) ** 2).mean()
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


def project_train(model: str, steps: int, warmup: int, batch: int, device: str,
                  compile_mode: str = "none", workers: int | None = None) -> dict:
    """``Trainer.fit``'s loop without its logging, validation and checkpoints: the loader,
    the copies to the device, the step, the loss watch; the watch's read-back (what the
    loop does every ``--check-every`` steps) ends the timed steps."""
    from context_encoder.training import TrainConfig, Trainer
    from context_encoder.training.sampler import device_batches

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(**TRAIN_CONFIGS[model], batch_size=batch, steps=warmup + steps,
                          out=tmp, device=device, progress=False, compile=compile_mode,
                          workers=workers)
        tr = Trainer(cfg)
        loader = tr._loader()
        batches = device_batches(loader, tr.device)

        def run(first: int, n: int) -> None:
            for step in range(first, first + n):
                real, *rest = next(batches)
                tr.watch.update(step, tr.train_step(real, *rest))
            tr.watch.check(first + n - 1)

        run(1, warmup)
        _sync(device)
        t0 = time.perf_counter()
        run(warmup + 1, steps)
        _sync(device)
        return {"img_s": steps * batch / (time.perf_counter() - t0),
                "precision": str(tr.amp_dtype or "fp32"), "channels_last": tr.channels_last,
                "compile": compile_mode, "workers": loader.num_workers}


def project_loader(model: str, steps: int, warmup: int, batch: int, device: str,
                   workers: int | None = None) -> dict:
    """The project's data pipeline alone (rendering, masks, the copies to the device): the
    most images per second it can feed the training step."""
    from context_encoder.training import TrainConfig, Trainer
    from context_encoder.training.sampler import device_batches

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(**TRAIN_CONFIGS[model], batch_size=batch, steps=warmup + steps,
                          out=tmp, device=device, progress=False, workers=workers)
        tr = Trainer(cfg)
        loader = tr._loader()
        batches = device_batches(loader, tr.device)
        for _ in range(warmup):
            next(batches)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            next(batches)
        _sync(device)
        return {"img_s": steps * batch / (time.perf_counter() - t0),
                "workers": loader.num_workers}


def _images(n: int):
    from context_encoder.data import render_facade

    imgs = [render_facade("val", i, 128) for i in range(n)]
    m = np.zeros((128, 128), bool)
    m[32:96, 32:96] = True
    return imgs, m


def reference_infer(model: str, batch: int, iters: int, device: str) -> dict:
    g, _ = reference_models(model)
    g = g.to(device).eval()
    imgs, m = _images(batch)
    mean = MEAN.to(device)
    hole = torch.from_numpy(m).float().to(device)[None, None]  # (1, 1, 128, 128)

    def run():
        with torch.no_grad():
            x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().to(device)
            x = x / 127.5 - 1
            if model == "paper":
                x[..., 36:92, 36:92] = mean
                out = x.clone()
                out[..., 32:96, 32:96] = g(x)
            else:
                masked = x * (1 - hole) + mean * hole
                out = g(torch.cat([masked, hole.expand(len(imgs), -1, -1, -1)], 1))
            out = ((out + 1) * 127.5).clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()
        return [np.where(m[..., None], o, i) for o, i in zip(out, imgs, strict=True)]

    return _time_infer(run, batch, iters, device)


def project_infer(model: str, batch: int, iters: int, device: str) -> dict:
    from context_encoder.inference import Inpainter
    from context_encoder.models import Generator
    from context_encoder.training import TrainConfig

    config = TrainConfig(**TRAIN_CONFIGS[model]).model_config()
    g = Generator(config).to(device)  # untrained weights: the speed is the same
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


#: Row name -> (reference part, project part); a part is ``who:task:model``. The
#: ``loader`` rows time the project's data pipeline alone (no reference).
PAIRS: dict[str, tuple[str | None, str]] = {
    f"{task}{'' if model == 'paper' else '_' + model}": (
        None if task == "loader" else f"ref:{task}:{model}", f"proj:{task}:{model}")
    for model in TRAIN_CONFIGS for task in ("train", "loader", "infer_b1", "infer_b64")
}


def run_part(part: str, args) -> dict:
    who, task, model = part.split(":")
    dev = args.device
    if task == "train":
        r = (reference_train(model, args.steps, args.warmup, args.batch_size, dev)
             if who == "ref" else
             project_train(model, args.steps, args.warmup, args.batch_size, dev,
                           args.compile, args.workers))
    elif task == "loader":
        r = project_loader(model, args.steps, args.warmup, args.batch_size, dev, args.workers)
    else:
        b = int(task.split("_b")[1])
        iters = args.infer_iters if b == 1 else max(2, args.infer_iters // 16)
        fn = reference_infer if who == "ref" else project_infer
        r = fn(model, b, iters, dev)
    r["peak_mb"] = _peak_mb(dev)
    return r


def _parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=6, help="timed training steps per round")
    p.add_argument("--warmup", type=int, default=2,
                   help="training steps before the timed ones (more with --compile)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--infer-iters", type=int, default=32)
    p.add_argument("--only", default=",".join(PAIRS),
                   help=f"comma-separated rows to run, of {', '.join(PAIRS)}")
    p.add_argument("--compile", default="none",
                   help="the project's training --compile mode (none, default, "
                        "reduce-overhead, max-autotune)")
    p.add_argument("--workers", type=int, help="the project's data-loading processes "
                                               "(default: the trainer's)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", help="also write the JSON here")
    p.add_argument("--part", help=argparse.SUPPRESS)
    args = p.parse_args()
    unknown = sorted(set(args.only.split(",")) - set(PAIRS))
    if unknown:
        p.error(f"unknown --only rows {', '.join(unknown)}; choose from {', '.join(PAIRS)}")
    return args


def _run_rounds(args, rows: list[str]) -> dict[str, dict[str, list]]:
    """Each part of ``rows`` once per round, in its own process; reference first in even
    rounds, project first in odd ones."""
    passed = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--batch-size",
              str(args.batch_size), "--infer-iters", str(args.infer_iters), "--compile",
              args.compile, "--device", args.device]
    if args.workers is not None:
        passed += ["--workers", str(args.workers)]
    results: dict[str, dict[str, list]] = {}
    for rnd in range(args.rounds):
        for row in rows:
            ref, proj = PAIRS[row]
            for part in filter(None, (ref, proj) if rnd % 2 == 0 else (proj, ref)):
                out = subprocess.run([sys.executable, __file__, "--part", part, *passed],
                                     capture_output=True, text=True, check=True,
                                     env={**os.environ, "PYTHONWARNINGS": "ignore"})
                r = json.loads(out.stdout.strip().splitlines()[-1])
                runs = results.setdefault(part, {})
                for k, v in r.items():
                    runs.setdefault(k, []).append(v)
                print(f"round {rnd + 1} {part}: {r['img_s']:.1f} img/s, "
                      f"peak {r['peak_mb']:.0f} MB", file=sys.stderr)
    return results


def _row(row: str, results: dict[str, dict[str, list]]) -> dict:
    """A row's medians, peaks and runs: reference and project side by side."""
    out: dict = {}
    for who, part in zip(("reference", "project"), PAIRS[row], strict=True):
        if part is None:
            continue
        runs = results[part]
        out[f"{who}_img_s"] = round(statistics.median(runs["img_s"]), 2)
        out[f"{who}_peak_mb"] = round(max(runs["peak_mb"]))
        out[f"{who}_runs"] = [round(x, 2) for x in runs["img_s"]]
    if "reference_img_s" in out:
        out["ratio"] = round(out["project_img_s"] / out["reference_img_s"], 2)
    for key in ("precision", "channels_last", "workers"):
        if key in results[PAIRS[row][1]]:
            out[f"project_{key}"] = results[PAIRS[row][1]][key][0]
    return out


def main() -> None:
    args = _parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args)))
        return
    rows = [row for row in PAIRS if row in args.only.split(",")]
    results = _run_rounds(args, rows)
    cuda = args.device.startswith("cuda")
    summary: dict = {
        "device": torch.cuda.get_device_name() if cuda else f"CPU, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "peak_mb": "torch.cuda.max_memory_allocated" if cuda else "process peak RSS",
        "settings": {k: getattr(args, k) for k in ("rounds", "steps", "warmup", "batch_size",
                                                   "infer_iters", "compile", "workers")},
    }
    print(f"\n{'':18} {'reference':>12} {'project':>12} {'ratio':>7} {'peak MB ref/proj':>18}")
    for row in rows:
        summary[row] = _row(row, results)
        out = summary[row]
        if "ratio" in out:
            print(f"{row:18} {out['reference_img_s']:12.1f} {out['project_img_s']:12.1f} "
                  f"{out['ratio']:6.2f}x {out['reference_peak_mb']:>8}/{out['project_peak_mb']}")
        else:
            print(f"{row:18} {'':12} {out['project_img_s']:12.1f}")
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
