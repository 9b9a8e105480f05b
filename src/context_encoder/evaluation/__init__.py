"""Evaluation the paper's way, side by side with the classical methods.

:mod:`.evaluate` fills deterministic holes in an image set with models and classical
methods and scores them (:func:`evaluate` returns an :class:`EvalResult`); :mod:`.report`
writes the results: a markdown table, JSON, an example grid and a self-contained HTML
report.
"""

from .evaluate import (
    EVAL_MASKS,
    EVAL_SETS,
    METRIC_KEYS,
    EvalResult,
    check_eval_size,
    default_model_for,
    evaluate,
    load_eval_images,
    make_eval_masks,
)
from .report import (
    check_output_dir,
    check_output_file,
    example_grid,
    markdown_table,
    write_json,
    write_report,
)

__all__ = [
    "EVAL_MASKS",
    "EVAL_SETS",
    "METRIC_KEYS",
    "EvalResult",
    "check_eval_size",
    "check_output_dir",
    "check_output_file",
    "default_model_for",
    "evaluate",
    "example_grid",
    "load_eval_images",
    "make_eval_masks",
    "markdown_table",
    "write_json",
    "write_report",
]
