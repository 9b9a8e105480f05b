"""``make demo``: the main job on the embedded default, from a fresh clone.

Writes validation facades, fills their holes with the shipped models and the classical
methods, scores everything the paper's way and writes an HTML report.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .evaluation import default_model_for, evaluate, markdown_table, write_report

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


def run_demo(out: str | Path = "out/demo", count: int = 100, device: str = "auto",
             log=logger.info) -> dict:
    """Evaluate both shipped models against the baselines on ``count`` validation facades:
    the center model on the paper's center hole, the free-form model on thick masks."""
    from PIL import Image

    from .data import render_facade

    out = Path(out)
    t0 = time.perf_counter()
    faces = out / "facades"
    faces.mkdir(parents=True, exist_ok=True)
    for i in range(16):
        Image.fromarray(render_facade("val", i, 128)).save(faces / f"facade-val-{i:06d}.png")
    log(f"wrote 16 validation facades to {faces}")
    summary = {}
    for mask in ("center", "thick"):
        model = default_model_for(mask)
        res = evaluate(models=[model], mask=mask, count=count, device=device)
        report = write_report(res, out / f"report-{mask}",
                              title=f"{model} vs classical methods: {count} validation "
                                    f"facades, {mask} holes")
        log(f"\n{model}, {mask} holes, {count} validation facades (PSNR etc. over the hole):")
        log(markdown_table(res))
        log(f"report: {report}")
        summary[mask] = res.to_json()
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    log(f"\ndemo done in {time.perf_counter() - t0:.0f} s; open {out / 'report-center' / 'index.html'}"
        f" and {out / 'report-thick' / 'index.html'}")
    return summary
