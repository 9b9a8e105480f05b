"""How well do ``auto``'s probes predict the real hole? Data for its decision rule.

    python bench/auto_rule.py collect --data facades-tune --mask center --out runs/rule/a.jsonl
    python bench/auto_rule.py fit runs/rule/*.jsonl

``collect`` groups each image's holes as ``auto`` does, probes every candidate on each
group (:func:`context_encoder.selection.choose_filler`), fills the real holes with every
candidate too, and writes one JSON line per image: per group the probe scores (pooled and
per probe), the probe size, and each candidate's squared error over the group's real
pixels. ``fit`` replays decision rules on those lines and prints, per file, the mean PSNR
over the hole each rule would score, beside each single candidate's; with ``--tune`` files
it picks the rule's parameters on those and reports them on the others.

Sets: ``facades-tune`` (validation facades 1000 onwards; ``evaluate`` reports 0-499),
``facades``, ``photos-tune``, ``photos``, ``textures`` (the ``evaluate`` sets). Tune-set
masks are drawn with seed 1, report-set masks with seed 0 as ``evaluate`` draws them.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from context_encoder.config import ModelConfig
from context_encoder.evaluation import load_eval_images, make_eval_masks
from context_encoder.inference import Inpainter
from context_encoder.inference.windows import WindowGeometry, group_holes
from context_encoder.selection import ProbeSettings, choose_filler, classical_candidates, inpainter_filler

MODELS = {"freeform": "facades-freeform-128", "center": "facades-center-128"}


def _images(data: str, count: int, size: int) -> tuple[list[np.ndarray], int]:
    if data == "facades-tune":
        from context_encoder.data import render_facade

        return [render_facade("val", 1000 + i, size) for i in range(count)], 1
    return load_eval_images(data, count, size), 1 if data.endswith("-tune") else 0


def _candidates(hole_pixels: int, pixels: int) -> dict[str, Callable]:
    cands = classical_candidates(hole_pixels=hole_pixels, image_pixels=pixels)
    for key, name in MODELS.items():
        cands[key] = inpainter_filler(Inpainter.from_pretrained(name, device="cpu"))
    return cands


def collect(args: argparse.Namespace) -> None:
    images, mask_seed = _images(args.data, args.count, args.size)
    masks = make_eval_masks(args.mask, len(images), args.size, seed=mask_seed)
    geometry = WindowGeometry(ModelConfig())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cands = None
    with out.open("w") as f:
        for i, (img, mask) in enumerate(zip(images, masks, strict=True)):
            t0 = time.perf_counter()
            mask = mask != 0
            rgb = img.astype(np.float32) / 255.0
            if cands is None:
                cands = _candidates(int(mask.sum()), mask.size)
            filled = {k: np.rint(np.asarray(fn(rgb, mask)) * 255.0) / 255.0
                      for k, fn in cands.items()}
            labels, groups = group_holes(mask, geometry)
            rng = np.random.default_rng(args.seed)
            rows = []
            for g in groups:
                y0, x0, y1, x1 = g.box
                sel = np.zeros_like(mask)
                sel[y0:y1, x0:x1] = np.isin(labels[y0:y1, x0:x1], g.labels)
                c = choose_filler(rgb, sel, cands, rng, unknown=mask, default="telea",
                                  probes=ProbeSettings(count=args.probes, tile=args.tile))
                err = np.stack([(v[sel] - rgb[sel]).ravel() for v in filled.values()])
                gram = err @ err.T
                sse = {k: float(gram[j, j]) for j, k in enumerate(filled)}
                rows.append({"pixels": int(sel.sum()), "probes": c.probes, "size": c.size,
                             "scale": c.scale, "scores": c.scores, "per_probe": c.per_probe,
                             "sse": sse, "names": list(filled), "gram": gram.tolist(),
                             "probe_gram": c.gram})
            f.write(json.dumps({"data": args.data, "mask": args.mask, "size": args.size,
                                "index": i, "groups": rows}) + "\n")
            f.flush()
            print(f"{i}: {len(rows)} groups, {time.perf_counter() - t0:.1f} s", flush=True)


# -- replaying rules -----------------------------------------------------------------------
Rule = Callable[[dict, Sequence[str]], str]  # (group row, allowed candidates) -> candidate


def _psnr(sse: float, pixels: int) -> float:
    mse = sse / (3 * pixels)
    return 100.0 if mse <= 0 else -10.0 * math.log10(mse)


def score_rule(lines: list[dict], rule: Rule, allowed: Sequence[str]) -> float:
    """Mean over images of the hole PSNR the rule's picks give."""
    total = []
    for line in lines:
        sse = sum(g["sse"][rule(g, allowed)] for g in line["groups"])
        total.append(_psnr(sse, sum(g["pixels"] for g in line["groups"])))
    return float(np.mean(total))


def single(name: str) -> Rule:
    return lambda g, allowed: name


def oracle(g: dict, allowed: Sequence[str]) -> str:
    return min(allowed, key=lambda k: g["sse"][k])


def margin_rule(default: str, switch_db: float, bonus: dict[str, float] | None = None) -> Rule:
    """The default unless another candidate's probe PSNR (plus its bonus) beats it by more
    than ``switch_db``."""
    bonus = bonus or {}

    def rule(g: dict, allowed: Sequence[str]) -> str:
        if not g["scores"]:
            return default
        s = {k: g["scores"][k] + bonus.get(k, 0.0) for k in allowed}
        best = max(s, key=lambda k: s[k])
        return best if s[best] > s[default] + switch_db else default

    return rule


def fit(args: argparse.Namespace) -> None:
    files = {p: [json.loads(x) for x in Path(p).read_text().splitlines()] for p in args.files}
    for path, lines in files.items():
        mask = lines[0]["mask"]
        model = "center" if mask == "center" else "freeform"
        allowed = [k for k in ("telea", "ns", "biharmonic", "patchmatch")
                   if k in lines[0]["groups"][0]["sse"]] + [model]
        rules: dict[str, Rule] = {k: single(k) for k in allowed}
        rules["oracle"] = oracle
        for sw in (0.0, 0.5, 1.0):
            rules[f"telea>{sw}"] = margin_rule("telea", sw)
        for b in args.bonus:
            rules[f"telea>1 model+{b}"] = margin_rule("telea", 1.0, {model: b})
            rules[f"telea>0 model+{b}"] = margin_rule("telea", 0.0, {model: b})
        print(f"\n{path} ({len(lines)} images, mask {mask})")
        for name, rule in rules.items():
            print(f"  {name:24s} {score_rule(lines, rule, allowed):6.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--data", required=True)
    c.add_argument("--mask", default="thick")
    c.add_argument("--size", type=int, default=128)
    c.add_argument("--count", type=int, default=40)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--tile", type=int, default=ProbeSettings().tile, help="least tile side")
    c.add_argument("--probes", type=int, default=ProbeSettings().count, help="probes per hole")
    c.add_argument("--out", required=True)
    f = sub.add_parser("fit")
    f.add_argument("files", nargs="+")
    f.add_argument("--bonus", type=float, nargs="*", default=[0.5, 1.0, 2.0, 3.0])
    args = p.parse_args()
    collect(args) if args.cmd == "collect" else fit(args)


if __name__ == "__main__":
    main()
