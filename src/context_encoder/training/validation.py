"""Validation during training: fixed masks, hole metrics on the validation images (for a
sketch-guided model, with and without the true edges as the sketch), and the sample grids
(masked input / output / truth) saved beside the checkpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..config import ModelConfig
from ..io.images import save_image
from ..masks import get_mask_generator
from ..sketch import sketch_batch

__all__ = ["fixed_masks", "hole_edges", "save_grid", "validate"]

#: Validation images per forward pass.
CHUNK = 50
#: Images per row of a sample grid (the first ``GRID_COLUMNS`` validation images).
GRID_COLUMNS = 8

Predict = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def fixed_masks(kind: str, config: ModelConfig, count: int, seed: int) -> torch.Tensor:
    """Deterministic validation masks (count, 1, S, S); for ``center`` the blanked square
    of ``config``."""
    size = config.image_size
    gen = (get_mask_generator(kind, overlap=config.overlap) if kind == "center"
           else get_mask_generator(kind))
    rng = np.random.default_rng([seed, 13])
    return torch.from_numpy(np.stack([gen((size, size), rng) for _ in range(count)])).float()[:, None]


def hole_edges(images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """The true edges of the hidden region as a sketch: every stroke that a training
    sketch (:func:`context_encoder.sketch.sketch_batch`) may hold, none dropped or cut.
    ``images`` (B, 3, S, S) in [-1, 1], ``holes`` (B, 1, S, S); returns (B, 1, S, S)."""
    rng = np.random.default_rng(0)  # unused: nothing is drawn at keep=1, p_empty=0, cut=0
    return sketch_batch(images, holes, rng, keep=1.0, p_empty=0.0, cut=0.0)


@torch.no_grad()
def validate(predict: Predict, images: torch.utils.data.Dataset, masks: torch.Tensor,
             device: torch.device, fill: torch.Tensor, *, sketch: bool = False
             ) -> tuple[dict[str, float], torch.Tensor]:
    """Mean hole metrics of ``predict`` over the first ``len(masks)`` of ``images``, and a
    grid batch (masked inputs, outputs, truths of the first images) on the CPU.

    ``predict(real, mask, sketch=None) -> (composited output, hole mask)``; ``fill``:
    (1, 3, 1, 1). With ``sketch`` (a sketch-guided model) the metrics without a sketch keep
    their names (``psnr``, ...), those with the true edges of the hole as the sketch
    (:func:`hole_edges`) get a ``_sketch`` suffix (``psnr_sketch``, ...), and the grid
    shows the sketch on the inputs and the output it guided below the one without.
    """
    from ..metrics import torch_hole_metrics

    n = len(masks)
    totals: dict[str, float] = {}
    grid_rows: list[torch.Tensor] = []
    for i in range(0, n, CHUNK):
        real = torch.stack([images[j] for j in range(i, min(n, i + CHUNK))]).to(device)
        mask = masks[i : i + len(real)].to(device)
        out, hole = predict(real, mask)
        runs = [("", out)]
        if sketch:
            edges = hole_edges(real, mask)
            runs.append(("_sketch", predict(real, mask, edges)[0]))
        for suffix, result in runs:
            for k, v in torch_hole_metrics(result, real, hole.bool()).items():
                totals[k + suffix] = totals.get(k + suffix, 0.0) + v * len(real)
        if i == 0:
            k = GRID_COLUMNS
            shown = real[:k] * (1 - hole[:k]) + fill * hole[:k]
            if sketch:
                shown = torch.maximum(shown, edges[:k] * 2 - 1)  # strokes in white
            grid_rows = [shown, *(result[:k] for _, result in runs), real[:k]]
    return {k: v / n for k, v in totals.items()}, torch.cat(grid_rows).cpu()


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = GRID_COLUMNS) -> Path:
    """Save (N, 3, H, W) images in [-1, 1] as a PNG grid, ``nrow`` per row, 1 px white
    border around each image (written atomically)."""
    n, _, h, w = images.shape
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + 2), nrow * (w + 2), 3), 255, dtype=np.uint8)
    arr = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = arr[i]
    return save_image(grid, path)
