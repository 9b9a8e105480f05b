"""An evaluation's results as files: a markdown table, JSON, an example grid and a
self-contained HTML report (tables, the grid embedded, a per-bin PSNR plot).

Output paths are checked before any work (:func:`check_output_file`,
:func:`check_output_dir`), so that a long evaluation is never lost to a bad path.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.files import atomic_write_text, check_output_dir, check_output_file
from ..io.images import encode_image, save_image
from .evaluate import EvalResult

__all__ = ["GRID_PAD", "check_output_dir", "check_output_file", "example_grid", "grid_columns",
           "markdown_table", "report_html", "write_json", "write_report"]

#: Pixels of white between the images of the example grid.
GRID_PAD = 4


# -- output paths ------------------------------------------------------------------------

# -- tables and the grid -----------------------------------------------------------------

def _by_psnr(res: EvalResult) -> list[tuple[str, dict[str, Any]]]:
    """The methods, best hole PSNR first."""
    return sorted(res.methods.items(), key=lambda kv: -kv[1]["psnr"])


def markdown_table(res: EvalResult) -> str:
    lines = ["| method | L1 (hole) | L2 (hole) | PSNR hole (dB) | PSNR full (dB) | SSIM "
             "| detail | SWD | s/image |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, m in _by_psnr(res):
        lines.append(f"| {name} | {100 * m['l1']:.2f}% | {100 * m['l2']:.2f}% | {m['psnr']:.2f} "
                     f"| {m['psnr_full']:.2f} | {m['ssim']:.3f} | {m['detail']:.2f} "
                     f"| {m['swd']:.0f} | {m['seconds_per_image']:.4f} |")
    return "\n".join(lines)


def write_json(res: EvalResult, path: str | Path) -> Path:
    """The scores (no images) as JSON, written atomically."""
    return atomic_write_text(path, json.dumps(res.to_json(), indent=2))


def grid_columns(res: EvalResult) -> list[str]:
    """The example grid's columns: input with hole | each method | ground truth."""
    return ["input", *res.methods, "ground truth"]


def example_grid(res: EvalResult, scale: int = 1) -> np.ndarray:
    """Rows of examples (HxWx3 uint8): input with hole | each method | ground truth, on
    white with :data:`GRID_PAD` px between images."""
    cols = grid_columns(res)
    rows = len(res.examples["input"])
    h, w = res.examples["input"][0].shape[:2]
    pad = GRID_PAD
    grid = np.full((rows * (h + pad) + pad, len(cols) * (w + pad) + pad, 3), 255, np.uint8)
    for c, name in enumerate(cols):
        for r, img in enumerate(res.examples[name]):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            grid[y : y + h, x : x + w] = img
    if scale > 1:
        grid = grid.repeat(scale, 0).repeat(scale, 1)
    return grid


# -- the per-bin plot --------------------------------------------------------------------

_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class _Plot:
    """Geometry of the PSNR-by-hole-area plot: ``n`` bins on x, dB from ``lo`` to ``hi``."""

    n: int
    lo: float
    hi: float
    width: int = 640
    height: int = 320
    left: int = 50  # room for the y labels
    bottom: int = 40  # room for the x labels
    legend: int = 150  # room for the method names on the right

    def xy(self, i: int, v: float) -> tuple[float, float]:
        """The point of bin ``i`` at ``v`` dB."""
        x = self.left + (self.width - self.left - self.legend) * (i / max(1, self.n - 1))
        y = (self.height - self.bottom) - (self.height - self.bottom - 10) * (
            (v - self.lo) / (self.hi - self.lo))
        return x, y

    def axes(self, bins: Sequence[str]) -> list[str]:
        """SVG for the axes, their tick labels and titles."""
        W, H, L, B = self.width, self.height, self.left, self.bottom
        parts = [f'<line x1="{L}" y1="{H - B}" x2="{W - self.legend}" y2="{H - B}" stroke="#444"/>',
                 f'<line x1="{L}" y1="10" x2="{L}" y2="{H - B}" stroke="#444"/>',
                 '<text x="10" y="20">PSNR (dB)</text>']
        for t in np.linspace(self.lo, self.hi, 5):
            _, y = self.xy(0, t)
            parts.append(f'<text x="8" y="{y + 4:.0f}">{t:.1f}</text>')
        for i, b in enumerate(bins):
            x, _ = self.xy(i, self.lo)
            parts.append(f'<text x="{x - 18:.0f}" y="{H - B + 16}">{b}</text>')
        parts.append(f'<text x="{(W - self.legend) / 2:.0f}" y="{H - 6}">hole area</text>')
        return parts

    def line(self, k: int, name: str, values: Sequence[float]) -> list[str]:
        """SVG for method number ``k``: its line and its name in the legend."""
        col = _COLORS[k % len(_COLORS)]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in
                       (self.xy(i, v) for i, v in enumerate(values)))
        return [f'<polyline fill="none" stroke="{col}" stroke-width="2" points="{pts}"/>',
                f'<text x="{self.width - self.legend + 10}" y="{20 + 16 * k}" fill="{col}">'
                f'{html.escape(name)}</text>']


def _bin_plot_svg(res: EvalResult) -> str:
    """Hole PSNR per hole-area bin, one line per method ("" with fewer than two bins)."""
    bins = list(res.bins)
    if len(bins) < 2:
        return ""
    names = list(res.methods)
    vals = [[res.methods[m]["bins"][b]["psnr"] for b in bins] for m in names]
    plot = _Plot(len(bins), min(min(v) for v in vals) - 1, max(max(v) for v in vals) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{plot.width}" '
             f'height="{plot.height}" font-family="sans-serif" font-size="11">',
             *plot.axes(bins)]
    for k, (name, v) in enumerate(zip(names, vals, strict=True)):
        parts += plot.line(k, name, v)
    parts.append("</svg>")
    return "".join(parts)


# -- the HTML report ---------------------------------------------------------------------

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child{text-align:left}
img{image-rendering:pixelated;max-width:100%}"""


def _png_data_uri(a: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_image(a, "PNG")).decode()


def _row(name: str, cells: Sequence[str]) -> str:
    return ("<tr><td>" + html.escape(name) + "</td>"
            + "".join(f"<td>{v}</td>" for v in cells) + "</tr>")


def _metrics_table_html(res: EvalResult) -> str:
    rows = "".join(_row(name, (f"{100 * m['l1']:.2f}%", f"{100 * m['l2']:.2f}%",
                               f"{m['psnr']:.2f}", f"{m['psnr_full']:.2f}", f"{m['ssim']:.3f}",
                               f"{m['detail']:.2f}", f"{m['swd']:.0f}",
                               f"{1000 * m['seconds_per_image']:.1f}"))
                   for name, m in _by_psnr(res))
    return ("<table><tr><th>method</th><th>mean L1</th><th>mean L2</th><th>PSNR hole (dB)</th>"
            "\n<th>PSNR full (dB)</th><th>SSIM</th><th>detail</th><th>SWD</th>"
            f"<th>ms / image</th></tr>{rows}</table>")


def _bins_html(res: EvalResult) -> str:
    """The per-bin table and plot ("" when all holes fall in one bin)."""
    if len(res.bins) < 2:
        return ""
    head = "".join(f"<th>{b} ({n})</th>" for b, n in res.bins.items())
    body = "".join(_row(name, [f"{m['bins'][b]['psnr']:.2f}" for b in res.bins])
                   for name, m in res.methods.items())
    return (f"<h2>PSNR over the hole by hole area</h2><table><tr><th>method</th>{head}"
            f"</tr>{body}</table>{_bin_plot_svg(res)}")


def report_html(res: EvalResult, grid: np.ndarray, title: str) -> str:
    """The report page, self-contained (the example grid embedded as a PNG data URI)."""
    t = html.escape(title)
    cols = html.escape(" | ".join(grid_columns(res)))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{t}</title>
<style>{_STYLE}</style></head><body>
<h1>{t}</h1>
<p>Pixels in [0, 1]. L1, L2 and PSNR over the hole; PSNR over the whole image; SSIM over the
whole image. Sorted by hole PSNR. PSNR rewards the mean of the plausible fills, a blur; two
measures show what it cannot: <b>detail</b>, the fill's gradient energy inside the hole over
the truth's (1.00 = as much detail as the truth, below = smoother, above = noisier), and
<b>SWD</b>, the sliced Wasserstein distance between 7x7 Laplacian-pyramid patches of the
fills and of the truths over the hole, x 1000 (lower = closer in distribution to real
pixels; 0 for the truth).</p>
{_metrics_table_html(res)}
{_bins_html(res)}
<h2>Examples</h2><p>{cols}</p>
<img src="{_png_data_uri(grid)}" alt="examples">
</body></html>"""


def write_report(res: EvalResult, out_dir: str | Path, title: str | None = None) -> Path:
    """A self-contained ``index.html`` (images embedded) plus ``examples.png``,
    ``metrics.json`` and ``table.md`` beside it, each written atomically. Returns the
    page's path."""
    out = check_output_dir(out_dir, "report folder")
    out.mkdir(parents=True, exist_ok=True)
    grid = example_grid(res)
    save_image(grid, out / "examples.png")
    write_json(res, out / "metrics.json")
    atomic_write_text(out / "table.md", markdown_table(res) + "\n")
    title = title or f"Inpainting evaluation: {res.count} images, {res.mask} holes"
    return atomic_write_text(out / "index.html", report_html(res, grid, title))
