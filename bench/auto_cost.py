"""What ``auto``, the model alone and ``--adapt`` cost against the number of holes and the
photo's size: seconds of one call and the process's peak memory (each figure from a
process of its own, so peaks do not mix).

Two series, on scikit-image's astronaut resized (bicubic) to the photo size:

* holes: a 1-megapixel photo with 1, 10, 100, 1,000 and 10,000 one-pixel holes at random
  places (a scan's dust), and three other masks (one 64x64 hole, 1,000 8x8 squares,
  thick free-form strokes);
* size: one 64x64 hole in the middle of photos of 0.25 to 40 megapixels.

Methods: ``model`` (the shipped free-form model), ``auto`` (the default), ``model+adapt``
and ``auto+adapt`` (``--adapt 5`` on the holes series, the default 30 steps on the size
series).

    python bench/auto_cost.py                  # both series, prints the table
    python bench/auto_cost.py --json docs/auto-cost-cpu.json
    python bench/auto_cost.py --series holes --methods model auto
    python bench/auto_cost.py --one auto 1.0 dots:10000 0     # one figure, as JSON
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from context_encoder.runtime import describe_machine

METHODS = ("model", "auto", "model+adapt", "auto+adapt")
HOLES = ("dots:1", "dots:10", "dots:100", "dots:1000", "dots:10000", "square:64",
         "squares:1000", "strokes")
SIZES = (0.25, 1.0, 4.0, 10.0, 40.0)
_MODEL = "facades-freeform-128"


def photo(megapixels: float) -> np.ndarray:
    import cv2
    from skimage import data

    side = round((megapixels * 1e6) ** 0.5)
    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)


def make_mask(kind: str, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``dots:N`` N one-pixel holes, ``square:S`` one SxS hole in the middle,
    ``squares:N`` N 8x8 squares, ``strokes``: the training's thick free-form strokes."""
    rng = np.random.default_rng(seed)
    h, w = shape
    mask = np.zeros(shape, bool)
    name, _, arg = kind.partition(":")
    if name == "dots":
        mask.flat[rng.choice(h * w, int(arg), replace=False)] = True
    elif name == "square":
        s = int(arg)
        mask[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2] = True
    elif name == "squares":
        for y, x in zip(rng.integers(0, h - 8, int(arg)), rng.integers(0, w - 8, int(arg)),
                        strict=True):
            mask[y : y + 8, x : x + 8] = True
    elif name == "strokes":
        from context_encoder.masks import get_mask_generator

        mask = get_mask_generator("thick")((h, w), rng)
    else:
        raise ValueError(f"unknown mask {kind!r}")
    return mask


def one(method: str, megapixels: float, holes: str, steps: int) -> dict:
    from context_encoder.inference import load_inpainter

    img = photo(megapixels)
    mask = make_mask(holes, img.shape[:2])
    name = "auto" if method.startswith("auto") else _MODEL
    inp = load_inpainter(name, adapt_steps=steps if method.endswith("adapt") else 0)
    t0 = time.perf_counter()
    filled = inp.fill(img, mask)
    seconds = time.perf_counter() - t0
    return {"method": method, "megapixels": megapixels, "holes": holes,
            "adapt": steps if method.endswith("adapt") else 0, "seconds": round(seconds, 2),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "filled_with": filled.method[:120]}


def measure(method: str, megapixels: float, holes: str, steps: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--one", method, str(megapixels), holes, str(steps)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"method": method, "megapixels": megapixels, "holes": holes, "adapt": steps,
                "seconds": None, "peak_mb": None, "note": f"over {timeout:.0f} s"}
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{e.stderr[-2000:]}") from e
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", nargs="+", default=["holes", "size"], choices=["holes", "size"])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per figure")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--one", nargs=4, metavar=("METHOD", "MP", "HOLES", "STEPS"),
                   help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(one(a.one[0], float(a.one[1]), a.one[2], int(a.one[3]))))
        return
    plan = []
    if "holes" in a.series:
        plan += [(m, 1.0, h, 5) for h in HOLES for m in a.methods]
    if "size" in a.series:
        plan += [(m, mp, "square:64", 30) for mp in SIZES for m in a.methods]
    rows = []
    print(f"{'method':<12} {'MP':>6} {'holes':<13} {'adapt':>5} {'s':>7} {'peak MB':>8}  filled with")
    for method, mp, holes, steps in plan:
        r = measure(method, mp, holes, steps, a.timeout)
        rows.append(r)
        sec = "-" if r["seconds"] is None else f"{r['seconds']:.2f}"
        peak = "-" if r["peak_mb"] is None else str(r["peak_mb"])
        print(f"{method:<12} {mp:>6g} {holes:<13} {r['adapt']:>5} {sec:>7} {peak:>8}  "
              f"{r.get('filled_with', r.get('note', ''))[:60]}", flush=True)
    if a.json:

        a.json.write_text(json.dumps({
            "command": "python bench/auto_cost.py " + " ".join(sys.argv[1:]),
            "machine": describe_machine(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
