"""Validation during training: fixed masks, hole metrics on the validation images, and the
sample grids (masked input / output / truth) saved beside the checkpoints."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..config import ModelConfig
from ..io.images import save_image
from ..masks import get_mask_generator

__all__ = ["fixed_masks", "save_grid", "validate"]

#: Validation images per forward pass.
CHUNK = 50
#: Images per row of a sample grid (the first ``GRID_COLUMNS`` validation images).
GRID_COLUMNS = 8

Predict = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def fixed_masks(kind: str, config: ModelConfig, count: int, seed: int) -> torch.Tensor:
    """Deterministic validation masks (count, 1, S, S); for ``center`` the blanked square
    of ``config``."""
    size = config.image_size
    gen = (get_mask_generator(kind, overlap=config.overlap) if kind == "center"
           else get_mask_generator(kind))
    rng = np.random.default_rng([seed, 13])
    return torch.from_numpy(np.stack([gen((size, size), rng) for _ in range(count)])).float()[:, None]


@torch.no_grad()
def validate(predict: Predict, images: torch.utils.data.Dataset, masks: torch.Tensor,
             device: torch.device, fill: torch.Tensor) -> tuple[dict[str, float], torch.Tensor]:
    """Mean hole metrics of ``predict`` over the first ``len(masks)`` of ``images``, and a
    grid batch (masked inputs, outputs, truths of the first images) on the CPU.

    ``predict(real, mask) -> (composited output, hole mask)``; ``fill``: (1, 3, 1, 1).
    """
    from ..metrics import torch_hole_metrics

    n = len(masks)
    totals: dict[str, float] = {}
    grid_rows: list[torch.Tensor] = []
    for i in range(0, n, CHUNK):
        real = torch.stack([images[j] for j in range(i, min(n, i + CHUNK))]).to(device)
        out, hole = predict(real, masks[i : i + len(real)].to(device))
        for k, v in torch_hole_metrics(out, real, hole.bool()).items():
            totals[k] = totals.get(k, 0.0) + v * len(real)
        if i == 0:
            k = GRID_COLUMNS
            shown = real[:k] * (1 - hole[:k]) + fill * hole[:k]
            grid_rows = [shown, out[:k], real[:k]]
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
