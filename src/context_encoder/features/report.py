"""The transfer results as files: JSON, a Markdown table, and a report folder whose page
shows a bar chart (accuracy per encoder, one bar per protocol and number of labels, error
bars over the seeds) as inline SVG, also written as ``chart.svg``."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io.files import atomic_write_text, check_output_dir
from .labelled import LabelledSet
from .transfer import Result, results_table

__all__ = ["bar_chart_svg", "results_record", "write_json", "write_report"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def results_record(results: Sequence[Result], data: LabelledSet, **extra: Any) -> dict[str, Any]:
    """What ``--json`` writes: the set, chance, and one entry per result."""
    return {"data": data.describe(), "classes": list(data.classes),
            "chance": data.chance, **extra,
            "results": [r.to_dict() for r in results]}


def write_json(record: dict[str, Any], path: str | Path) -> Path:
    return atomic_write_text(Path(path), json.dumps(record, indent=2) + "\n")


def _setting(r: Result) -> str:
    return f"{r.protocol}, {r.labels_per_class}/class"


def bar_chart_svg(results: Sequence[Result], chance: float | None = None) -> str:
    """Grouped bars: one group per encoder, one bar per protocol setting, the mean accuracy
    with a line from mean - spread to mean + spread over the seeds; a dashed line at
    ``chance``."""
    encoders = list(dict.fromkeys(r.encoder for r in results))
    settings = list(dict.fromkeys(_setting(r) for r in results))
    by = {(r.encoder, _setting(r)): r for r in results}
    left, top, bottom, legend = 50, 30, 90, 24 * len(settings) + 10
    group = max(60, 26 * len(settings) + 20)
    width = left + group * len(encoders) + 140  # room for the last slanted name
    plot_h = 260
    height = top + plot_h + bottom + legend

    def y(acc: float) -> float:
        return top + plot_h * (1 - acc)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<line x1="{left}" y1="{y(0)}" x2="{width - 10}" y2="{y(0)}" stroke="#444"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(0)}" stroke="#444"/>',
             f'<text x="4" y="{top - 6}">accuracy (%)</text>']
    for t in range(0, 101, 20):
        parts.append(f'<text x="{left - 26}" y="{y(t / 100) + 4:.1f}">{t}</text>'
                     f'<line x1="{left}" y1="{y(t / 100):.1f}" x2="{width - 10}" '
                     f'y2="{y(t / 100):.1f}" stroke="#eee"/>')
    if chance is not None:
        parts.append(f'<line x1="{left}" y1="{y(chance):.1f}" x2="{width - 10}" '
                     f'y2="{y(chance):.1f}" stroke="#888" stroke-dasharray="4 3"/>'
                     f'<text x="{width - 60}" y="{y(chance) - 4:.1f}" fill="#888">chance</text>')
    bar = (group - 20) / max(len(settings), 1)
    for i, enc in enumerate(encoders):
        x0 = left + 10 + i * group
        for k, s in enumerate(settings):
            r = by.get((enc, s))
            if r is None:
                continue
            x = x0 + k * bar
            m, sd = r.accuracy_mean, r.accuracy_std
            parts.append(f'<rect x="{x:.1f}" y="{y(m):.1f}" width="{bar - 2:.1f}" '
                         f'height="{y(0) - y(m):.1f}" fill="{_COLORS[k % len(_COLORS)]}">'
                         f'<title>{html.escape(enc)}, {html.escape(s)}: {100 * m:.1f} ± '
                         f'{100 * sd:.1f}%</title></rect>')
            cx = x + (bar - 2) / 2
            parts.append(f'<line x1="{cx:.1f}" y1="{y(min(1, m + sd)):.1f}" x2="{cx:.1f}" '
                         f'y2="{y(max(0, m - sd)):.1f}" stroke="#000"/>')
        parts.append(f'<text transform="translate({x0 + 4},{y(0) + 12}) rotate(30)">'
                     f'{html.escape(enc)}</text>')
    for k, s in enumerate(settings):
        ly = top + plot_h + bottom + 24 * k
        parts.append(f'<rect x="{left}" y="{ly}" width="14" height="14" '
                     f'fill="{_COLORS[k % len(_COLORS)]}"/>'
                     f'<text x="{left + 20}" y="{ly + 11}">{html.escape(s)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_report(results: Sequence[Result], data: LabelledSet, out_dir: str | Path,
                 record: dict[str, Any] | None = None) -> Path:
    """``index.html`` (the table and the chart), ``chart.svg``, ``results.json`` and
    ``table.md`` in ``out_dir``, each written atomically; returns the page's path."""
    out = check_output_dir(out_dir, "report folder")
    out.mkdir(parents=True, exist_ok=True)
    chance = data.chance
    svg = bar_chart_svg(results, chance)
    atomic_write_text(out / "chart.svg", svg + "\n")
    write_json(record or results_record(results, data), out / "results.json")
    table = results_table(results, chance)
    atomic_write_text(out / "table.md", table + "\n")
    rows = "".join(
        f"<tr><td>{html.escape(r.encoder)}</td><td>{r.protocol}</td>"
        f"<td>{r.labels_per_class}</td><td>{100 * r.accuracy_mean:.1f} ± "
        f"{100 * r.accuracy_std:.1f}</td><td>{len(r.accuracies)}</td></tr>" for r in results)
    title = f"Transfer of encoder features: {html.escape(data.name)}"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px}}</style></head><body>
<h1>{title}</h1><p>{html.escape(data.describe())}. Test accuracy, mean ± standard deviation
over seeds; chance {100 * chance:.1f}%.</p>
<table><tr><th>encoder</th><th>protocol</th><th>labels/class</th><th>accuracy (%)</th>
<th>seeds</th></tr>{rows}</table>
<h2>Accuracy per encoder</h2>{svg}
</body></html>"""
    return atomic_write_text(out / "index.html", page)
