"""Where an ``Inpainter`` call spends its time: each of its stages (``Inpainter.stage_hook``,
see ``context_encoder.inference.STAGES``): preparing the windows (hole grouping, window
placement, resampling, model inputs), the generator, pasting the predictions back,
feathering; the rest of a call is checks and conversions. ``--pipeline`` picks where the
pixel work runs (``host``: OpenCV and NumPy; ``device``: torch on the model's device;
``auto``: the host on the CPU, the device elsewhere); ``--compile-mode`` compiles the
generator (``reduce-overhead``: CUDA graphs). The host-side hole grouping (part of
``prepare`` in both pipelines) is also timed on its own, on one thread.

    python bench/infer_breakdown.py [--device cuda] [--pipeline auto] [--compile-mode MODE]
                                    [--iters 32]

Same model and images as ``bench/speed.py``'s inference figures: the paper's center model
(untrained weights), validation facades at 128 px, the central 64x64 hole.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from context_encoder import ModelConfig  # noqa: E402
from context_encoder.inference import STAGES, Inpainter  # noqa: E402
from context_encoder.inference.inpainter import COMPILE_MODES, PIPELINES  # noqa: E402
from context_encoder.inference.windows import group_holes  # noqa: E402
from context_encoder.models import Generator  # noqa: E402
from speed import _images, _sync  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--pipeline", default="auto", choices=PIPELINES)
    p.add_argument("--compile-mode", choices=COMPILE_MODES, help="torch.compile the generator")
    p.add_argument("--iters", type=int, default=32, help="timed calls at batch 1 (batch 64: /8)")
    args = p.parse_args()
    if args.iters < 1:
        p.error(f"--iters must be >= 1, got {args.iters}")
    g = Generator(ModelConfig()).to(args.device)
    inp = Inpainter(g.eval(), g.config, device=torch.device(args.device), pipeline=args.pipeline,
                    compile_mode=args.compile_mode)
    print(f"{args.device}, pipeline {inp.pipeline}, compile {args.compile_mode}")
    spent: dict[str, float] = defaultdict(float)

    def record(stage: str, seconds: float) -> None:
        spent[stage] += seconds

    for n in (1, 64):
        imgs, m = _images(n)
        masks = [m] * n
        inp.stage_hook = None
        for _ in range(3):
            inp(imgs, masks)
        iters = args.iters if n == 1 else max(2, args.iters // 8)
        spent.clear()
        inp.stage_hook = record
        _sync(args.device)
        t0 = time.perf_counter()
        for _ in range(iters):
            inp(imgs, masks)
        total = (time.perf_counter() - t0) / iters
        stages = {s: spent[s] / iters for s in STAGES}
        other = total - sum(stages.values())
        parts = ", ".join(f"{s} {t * 1e3:.2f}" for s, t in stages.items())
        print(f"batch {n:2d}: {total * 1e3:7.2f} ms per call ({n / total:6.0f} img/s); "
              f"{parts}, other {other * 1e3:.2f} ms; grouping {_grouping(inp, masks) * 1e3:.2f} "
              "ms of prepare")


def _grouping(inp: Inpainter, masks: list) -> float:
    """Seconds the host spends grouping the holes and placing the windows of one call."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for m in masks:
            for g in group_holes(m, inp.geometry)[1]:
                inp.geometry.place(g, *m.shape)
        best = min(best, time.perf_counter() - t0)
    return best


if __name__ == "__main__":
    main()
