"""Where a run reports, behind one small interface (:class:`RunLog`): ``metrics.jsonl`` (one
JSON row per logged or validated step), TensorBoard event files and a progress bar.

Each sink takes ``write(step, kind, values)`` with ``kind`` ``"train"`` (windowed means of
the step metrics and ``img_per_s``) or ``"val"`` (validation metrics). The step metrics are
summed on their device and read back once per window, so logging never makes a training
step wait for the GPU. On a resume, the rows and events past the resumed step (written after
the checkpoint, by the run that stopped) are dropped, so each step appears once.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import torch

from ..io.files import atomic_write_text

__all__ = ["RunLog", "truncate_metrics"]

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


class _Sink(Protocol):
    def write(self, step: int, kind: str, values: dict[str, float]) -> None: ...

    def close(self) -> None: ...


def truncate_metrics(path: str | Path, step: int) -> None:
    """Keep the rows of a ``metrics.jsonl`` up to ``step``: the rows a resumed run will
    write again, and a row cut short by a kill, are dropped; the earlier history stays."""
    path = Path(path)
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
            kept.append(line)
    if kept != lines:
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
        logger.info("%s: kept the %d rows up to step %d", path, len(kept), step)


class _JsonLines:
    """``metrics.jsonl``: ``{"step", **train means}`` and ``{"step", "val_<name>", ...}``."""

    def __init__(self, path: Path, start: int) -> None:
        self.path = path
        truncate_metrics(path, start)

    def write(self, step: int, kind: str, values: dict[str, float]) -> None:
        row = values if kind == "train" else {f"{kind}_{k}": v for k, v in values.items()}
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, **row}) + "\n")

    def close(self) -> None:
        pass


class _TensorBoard:
    """``tensorboard/``: scalars ``train/<name>`` and ``val/<name>``."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def write(self, step: int, kind: str, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.writer.add_scalar(f"{kind}/{k}", v, step)

    def close(self) -> None:
        self.writer.close()


class _ProgressBar:
    """A tqdm bar over the steps; its postfix shows the latest train means."""

    def __init__(self, start: int, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def advance(self) -> None:
        self.bar.update(1)

    def write(self, step: int, kind: str, values: dict[str, float]) -> None:
        if kind == "train":
            d = {"d": f"{values['d_loss']:.3f}"} if "d_loss" in values else {}
            self.bar.set_postfix(g=f"{values['g_rec']:.4f}", **d,
                                 ips=f"{values['img_per_s']:.1f}")

    def close(self) -> None:
        self.bar.close()


def _tensorboard(folder: Path, start: int) -> _TensorBoard | None:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        logger.warning("tensorboard is not installed; no event files written")
        return None
    return _TensorBoard(SummaryWriter(str(folder), purge_step=start))


class RunLog:
    """The run's sinks, from step ``start`` of ``total``. ``step`` adds one step's metrics
    (0-d tensors, the same names each step) to the window on their device; ``train`` reads
    the window's sums back, writes their means and starts a new window; ``val`` writes
    validation metrics. With ``enabled=False`` (ranks other than 0) nothing is written."""

    def __init__(self, out: Path, *, start: int, total: int, enabled: bool = True,
                 progress: bool = True) -> None:
        self.sinks: list[_Sink] = []
        self.bar: _ProgressBar | None = None
        if enabled:
            self.sinks.append(_JsonLines(out / METRICS_FILE, start))
            tb = _tensorboard(out / "tensorboard", start)
            if tb is not None:
                self.sinks.append(tb)
            if progress:
                self.bar = _ProgressBar(start, total)
                self.sinks.append(self.bar)
        self._reset()

    def _reset(self) -> None:
        self._names: tuple[str, ...] = ()
        self._sums: torch.Tensor | None = None  # (len(names),) on the metrics' device
        self._steps, self._images, self._t0 = 0, 0, time.perf_counter()

    def step(self, metrics: dict[str, torch.Tensor], images: int) -> None:
        values = torch.stack(list(metrics.values())).detach().float()  # (M,), one kernel
        if self._sums is None:
            self._names, self._sums = tuple(metrics), values
        elif tuple(metrics) != self._names:
            raise ValueError(f"step metrics {tuple(metrics)} differ from the window's "
                             f"{self._names}")
        else:
            self._sums = self._sums + values
        self._steps += 1
        self._images += images
        if self.bar is not None:
            self.bar.advance()

    def train(self, step: int) -> dict[str, float]:
        """Write the means since the last call (and images per second); returns them."""
        sums = [] if self._sums is None else self._sums.tolist()  # waits for the device
        means = {k: v / max(self._steps, 1) for k, v in zip(self._names, sums, strict=True)}
        means["img_per_s"] = self._images / (time.perf_counter() - self._t0)
        for sink in self.sinks:
            sink.write(step, "train", means)
        self._reset()
        return means

    def val(self, step: int, metrics: dict[str, float]) -> None:
        for sink in self.sinks:
            sink.write(step, "val", metrics)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
