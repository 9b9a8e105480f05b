"""``make demo``: the main job on the embedded default, from a fresh clone.

Writes validation facades, fills their holes with the shipped models and the classical
methods, scores everything the paper's way and writes an HTML report per mask kind; then
the same on real photographs (scikit-image's bundled photos, the "report" split) with
``auto`` beside the model and each classical method, and how often auto chose each.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from .errors import UsageError
from .evaluation import (
    check_eval_size,
    check_output_dir,
    default_model_for,
    evaluate,
    markdown_table,
    write_report,
)
from .inference import AUTO
from .io.files import atomic_write_text
from .io.images import save_image

__all__ = ["DEMO_MASKS", "SAMPLE_FACADES", "run_demo"]

logger = logging.getLogger(__name__)

#: The mask kinds the demo scores, each with its shipped model (``default_model_for``).
DEMO_MASKS = ("center", "thick")
#: Validation facades written as PNG files to try ``inpaint`` and the web page on.
SAMPLE_FACADES = 16
#: Photo crops per mask kind in the real-photo section (two per photo of the report split).
DEMO_PHOTOS = 20


def _photo_section(out: Path, mask: str, count: int, device: str,
                   log: Callable[[str], object]) -> dict:
    """``auto`` against the shipped model and the classical methods on photo crops."""
    model = default_model_for(mask)
    res = evaluate(models=[AUTO, model], data="photos", mask=mask, count=count,
                   device=device)
    report = write_report(res, out / f"report-photos-{mask}",
                          title=f"auto vs {model} and classical methods: {res.count} photo "
                                f"crops, {mask} holes")
    chosen = res.methods[AUTO].get("chosen", {})
    log(f"\nauto, {mask} holes, {res.count} photo crops (PSNR etc. over the hole):")
    log(markdown_table(res))
    shares = res.methods[AUTO].get("shares", {})
    log(f"auto filled {sum(chosen.values())} holes; each method's share of the fill: "
        + ", ".join(f"{m} {v:.0%}" for m, v in shares.items()))
    detail = res.methods[AUTO].get("detail_added", {})
    if detail:
        log("detail added (share of the filled pixels): "
            + ", ".join(f"{m} {v:.0%}" for m, v in detail.items()))
    log(f"report: {report}")
    return res.to_json()


def _write_facades(folder: Path, count: int = SAMPLE_FACADES) -> None:
    from .data import render_facade

    for i in range(count):
        save_image(render_facade("val", i, 128), folder / f"facade-val-{i:06d}.png")


def run_demo(out: str | Path = "out/demo", count: int = 100, device: str = "auto",
             log: Callable[[str], object] = logger.info, photos: int = DEMO_PHOTOS) -> dict:
    """Evaluate both shipped models against the baselines on ``count`` validation facades:
    the center model on the paper's center hole, the free-form model on thick masks.
    Then ``auto`` on ``photos`` photo crops per mask kind (``report-photos-center/``,
    ``report-photos-thick/``; 0 = none). Writes ``facades/``, the reports and
    ``summary.json`` in ``out`` (checked before any work); returns the summary."""
    out = check_output_dir(out, "demo output folder")
    if count < 1 or photos < 0:
        raise UsageError(f"count must be >= 1 and photos >= 0, got {count} and {photos}")
    check_eval_size(count, 128, "lower --count")  # before anything is written
    t0 = time.perf_counter()
    _write_facades(out / "facades")
    log(f"wrote {SAMPLE_FACADES} validation facades to {out / 'facades'}")
    summary = {}
    for mask in DEMO_MASKS:
        model = default_model_for(mask)
        res = evaluate(models=[model], mask=mask, count=count, device=device)
        report = write_report(res, out / f"report-{mask}",
                              title=f"{model} vs classical methods: {count} validation "
                                    f"facades, {mask} holes")
        log(f"\n{model}, {mask} holes, {count} validation facades (PSNR etc. over the hole):")
        log(markdown_table(res))
        log(f"report: {report}")
        summary[mask] = res.to_json()
    for mask in DEMO_MASKS if photos else ():
        summary[f"photos-{mask}"] = _photo_section(out, mask, photos, device, log)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    log(f"\ndemo done in {time.perf_counter() - t0:.0f} s; open {out / 'report-center' / 'index.html'}"
        f" and {out / 'report-thick' / 'index.html'}")
    return summary
