"""Real photos: PSNR over the hole for the shipped models, the classical methods, ``auto``
(per hole, a mix of methods weighted by probes cut into the photo) and test-time adaptation.

    python bench/photos_quality.py                      # report split, 256 px, ~5 min
    python bench/photos_quality.py --split tune         # the split defaults were chosen on
    python bench/photos_quality.py --timing-only        # 1-megapixel timings alone
    python bench/photos_quality.py --timing-only --device cuda   # the same on a GPU

The photos are crops of scikit-image's bundled photographs (context_encoder.data.photos).
Holes: LaMa "thick" masks (one per crop, seeded by its index) and the center square (a
quarter of the area). ``auto`` probes the classical methods and the model suited to the
hole kind (facades-freeform-128 for thick, facades-center-128 for center); ``adapt`` is that
model after ``adapt_generator`` with its default settings. Rows: mean PSNR (dB) over all
crops and over the texture photos (brick, grass, gravel), seconds per image, and how often
``auto`` chose each method. Then the cost on a 1-megapixel photo with one thick hole.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from collections.abc import Callable

import numpy as np
import torch

from context_encoder.baselines import available_baselines, get_baseline
from context_encoder.checkpoint import load_generator
from context_encoder.data.photos import load_photo, photo_crops
from context_encoder.inference import Inpainter
from context_encoder.inference.adapt import DEFAULT_STEPS, adapt_generator
from context_encoder.masks import center_mask, get_mask_generator
from context_encoder.metrics import hole_metrics
from context_encoder.pixels import to_uint8
from context_encoder.runtime import resolve_device

MODELS = ("facades-freeform-128", "facades-center-128")
MODEL_FOR = {"thick": "facades-freeform-128", "center": "facades-center-128"}
KINDS = ("thick", "center")

Fill = Callable[[np.ndarray, np.ndarray, int], np.ndarray]  # (rgb01, mask, index) -> rgb01


class Models:
    """The shipped generators, their inpainters and ``auto`` candidates, loaded once."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.gen, self.inp = device, {}, {}
        for name in MODELS:
            gen, info = load_generator(name, device=device)
            self.gen[name] = (gen, info["config"])
            self.inp[name] = Inpainter(gen, info["config"], device=device, name=name)
    def auto(self, kind: str, chosen: list[str]) -> Fill:
        """auto as ``inpaint`` runs it, over the shipped model for the hole kind; ``chosen``
        collects what filled each crop (one line per crop, as ``inpaint`` prints it)."""
        from context_encoder.inference import AutoInpainter

        auto = AutoInpainter([self.inp[MODEL_FOR[kind]]], seed=11)

        def fill(rgb01: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
            filled = auto.fill(rgb01, mask)
            chosen.append(filled.method)
            return filled.image

        return fill

    def adapt(self, kind: str, steps: int) -> Fill:
        gen, config = self.gen[MODEL_FOR[kind]]

        def fill(rgb01: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
            tuned = adapt_generator(gen, config, rgb01, mask, steps=steps, seed=i)
            return Inpainter(tuned, config, device=self.device).inpaint_array(rgb01, mask)

        return fill


def _baseline(name: str) -> Fill:
    method = get_baseline(name)

    def fill(rgb01: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
        return method(to_uint8(rgb01), mask)

    return fill


def _model(inp: Inpainter) -> Fill:
    return lambda rgb01, mask, i: inp.inpaint_array(rgb01, mask)


def masks_for(kind: str, size: int, count: int, seed: int) -> list[np.ndarray]:
    if kind == "center":
        return [center_mask((size, size), overlap=0)] * count
    gen = get_mask_generator("thick")
    return [gen((size, size), np.random.default_rng([seed, 1009, i])) for i in range(count)]


def run_kind(kind: str, crops: list, models: Models, args: argparse.Namespace) -> dict:
    """{method: {"psnr": [...], "seconds": [...]}} over the crops, plus auto's choices."""
    images = [c.image.astype(np.float32) / 255.0 for c in crops]
    masks = masks_for(kind, args.size, len(crops), args.seed)
    chosen: list[str] = []
    methods: dict[str, Fill] = {name: _model(models.inp[name]) for name in MODELS}
    methods.update({name: _baseline(name) for name in available_baselines()})
    methods["auto"] = models.auto(kind, chosen)
    if args.adapt_steps > 0:
        methods[f"adapt ({args.adapt_steps} steps)"] = models.adapt(kind, args.adapt_steps)
    res: dict = {}
    for name, fill in methods.items():
        psnr, secs = [], []
        for i, (img, m) in enumerate(zip(images, masks, strict=True)):
            t0 = time.perf_counter()
            out = fill(img, m, i)
            secs.append(time.perf_counter() - t0)
            psnr.append(hole_metrics(out, img, m)["psnr"])
        res[name] = {"psnr": psnr, "seconds": secs}
        print(f"  {kind} {name}: {np.mean(psnr):.2f} dB, {np.mean(secs):.2f} s/image", flush=True)
    res["_chosen"] = dict(collections.Counter(chosen))
    return res


def print_table(results: dict, crops: list) -> None:
    tex = np.array([c.texture for c in crops])
    names = [k for k in results[KINDS[0]] if not k.startswith("_")]
    head = "| method | " + " | ".join(f"{k} all | {k} textures | {k} s/img" for k in KINDS) + " |"
    print("\n" + head + "\n|" + "---|" * (1 + 3 * len(KINDS)))
    for name in names:
        cells = []
        for kind in KINDS:
            r = results[kind][name]
            p = np.asarray(r["psnr"])
            cells += [f"{p.mean():.2f}", f"{p[tex].mean():.2f}" if tex.any() else "-",
                      f"{np.mean(r['seconds']):.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for kind in KINDS:
        print(f"auto chose ({kind}): {results[kind]['_chosen']}")
    print(f"{len(crops)} crops, {int(tex.sum())} of them textures: "
          f"{sorted({c.photo for c in crops})}")


def _largest_thick_hole(seed: int) -> np.ndarray:
    import cv2

    m = get_mask_generator("thick")((1024, 1024), np.random.default_rng(seed)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def megapixel_timing(models: Models, steps: int, seeds: int = 6) -> dict:
    """auto (as ``inpaint`` runs it: the free-form model and the classical methods that
    suit the size) on astronaut enlarged to 1024x1024 with one thick hole (the largest
    component of the thick masks of seeds 0..seeds-1, each timed), after a warm-up call;
    then adaptation with the hole of seed 3."""
    import cv2

    from context_encoder.inference import AdaptedInpainter, AutoInpainter

    img = cv2.resize(load_photo("astronaut"), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    inp = models.inp[MODEL_FOR["thick"]]
    auto = AutoInpainter([inp])
    warm = np.zeros((256, 256), bool)
    warm[100:120, 100:120] = True
    auto(img[:256, :256], warm)
    out: dict = {"device": str(models.device), "threads": torch.get_num_threads(), "auto": []}
    for seed in range(seeds):
        hole = _largest_thick_hole(seed)
        t0 = time.perf_counter()
        method = auto.fill(img, hole).method
        out["auto"].append({"hole_share": round(float(hole.mean()), 3),
                            "seconds": round(time.perf_counter() - t0, 2),
                            "choice": method})
    hole = _largest_thick_hole(3)
    t0 = time.perf_counter()
    AdaptedInpainter(inp, steps)(img, hole)
    out["adapt_total_s"] = time.perf_counter() - t0
    gen, config = models.gen[MODEL_FOR["thick"]]
    t0 = time.perf_counter()
    adapt_generator(gen, config, img.astype(np.float32) / 255.0, hole, steps=steps)
    if models.device.type == "cuda":
        torch.cuda.synchronize(models.device)
    out["adapt_train_s"] = time.perf_counter() - t0
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="report", choices=["report", "tune"])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--per-photo", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adapt-steps", type=int, default=DEFAULT_STEPS,
                   help=f"0 skips adaptation (default {DEFAULT_STEPS}, the library default)")
    p.add_argument("--timing-only", action="store_true")
    p.add_argument("--no-timing", action="store_true")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda[:N], mps or auto")
    p.add_argument("--json", help="write the per-image results here")
    args = p.parse_args()
    torch.manual_seed(0)
    models = Models(resolve_device(args.device))
    results: dict = {}
    crops = photo_crops(args.split, size=args.size, per_photo=args.per_photo, seed=args.seed)
    t0 = time.perf_counter()
    if not args.timing_only:
        for kind in KINDS:
            results[kind] = run_kind(kind, crops, models, args)
        print_table(results, crops)
        print(f"table: {time.perf_counter() - t0:.0f} s")
    if not args.no_timing:
        results["megapixel"] = megapixel_timing(models, max(args.adapt_steps, DEFAULT_STEPS))
        print("1-megapixel photo, one thick hole:", json.dumps(results["megapixel"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
