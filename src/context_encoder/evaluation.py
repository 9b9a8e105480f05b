"""Evaluation the paper's way, side by side with the classical methods.

Pixels in [0, 1]; mean L1, mean L2 and PSNR over the hole, PSNR over the whole image and
SSIM; for arbitrary masks the same per hole-area bin (0-10%, 10-20%, ...). Results as JSON
and as a self-contained HTML report (tables, example grid, per-bin plot).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import available_baselines, get_baseline
from .config import MEAN_RGB, center_span
from .masks import EVAL_MASK_KINDS, get_mask_generator
from .metrics import AREA_BINS, area_bin, hole_metrics

__all__ = ["EVAL_MASKS", "EvalResult", "default_model_for", "evaluate", "load_eval_images",
           "make_eval_masks", "write_report"]

logger = logging.getLogger(__name__)

EVAL_MASKS = EVAL_MASK_KINDS
METRIC_KEYS = ("l1", "l2", "psnr", "psnr_full", "ssim")


def default_model_for(mask: str) -> str:
    """The shipped model suited to a mask kind."""
    return "facades-center-128" if mask == "center" else "facades-freeform-128"


def load_eval_images(data: str, count: int, size: int) -> list[np.ndarray]:
    """``count`` evaluation images, HxWx3 uint8 at ``size`` x ``size``: the facades
    validation split (indices 0..count-1, never seen in training) or a folder's images
    (shorter side to ``size``, center crop)."""
    if data == "facades":
        from .data import render_facade

        return [render_facade("val", i, size) for i in range(count)]
    from .data import ImageFolderDataset

    ds = ImageFolderDataset(data, size=size, load_size=size, train=False)
    images = []
    for i in range(min(count, len(ds))):
        t = ds[i]
        images.append(((t.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8))
    if len(images) < count:
        logger.warning("%s has %d images, fewer than --count %d", data, len(images), count)
    return images


def make_eval_masks(kind: str, count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """Deterministic masks: ``center`` is the central (size/2)^2 square (64x64 at 128 px,
    25% of the image); the others are drawn from ``(seed, index)``."""
    if kind not in EVAL_MASKS:
        raise ValueError(f"unknown mask {kind!r}; choose from {', '.join(EVAL_MASKS)}")
    if kind == "center":  # the predicted square of a center model of this size
        m = np.zeros((size, size), dtype=bool)
        a, b = center_span(size)
        m[a:b, a:b] = True
        return [m] * count
    gen = get_mask_generator(kind)
    return [gen((size, size), np.random.default_rng([seed, 1009, i])) for i in range(count)]


@dataclass
class EvalResult:
    count: int
    mask: str
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    bins: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "mask": self.mask, "methods": self.methods,
                "bins": self.bins}


def evaluate(
    *,
    models: Sequence[str] = (),
    methods: Sequence[str] | None = None,
    data: str = "facades",
    mask: str = "center",
    count: int = 100,
    seed: int = 0,
    size: int = 128,
    device: str = "auto",
    keep_examples: int = 6,
) -> EvalResult:
    """Fill ``count`` images with each model and method and score the holes.

    ``models``: shipped names or paths of models (each becomes a method named after it);
    ``methods``: baseline names (default: every baseline that can run here).
    """
    if count < 1:
        raise ValueError("count must be >= 1")
    from .inference import Inpainter

    baselines = list(available_baselines()) if methods is None else list(methods)
    for name in baselines:
        get_baseline(name)  # unknown names fail before any work
    inpainters = {Path(m).stem if Path(m).suffix else m: Inpainter.from_pretrained(m, device=device)
                  for m in models}
    images = load_eval_images(data, count, size)
    masks = make_eval_masks(mask, len(images), size, seed)
    n = len(images)
    res = EvalResult(count=n, mask=mask)
    bins = [area_bin(float(m.mean())) for m in masks]
    res.bins = {b: bins.count(b) for b in AREA_BINS if b in bins}
    res.examples["input"] = [
        np.where(m[..., None], np.array(MEAN_RGB, np.uint8), im)
        for im, m in zip(images[:keep_examples], masks[:keep_examples], strict=True)]
    res.examples["ground truth"] = images[:keep_examples]

    def score(name: str, outputs: list[np.ndarray], seconds: float) -> None:
        per = [hole_metrics(o, t, m) for o, t, m in zip(outputs, images, masks, strict=True)]
        entry: dict[str, Any] = {k: float(np.mean([p[k] for p in per])) for k in METRIC_KEYS}
        entry["seconds_per_image"] = seconds / n
        by_bin: dict[str, dict[str, float]] = {}
        for b in res.bins:
            sel = [p for p, bb in zip(per, bins, strict=True) if bb == b]
            by_bin[b] = {k: float(np.mean([p[k] for p in sel])) for k in ("l1", "l2", "psnr")}
            by_bin[b]["count"] = len(sel)
        entry["bins"] = by_bin
        res.methods[name] = entry
        res.examples[name] = outputs[:keep_examples]
        logger.info("%s: %s", name, {k: round(v, 4) for k, v in entry.items() if k in METRIC_KEYS})

    for name, inp in inpainters.items():
        inp(images[:2], masks[:2])  # warm-up
        t0 = time.perf_counter()
        outs: list[np.ndarray] = []
        for i in range(0, n, 50):
            outs += inp(images[i : i + 50], masks[i : i + 50])
        score(name, outs, time.perf_counter() - t0)
    for name in baselines:
        fn = get_baseline(name)
        t0 = time.perf_counter()
        outs = [fn(im, m) for im, m in zip(images, masks, strict=True)]
        score(name, outs, time.perf_counter() - t0)
    return res


# -- report ----------------------------------------------------------------------------

def _png_data_uri(a: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def example_grid(res: EvalResult, scale: int = 1) -> np.ndarray:
    """Rows of examples: input with hole | each method | ground truth."""
    cols = ["input", *res.methods, "ground truth"]
    rows = len(res.examples["input"])
    h, w = res.examples["input"][0].shape[:2]
    pad = 4
    grid = np.full((rows * (h + pad) + pad, len(cols) * (w + pad) + pad, 3), 255, np.uint8)
    for c, name in enumerate(cols):
        for r, img in enumerate(res.examples[name]):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            grid[y : y + h, x : x + w] = img
    if scale > 1:
        grid = grid.repeat(scale, 0).repeat(scale, 1)
    return grid


def _bin_plot_svg(res: EvalResult) -> str:
    bins = list(res.bins)
    if len(bins) < 2:
        return ""
    names = list(res.methods)
    vals = [[res.methods[m]["bins"][b]["psnr"] for b in bins] for m in names]
    lo = min(min(v) for v in vals) - 1
    hi = max(max(v) for v in vals) + 1
    W, H, L, B = 640, 320, 50, 40
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
    def px(i, v):
        x = L + (W - L - 150) * (i / max(1, len(bins) - 1))
        y = (H - B) - (H - B - 10) * (v - lo) / (hi - lo)
        return x, y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             'font-family="sans-serif" font-size="11">',
             f'<line x1="{L}" y1="{H - B}" x2="{W - 150}" y2="{H - B}" stroke="#444"/>',
             f'<line x1="{L}" y1="10" x2="{L}" y2="{H - B}" stroke="#444"/>',
             '<text x="10" y="20">PSNR (dB)</text>']
    for t in np.linspace(lo, hi, 5):
        _, y = px(0, t)
        parts.append(f'<text x="8" y="{y + 4:.0f}">{t:.1f}</text>')
    for i, b in enumerate(bins):
        x, _ = px(i, lo)
        parts.append(f'<text x="{x - 18:.0f}" y="{H - B + 16}">{b}</text>')
    parts.append(f'<text x="{(W - 150) / 2:.0f}" y="{H - 6}">hole area</text>')
    for k, (name, v) in enumerate(zip(names, vals, strict=True)):
        col = colors[k % len(colors)]
        pts = " ".join(f"{px(i, y)[0]:.1f},{px(i, y)[1]:.1f}" for i, y in enumerate(v))
        parts.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="{pts}"/>')
        parts.append(f'<text x="{W - 140}" y="{20 + 16 * k}" fill="{col}">'
                     f'{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def markdown_table(res: EvalResult) -> str:
    lines = ["| method | L1 (hole) | L2 (hole) | PSNR hole (dB) | PSNR full (dB) | SSIM | s/image |",
             "|---|---|---|---|---|---|---|"]
    for name, m in sorted(res.methods.items(), key=lambda kv: -kv[1]["psnr"]):
        lines.append(f"| {name} | {100 * m['l1']:.2f}% | {100 * m['l2']:.2f}% | {m['psnr']:.2f} "
                     f"| {m['psnr_full']:.2f} | {m['ssim']:.3f} | {m['seconds_per_image']:.4f} |")
    return "\n".join(lines)


def write_report(res: EvalResult, out_dir: str | Path, title: str | None = None) -> Path:
    """A self-contained ``index.html`` (images embedded) plus ``examples.png``,
    ``metrics.json`` and ``table.md`` beside it."""
    from PIL import Image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grid = example_grid(res)
    Image.fromarray(grid).save(out / "examples.png")
    (out / "metrics.json").write_text(json.dumps(res.to_json(), indent=2))
    (out / "table.md").write_text(markdown_table(res) + "\n")
    title = title or f"Inpainting evaluation: {res.count} images, {res.mask} holes"
    rows = []
    for name, m in sorted(res.methods.items(), key=lambda kv: -kv[1]["psnr"]):
        rows.append("<tr><td>" + html.escape(name) + "</td>" + "".join(
            f"<td>{v}</td>" for v in (f"{100 * m['l1']:.2f}%", f"{100 * m['l2']:.2f}%",
                                      f"{m['psnr']:.2f}", f"{m['psnr_full']:.2f}",
                                      f"{m['ssim']:.3f}", f"{1000 * m['seconds_per_image']:.1f}"))
                    + "</tr>")
    bin_rows = ""
    if len(res.bins) > 1:
        head = "".join(f"<th>{b} ({n})</th>" for b, n in res.bins.items())
        body = "".join("<tr><td>" + html.escape(name) + "</td>" + "".join(
            f"<td>{m['bins'][b]['psnr']:.2f}</td>" for b in res.bins) + "</tr>"
            for name, m in res.methods.items())
        bin_rows = (f"<h2>PSNR over the hole by hole area</h2><table><tr><th>method</th>{head}"
                    f"</tr>{body}</table>{_bin_plot_svg(res)}")
    cols = " | ".join(["input", *res.methods, "ground truth"])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:first-child{{text-align:left}}
img{{image-rendering:pixelated;max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Pixels in [0, 1]. L1, L2 and PSNR over the hole; PSNR over the whole image; SSIM over the
whole image. Sorted by hole PSNR.</p>
<table><tr><th>method</th><th>mean L1</th><th>mean L2</th><th>PSNR hole (dB)</th>
<th>PSNR full (dB)</th><th>SSIM</th><th>ms / image</th></tr>{''.join(rows)}</table>
{bin_rows}
<h2>Examples</h2><p>{html.escape(cols)}</p>
<img src="{_png_data_uri(grid)}" alt="examples">
</body></html>"""
    (out / "index.html").write_text(page)
    return out / "index.html"
