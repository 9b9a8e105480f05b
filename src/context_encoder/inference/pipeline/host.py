"""The NumPy/OpenCV path of :class:`~context_encoder.inference.Inpainter`: the pixel work
before and after the generator on the host, image by image on a thread pool (OpenCV and
NumPy release the GIL), with only the generator on the device. It is the faster path on the
CPU (OpenCV's resampling and blur beat the batched torch operations of :mod:`.device`
there); :mod:`.device` computes the same outputs on an accelerator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ...config import ModelConfig
from ...masks import composite
from ...models import model_input
from ...runtime import usable_cores
from ..windows import (
    HoleGroup,
    WindowGeometry,
    crop_window,
    feather_seam,
    group_holes,
    paste_window,
    resize_any,
    resize_square,
    smooth_fill,
)

__all__ = ["HostPipeline", "Job", "host_pool"]

logger = logging.getLogger(__name__)


class _Serial:
    """Stands in for a thread pool where one thread is all there is to use."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def map(fn: Callable[..., Any], *its: Any) -> Iterator[Any]:
        return map(fn, *its)


def host_pool(n_items: int) -> Any:
    """Threads for per-image CPU work: up to one per core (at most 8), none for one item."""
    workers = min(n_items, usable_cores(), 8)
    return ThreadPoolExecutor(workers) if workers > 1 else _Serial()


@dataclass
class Job:
    """One window to run: which image, which group, the model input."""

    image: int
    group: HoleGroup
    x: np.ndarray  # S x S x 3 in [-1, 1]
    hole: np.ndarray | None  # S x S float, 1 = hole (full task only)
    context: np.ndarray  # S x S x 3 in [0, 1], the resized window
    sketch: np.ndarray | None = None  # S x S float, 1 = a stroke (sketch-guided only)


class HostPipeline:
    """Runs :class:`~context_encoder.inference.Inpainter` calls with the pixel work on the
    host. ``run_generator(x, hole, sketch)``: see :class:`~.device.DevicePipeline`."""

    #: The thread pool factory (one argument: the number of images); tests swap it.
    pool: Callable[[int], Any] = staticmethod(host_pool)

    def __init__(self, config: ModelConfig, geometry: WindowGeometry, device: torch.device,
                 run_generator: Callable[..., torch.Tensor]) -> None:
        self.config, self.geometry, self.device = config, geometry, device
        self.run_generator = run_generator

    def make_job(self, index: int, base: np.ndarray, mask: np.ndarray, g: HoleGroup,
                 sketch: np.ndarray | None = None) -> Job:
        """Crop (reflecting past the image), resize to S and build the model input."""
        S = self.config.image_size
        context = np.clip(resize_square(crop_window(base, g), S), 0.0, 1.0)
        x = context * 2.0 - 1.0
        if self.config.task == "full":
            m = resize_any(crop_window(mask, g), S)  # any overlap with the hole is hole
            x = model_input(x, self.config, m)
            # a model pixel is a stroke if any pixel of its footprint is: thin lines survive
            s = None if sketch is None else resize_any(crop_window(sketch, g), S)
            return Job(index, g, x.astype(np.float32), m, context, s)
        x = model_input(x, self.config)  # the blanked square
        return Job(index, g, x.astype(np.float32), None, context)

    def prepare(self, k: int, rgb: np.ndarray, mask: np.ndarray,
                sketch: np.ndarray | None = None) -> tuple[np.ndarray, list[Job]]:
        """Group one image's holes into windows and build their model inputs."""
        geo = self.geometry
        labels, groups = group_holes(mask, geo)
        for g in groups:
            geo.place(g, *mask.shape)
        # The push-pull fill only matters where hole pixels are seen as context; skipping it
        # elsewhere changes no output pixel (tests/test_inference.py checks this).
        smooth = any(geo.needs_smooth_context(mask, g) for g in groups)
        base = smooth_fill(rgb, mask) if smooth else rgb
        logger.debug("image %d: %d hole groups, windows %s", k, len(groups),
                     [g.side for g in groups])
        return labels, [self.make_job(k, base, mask, g, sketch) for g in groups]

    def generate(self, jobs: list[Job]) -> list[np.ndarray]:
        """Generator outputs as ``S x S x 3`` arrays in [0, 1] (whole window)."""
        c0, c1 = self.config.center_span
        x = torch.from_numpy(np.stack([j.x for j in jobs]))
        hole = sketch = None
        if self.config.task == "full":
            hole = torch.from_numpy(np.stack([j.hole for j in jobs]))
            if any(j.sketch is not None for j in jobs):
                blank = np.zeros_like(jobs[0].x[..., 0])
                sketch = torch.from_numpy(np.stack([blank if j.sketch is None else j.sketch
                                                    for j in jobs]))
        y = self.run_generator(x, hole, sketch).cpu().numpy()
        out: list[np.ndarray] = []
        for j, pred in zip(jobs, y, strict=True):
            if j.hole is not None:  # full task: prediction in the hole, context around
                out.append(composite(pred, j.context, j.hole[..., None]))
            else:  # center task: the predicted center pasted into the context
                full = j.context.copy()
                full[c0:c1, c0:c1] = pred
                out.append(full)
        return out

    def run(self, rgbs: list[np.ndarray], masks: list[np.ndarray],
            sketches: list[np.ndarray | None], stage: Callable[[str], Any],
            feather: int) -> list[np.ndarray]:
        """Float ``HxWx3`` predictions in [0, 1], valid in the hole pixels; ``stage(name)``:
        a context around each stage (timing); ``feather``: the seam blend's width."""
        # The per-image work before and after the generator (OpenCV and NumPy, which release
        # the GIL) runs on threads, so that a batch's host work uses several CPU cores.
        with self.pool(len(rgbs)) as pool:
            with stage("prepare"):
                prepared = list(pool.map(self.prepare, range(len(rgbs)), rgbs, masks,
                                         sketches))
            jobs = [job for _, image_jobs in prepared for job in image_jobs]
            with stage("generate"):
                outs = self.generate(jobs)
            preds = [np.zeros_like(rgb) for rgb in rgbs]
            with stage("paste"):
                list(pool.map(lambda job, out: paste_window(
                    preds[job.image], prepared[job.image][0], job.group, out), jobs, outs))
            with stage("feather"):
                return list(pool.map(
                    lambda rgb, mask, p: feather_seam(rgb, mask, np.clip(p, 0.0, 1.0), feather),
                    rgbs, masks, preds))
