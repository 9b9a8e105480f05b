"""How well do ``auto``'s probes predict the real hole? Data for its decision rule.

    python bench/auto_rule.py collect --data facades-tune --mask center --out runs/rule/a.jsonl
    python bench/auto_rule.py fit runs/rule/*.jsonl
    python bench/auto_rule.py spend runs/rule/*.jsonl

``collect`` groups each image's holes as ``auto`` does, probes every candidate on each
group (:func:`context_encoder.inference.auto.choose_filler`), fills the real holes with every
candidate too, and writes one JSON line per image: per group the probe scores (pooled and
per probe), the probe size, and each candidate's squared error over the group's real
pixels, and the error products of the candidates (over the probes and over the real hole),
from which any mix of them scores. ``fit`` replays rules on those lines: each single
candidate, the earlier winner rule (Telea unless another wins the probes by 1 dB), and the
blend of :func:`context_encoder.inference.auto.blend_weights` over a grid of its two settings,
ranked by the worst gap to the best single candidate of each file. ``spend`` replays the
blend with detail added (:func:`context_encoder.inference.auto.choose.spend_on_detail`) over
a grid of its settings, with each set's gap to its best classical method both as a mean and
at a low quantile of a bootstrap over the photographs the crops come from.

Sets: ``facades-tune`` (validation facades 1000 onwards; ``evaluate`` reports 0-499),
``facades``, ``photos-tune``, ``photos``, ``textures`` (the ``evaluate`` sets), or a folder
(``data debian``'s). Masks are drawn with seed 1 for ``facades-tune`` and ``photos-tune``,
with seed 0 (as ``evaluate`` draws them) for any other set, folders included
(``--mask-seed`` another, for images added to a set collected earlier: written to
``new-NAME.jsonl`` beside its ``NAME.jsonl``, ``spend`` pools the two).
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
from context_encoder.data import find_images
from context_encoder.evaluation import load_eval_images, make_eval_masks
from context_encoder.inference import Inpainter
from context_encoder.inference.auto import (
    ProbeSettings,
    blend_weights,
    choose_filler,
    classical_candidates,
    inpainter_filler,
)
from context_encoder.inference.auto.choose import (
    detail_key,
    detail_products,
    high_pass,
    spend_on_detail,
)
from context_encoder.inference.windows import WindowGeometry, group_holes
from context_encoder.metrics import GRADIENT_FLOOR

MODELS = {"freeform": "facades-freeform-128", "center": "facades-center-128"}


def _images(data: str, count: int, size: int) -> tuple[list[np.ndarray], int]:
    if data == "facades-tune":
        from context_encoder.data import render_facade

        return [render_facade("val", 1000 + i, size) for i in range(count)], 1
    return load_eval_images(data, count, size), 1 if data.endswith("-tune") else 0


def _candidates(hole_pixels: int, pixels: int) -> dict[str, Callable]:
    cands = classical_candidates(hole_pixels=hole_pixels)
    for key, name in MODELS.items():
        cands[key] = inpainter_filler(Inpainter.from_pretrained(name, device="cpu"))
    return cands


def collect(args: argparse.Namespace) -> None:
    images, mask_seed = _images(args.data, args.count, args.size)
    if args.mask_seed is not None:
        mask_seed = args.mask_seed
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
            details = {k: high_pass(v, ProbeSettings().detail_sigma).astype(np.float64)
                       for k, v in filled.items()}
            labels, groups = group_holes(mask, geometry)
            rng = np.random.default_rng(args.seed)
            rows = []
            for g in groups:
                y0, x0, y1, x1 = g.box
                sel = np.zeros_like(mask)
                sel[y0:y1, x0:x1] = np.isin(labels[y0:y1, x0:x1], g.labels)
                c = choose_filler(rgb, sel, cands, rng, unknown=mask, default="telea",
                                  probes=ProbeSettings(count=args.probes, tile=args.tile))
                # the candidates' errors, then their detail (high_pass), as choose_filler
                # keeps them on the probes
                err = np.stack([(v[sel] - rgb[sel]).ravel() for v in filled.values()]
                               + [v[sel].ravel() for v in details.values()])
                gram = err @ err.T
                sse = {k: float(gram[j, j]) for j, k in enumerate(filled)}
                dgram, dtruth = detail_products([*filled.values(), *details.values()], rgb, sel)
                rows.append({"pixels": int(sel.sum()), "probes": c.probes, "size": c.size,
                             "scale": c.scale, "scores": c.scores, "per_probe": c.per_probe,
                             "sse": sse, "names": list(filled), "gram": gram.tolist(),
                             "probe_gram": c.gram, "dgram": dgram.tolist(), "dtruth": dtruth,
                             "probe_dgram": c.detail_gram, "probe_dtruth": c.detail_truth})
            f.write(json.dumps({"data": args.data, "mask": args.mask, "size": args.size,
                                "index": i, "groups": rows}) + "\n")
            f.flush()
            print(f"{i}: {len(rows)} groups, {time.perf_counter() - t0:.1f} s", flush=True)


# -- replaying rules -----------------------------------------------------------------------
Rule = Callable[[dict], dict[str, float]]  # group row -> weights per candidate


def _psnr(sse: float, pixels: int) -> float:
    mse = sse / (3 * pixels)
    return 100.0 if mse <= 0 else -10.0 * math.log10(mse)


def image_scores(lines: list[dict], rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the hole PSNR the rule's weights give (from the real holes' error
    products) and its detail (gradient energy over the truth's, from the real holes'
    difference products; groups pooled by pixels)."""
    psnrs, details = [], []
    for line in lines:
        sse = energy = truth = 0.0
        for g in line["groups"]:
            w = rule(g)
            v = np.array([w.get(k, 0.0) for k in _names(g, len(g["gram"]))])
            sse += float(v @ np.array(g["gram"]) @ v)
            if "dgram" in g:
                energy += g["pixels"] * float(v @ np.array(g["dgram"]) @ v)
                truth += g["pixels"] * g["dtruth"]
        pixels = sum(g["pixels"] for g in line["groups"])
        psnrs.append(_psnr(sse, pixels))
        details.append((energy / pixels + GRADIENT_FLOOR) / (truth / pixels + GRADIENT_FLOOR))
    return np.array(psnrs), np.array(details)


def score_rule(lines: list[dict], rule: Rule) -> float:
    """Mean over images of the hole PSNR of :func:`image_scores`."""
    return float(image_scores(lines, rule)[0].mean())


#: scikit-image's photo sets of ``evaluate`` (its ``EVAL_SETS``): (split, textures) of the
#: crops they are made of.
_PHOTO_SETS = {"photos": ("report", None), "photos-tune": ("tune", None),
               "textures": ("report", True)}


def _sources(lines: list[dict]) -> list[str]:
    """Per line, the photograph its image was cut from: crops of one file (``NAME-k.png``
    in a folder of ``data debian``) or of one of scikit-image's photos share it; any other
    image (a facade) is its own. A folder that is gone is an error (the grouping would
    silently change)."""
    from context_encoder.data.photos import photo_crops

    listings: dict[tuple[str, int], list[str]] = {}
    out = []
    for line in lines:
        data, key = line["data"], (line["data"], line["size"])
        if key not in listings:
            if data in _PHOTO_SETS:
                split, textures = _PHOTO_SETS[data]
                listings[key] = [c.photo for c in photo_crops(split, line["size"],
                                                             textures=textures)]
            elif data.startswith("facades"):
                listings[key] = []
            elif Path(data).is_dir():
                listings[key] = [p.stem.rsplit("-", 1)[0] for p in find_images(data)]
            else:
                raise FileNotFoundError(f"{data}: the crops of these lines are gone; build "
                                        "them again (context-encoder data debian)")
        names = listings[key]
        out.append(names[line["index"]] if names else f"{data}:{line['index']}")
    return out


def bootstrap_low(gaps: np.ndarray, sources: Sequence[str], quantile: float = 0.1,
                  draws: int = 2000) -> float:
    """The ``quantile`` of the mean of ``gaps`` over sets of photographs drawn with
    replacement (each with all its crops): how low the mean gap may come out on other
    photographs like these."""
    keys, index = np.unique(np.asarray(sources), return_inverse=True)
    sums = np.bincount(index, weights=gaps)
    counts = np.bincount(index).astype(float)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(keys), (draws, len(keys)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    return float(np.quantile(means, quantile))


def _names(g: dict, n: int) -> list[str]:
    """The names of a group's products: the candidates, then (for products of ``2 * K``
    rows) their detail."""
    return g["names"] if n == len(g["names"]) else [*g["names"],
                                                    *(detail_key(k) for k in g["names"])]


def _allowed(line: dict) -> list[str]:
    model = "center" if line["mask"] == "center" else "freeform"
    names = line["groups"][0]["names"]
    return [k for k in ("telea", "ns", "biharmonic", "patchmatch") if k in names] + [model]


def winner_rule(allowed: Sequence[str], switch_db: float = 1.0) -> Rule:
    """The old rule: Telea unless another candidate's probes beat it by over switch_db."""
    def rule(g: dict) -> dict[str, float]:
        if not g["scores"]:
            return {"telea": 1.0}
        best = max(allowed, key=lambda k: g["scores"][k])
        return {best if g["scores"][best] > g["scores"]["telea"] + switch_db else "telea": 1.0}
    return rule


def blend_rule(allowed: Sequence[str], bonus_db: float, ridge: float) -> Rule:
    """auto's rule (choose_filler with blend): the probe-optimal mix, the model favoured by
    bonus_db per halving of the probe size."""
    def rule(g: dict) -> dict[str, float]:
        if not g["scores"]:
            return {"telea": 1.0}
        idx = [g["names"].index(k) for k in allowed]
        gram = np.array(g["probe_gram"])[np.ix_(idx, idx)]
        bonus = bonus_db * math.log2(1.0 / g["size"])
        return blend_weights(gram, list(allowed), favour={allowed[-1]: bonus}, ridge=ridge)
    return rule


def spend_rule(allowed: Sequence[str], bonus_db: float, ridge: float, budget_db: float,
               floor_db: float, floor_per_halving_db: float) -> Rule:
    """auto's blend, then :func:`spend_on_detail`: its lead over each candidate alone
    spent on detail, at most ``budget_db``, keeping ``floor_db`` over the best alone plus
    ``floor_per_halving_db`` per halving of the probe size."""
    blend = blend_rule(allowed, bonus_db, ridge)
    settings = ProbeSettings(detail_floor_db=floor_db,
                             detail_floor_per_halving_db=floor_per_halving_db)

    def rule(g: dict) -> dict[str, float]:
        w = blend(g)
        if not g["scores"] or budget_db <= 0:
            return w
        k = len(g["names"])
        idx = [g["names"].index(a) for a in allowed]
        idx += [k + i for i in idx]
        gram = np.array(g["probe_gram"])[np.ix_(idx, idx)]
        dgram = np.array(g["probe_dgram"])[np.ix_(idx, idx)]
        bonus = bonus_db * math.log2(1.0 / g["size"])
        return spend_on_detail(gram, dgram, g["probe_dtruth"], list(allowed), w,
                               favour={allowed[-1]: bonus}, budget_db=budget_db,
                               floor_db=settings.detail_floor_at(g["size"]),
                               steps=settings.detail_steps)
    return rule


def _detail_table(paths: Sequence[str], variants: dict[str, Callable[[Sequence[str]], Rule]],
                  top: int, quantile: float) -> None:
    """Per file: PSNR and detail of each single candidate; then each variant (label -> rule
    for the allowed candidates) replayed: over the files of photographs and textures, the
    worst mean PSNR gap to the file's best single classical method and the worst of its
    :func:`bootstrap_low` (over the photographs the crops come from: how the gap may come
    out on other photographs; the target: >= -0.1 dB), the facades' gap to the model, and
    the mean detail over the photographs' files; rows that meet the target first, most
    detail first. Files of one set and mask (``a.jsonl``, ``new-a.jsonl``) are pooled."""
    files: dict[str, list[dict]] = {}
    for path in paths:
        lines = [json.loads(x) for x in Path(path).read_text().splitlines()]
        if lines and "dgram" in lines[0]["groups"][0]:
            files.setdefault(Path(path).name.removeprefix("new-"), []).extend(lines)
    ref, sources = {}, {}
    for name, lines in files.items():
        allowed = _allowed(lines[0])
        singles = {k: image_scores(lines, lambda g, k=k: {k: 1.0}) for k in allowed}
        model = allowed[-1]
        key = model if "facades" in name else max(
            (k for k in allowed if k != model), key=lambda k: singles[k][0].mean())
        ref[name], sources[name] = singles[key][0], _sources(lines)
        print(f"{name} ({len(lines)} images of {len(set(sources[name]))} photographs): "
              + ", ".join(f"{k} {p.mean():.2f}/{d.mean():.2f}" for k, (p, d) in singles.items())
              + f"; against {key}")
    facades = [p for p in files if "facades" in p]
    photos = [p for p in files if p not in facades]
    detailed = [p for p in photos if "textures" not in p] or photos
    rows = []
    for label, make in variants.items():
        res = {p: image_scores(lines, make(_allowed(lines[0]))) for p, lines in files.items()}
        gaps = {p: res[p][0] - ref[p] for p in files}
        low = {p: bootstrap_low(gaps[p], sources[p], quantile) for p in photos}
        rows.append((min(low.values()), min(gaps[p].mean() for p in photos),
                     min((gaps[p].mean() for p in facades), default=0.0),
                     float(np.mean([res[p][1].mean() for p in detailed])), label,
                     [f"{gaps[p].mean():+.2f}({low.get(p, gaps[p].mean()):+.2f})/"
                      f"{res[p][1].mean():.2f}" for p in files]))
    print(f"variant: worst photo gap at the bootstrap's {quantile:.0%}, worst mean photo gap, "
          "worst facade gap (to the model), mean photo detail; then per file mean gap "
          "(bootstrap)/detail, in the order above")
    rows.sort(key=lambda r: (r[0] < -0.1, -r[3] if r[0] >= -0.1 else -r[0]))
    for low_, worst, fac, det, label, cells in rows[:top]:
        print(f"  {label}: {low_:+.2f} {worst:+.2f} {fac:+.2f} {det:.2f}  " + " ".join(cells),
              flush=True)


def fit_spend(args: argparse.Namespace) -> None:
    """:func:`_detail_table` over every (model bonus, ridge, budget dB, floor dB, floor dB
    per halving of the probe size)."""
    _detail_table(args.files, {
        f"{b:3.1f} {r:4.2f} {u:4.2f} {f:+4.2f} {h:+4.2f}": (
            lambda a, b=b, r=r, u=u, f=f, h=h: spend_rule(a, b, r, u, f, h))
        for b in args.bonus for r in args.ridge for u in args.budget for f in args.floor
        for h in args.floor_per_halving},
        args.top, args.quantile)


def fit(args: argparse.Namespace) -> None:
    """Per file: each single candidate, the old winner rule and the blend over a grid of
    (bonus, ridge); then the grid's rows ranked by the worst gap to each file's best single
    candidate."""
    files = {p: [json.loads(x) for x in Path(p).read_text().splitlines()] for p in args.files}
    files = {p: lines for p, lines in files.items() if lines}
    best = {}
    for path, lines in files.items():
        allowed = _allowed(lines[0])
        singles = {k: score_rule(lines, lambda g, k=k: {k: 1.0}) for k in allowed}
        best[path] = max(singles.values())
        print(f"{Path(path).name} ({len(lines)} images): "
              + ", ".join(f"{k} {v:.2f}" for k, v in singles.items())
              + f"; winner rule {score_rule(lines, winner_rule(allowed)):.2f}")
    rows = []
    for bonus in args.bonus:
        for ridge in args.ridge:
            gaps = [score_rule(lines, blend_rule(_allowed(lines[0]), bonus, ridge)) - best[p]
                    for p, lines in files.items()]
            rows.append((min(gaps), bonus, ridge, gaps))
    print("blend: bonus dB/halving, ridge -> gap to each file's best single candidate")
    for worst, bonus, ridge, gaps in sorted(rows, key=lambda r: -r[0])[: args.top]:
        print(f"  {bonus:4.1f} {ridge:4.2f}  worst {worst:+.2f}  "
              + " ".join(f"{g:+.2f}" for g in gaps))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--data", required=True)
    c.add_argument("--mask", default="thick")
    c.add_argument("--size", type=int, default=128)
    c.add_argument("--count", type=int, default=40)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--mask-seed", type=int, default=None,
                   help="the masks' seed (default: 1 for facades-tune and photos-tune, 0 "
                        "otherwise); another one for more images of a set collected earlier")
    c.add_argument("--tile", type=int, default=ProbeSettings().tile, help="least tile side")
    c.add_argument("--probes", type=int, default=ProbeSettings().count, help="probes per hole")
    c.add_argument("--out", required=True)
    f = sub.add_parser("fit")
    f.add_argument("files", nargs="+")
    f.add_argument("--bonus", type=float, nargs="*", default=[0.0, 1.0, 2.0, 3.0, 4.0])
    f.add_argument("--ridge", type=float, nargs="*", default=[0.0, 0.05, 0.1, 0.2])
    f.add_argument("--top", type=int, default=10)
    sp = sub.add_parser("spend")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--bonus", type=float, nargs="*", default=[1.0])
    sp.add_argument("--ridge", type=float, nargs="*", default=[0.1])
    sp.add_argument("--budget", type=float, nargs="*", default=[0.0, 0.5, 0.75, 1.0])
    sp.add_argument("--floor", type=float, nargs="*", default=[-0.2, 0.0, 0.2])
    sp.add_argument("--floor-per-halving", type=float, nargs="*", default=[0.0, 0.2, 0.4, 0.6, 0.8],
                    help="dB added to the floor per halving of the probe size")
    sp.add_argument("--top", type=int, default=20)
    sp.add_argument("--quantile", type=float, default=0.1,
                    help="the bootstrap's quantile of each set's mean gap that must stay at "
                         "or above -0.1 dB (default 0.1)")
    args = p.parse_args()
    {"collect": collect, "fit": fit, "spend": fit_spend}[args.cmd](args)


if __name__ == "__main__":
    main()
