"""``auto``'s rules on sets they were not chosen on: mean PSNR over the hole, detail (the
fill's gradient energy over the truth's) and SWD (distance in distribution of the fills'
patches) for the default (the blend with detail added), ``auto-closest`` (the blend alone),
the default before detail (the blend alone, PatchMatch left out of images over 150,000
pixels), each classical method and the shipped model, per set, size and hole kind.

Sets (the "report" halves; the rules were chosen on the "tune" halves with
``bench/auto_rule.py``): the Debian photographs and textures built by ``context-encoder data
debian --out runs/debsets`` (``--debsets``), scikit-image's photos and validation facades.

    python bench/auto_report.py --json docs/auto-report-cpu.json     # appends, resumes
    python bench/auto_report.py --json docs/auto-report-cpu.json --table   # the docs' table

Each finished setting is written at once, so a stopped run resumes where it was.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from context_encoder.baselines import get_baseline
from context_encoder.data import find_images
from context_encoder.evaluation import default_model_for, load_eval_images, make_eval_masks
from context_encoder.inference import AUTO_CLOSEST, AUTO_METHODS, AutoInpainter
from context_encoder.metrics import hole_metrics, sliced_wasserstein
from context_encoder.runtime import describe_machine

CLASSICAL = ("telea", "ns", "biharmonic", "patchmatch")
RULES = {"auto": AUTO_METHODS["auto"], AUTO_CLOSEST: AUTO_METHODS[AUTO_CLOSEST],
         "auto (before)": AUTO_METHODS[AUTO_CLOSEST]}
#: The default before detail left PatchMatch out of images of more pixels than this.
BEFORE_PATCHMATCH_MAX_PIXELS = 150_000


def settings(debsets: Path, count: int) -> list[tuple[str, str, int, str, int]]:
    """(name, data, size, mask, count) of every setting."""
    out = []
    for mask in ("thick", "center"):
        out += [(f"photos-report-{s}", str(debsets / f"photos-report-{s}"), s, mask, count)
                for s in (128, 256, 512)]
        out += [(f"textures-report-{s}", str(debsets / f"textures-report-{s}"), s, mask, count)
                for s in (128, 256)]
        out += [(f"skimage-photos-{s}", "photos", s, mask, count) for s in (128, 256)]
        out.append(("facades-128", "facades", 128, mask, count))
    return out


def spread(items: list, count: int) -> list:
    """``count`` of ``items`` evenly spaced in their order (all of them when fewer): a cap
    that keeps every photograph of a folder in name order, not only the first ones."""
    if len(items) <= count:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def run_setting(data: str, size: int, mask: str, count: int, only: Sequence[str] = ()) -> dict:
    """Every rule, classical method and the model on one setting; ``only``: just these
    rules (nothing else is run)."""
    images = (spread(load_eval_images(data, len(find_images(data)), size), count)
              if Path(data).is_dir() else load_eval_images(data, count, size))
    masks = [m != 0 for m in make_eval_masks(mask, len(images), size, seed=0)]
    model = default_model_for(mask)
    fills: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    from context_encoder.inference import Inpainter

    loaded = Inpainter.from_pretrained(model, device="cpu")
    for name, probes in RULES.items():
        if only and name not in only:
            continue
        methods = None
        if name == "auto (before)" and size * size > BEFORE_PATCHMATCH_MAX_PIXELS:
            methods = [c for c in CLASSICAL if c != "patchmatch"]
        inp = AutoInpainter([loaded], methods=methods, probes=probes)
        t0 = time.perf_counter()
        fills[name] = [inp(im, m) for im, m in zip(images, masks, strict=True)]
        seconds[name] = time.perf_counter() - t0
    for name in () if only else CLASSICAL:
        fn = get_baseline(name)
        t0 = time.perf_counter()
        fills[name] = [fn(im, m) for im, m in zip(images, masks, strict=True)]
        seconds[name] = time.perf_counter() - t0
    if not only:
        t0 = time.perf_counter()
        fills[model] = loaded(images, masks)
        seconds[model] = time.perf_counter() - t0
    out = {}
    for name, outs in fills.items():
        per = [hole_metrics(o, t, m) for o, t, m in zip(outs, images, masks, strict=True)]
        out[name] = {"psnr": round(float(np.mean([p["psnr"] for p in per])), 3),
                     "detail": round(float(np.mean([p["detail"] for p in per])), 3),
                     "swd": round(sliced_wasserstein(outs, images, masks)["swd"], 1),
                     "seconds_per_image": round(seconds[name] / len(images), 4)}
    return {"images": len(images), "model": model, "methods": out}


def table(results: dict) -> str:
    """The markdown table of docs/auto.md: per setting, PSNR / detail / SWD of each rule,
    PSNR / detail of the best classical method, the gap of ``auto`` to it, and the model."""
    rules = list(RULES)
    order = [f"{name} {mask}" for name, _, _, mask, _ in settings(Path("."), 0)]
    results = {k: results[k] for k in sorted(results, key=order.index)}
    lines = ["| setting | images | " + " | ".join(rules) + " | best classical "
             "| auto - best classical | model |", "|---" * (len(rules) + 5) + "|"]
    for key, r in results.items():
        m = r["methods"]
        best = max(CLASSICAL, key=lambda k: m[k]["psnr"])
        cell = {k: f"{m[k]['psnr']:.2f} / {m[k]['detail']:.2f}" for k in m}
        lines.append(f"| {key} | {r['images']} | " + " | ".join(
            f"{cell[k]} / {m[k]['swd']:.0f}" for k in rules)
                     + f" | {best} {cell[best]} | {m['auto']['psnr'] - m[best]['psnr']:+.2f} | "
                     f"{cell[r['model']]} |")
    photo = [r["methods"] for k, r in results.items() if not k.startswith("facades")]
    if photo:
        def mean(name: str, key: str) -> float:
            return float(np.mean([m[name][key] for m in photo]))

        best = [max(CLASSICAL, key=lambda k, m=m: m[k]["psnr"]) for m in photo]
        best_psnr = float(np.mean([m[b]["psnr"] for m, b in zip(photo, best, strict=True)]))
        lines.append("| all photo and texture settings (mean) | | " + " | ".join(
            f"{mean(k, 'psnr'):.2f} / {mean(k, 'detail'):.2f} / {mean(k, 'swd'):.0f}"
            for k in rules)
            + f" | best of each {best_psnr:.2f} | {mean('auto', 'psnr') - best_psnr:+.2f} | |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--debsets", type=Path, default=Path("runs/debsets"))
    p.add_argument("--count", type=int, default=96,
                   help="images per setting: every crop a set has, up to this, evenly spaced "
                        "in name order (default 96)")
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--table", action="store_true", help="print the table of --json and stop")
    p.add_argument("--redo-auto", type=Path, metavar="EARLIER_JSON",
                   help="take every figure of an earlier run on the same sets but run `auto` "
                        "again (after a change of its detail settings only: the others do not "
                        "move)")
    a = p.parse_args()
    if a.table:
        print(table(json.loads(a.json.read_text())["results"]))
        return
    done = json.loads(a.json.read_text()) if a.json.exists() else {
        "command": "python bench/auto_report.py", "machine": describe_machine(),
        "results": {}}
    for name, data, size, mask, count in settings(a.debsets, a.count):
        key = f"{name} {mask}"
        if key in done["results"]:
            continue
        t0 = time.perf_counter()
        if a.redo_auto:
            earlier = json.loads(a.redo_auto.read_text())["results"][key]
            again = run_setting(data, size, mask, count, only=["auto"])
            assert again["images"] == earlier["images"], "not the same sets"
            done["results"][key] = {**earlier, "methods": {**earlier["methods"],
                                                           **again["methods"]}}
        else:
            done["results"][key] = run_setting(data, size, mask, count)
        a.json.write_text(json.dumps(done, indent=1) + "\n")
        m = done["results"][key]["methods"]
        best = max(CLASSICAL, key=lambda k: m[k]["psnr"])
        print(f"{key:<28} " + " ".join(f"{k} {m[k]['psnr']:.2f}/{m[k]['detail']:.2f}"
                                       for k in RULES)
              + f" best classical {best} {m[best]['psnr']:.2f}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
