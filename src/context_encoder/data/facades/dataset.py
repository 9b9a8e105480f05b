"""The facades as a torch ``Dataset`` of tensors in [-1, 1]."""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from .render import DEFAULT_LENGTH, check_size, check_split, flip_for, render_chw

__all__ = ["FacadesDataset"]

logger = logging.getLogger(__name__)


class FacadesDataset(Dataset):
    """Procedural facades as 3xHxW float tensors in [-1, 1] (``x / 127.5 - 1``).

    Args:
        split: ``"train"`` or ``"val"``; the splits never share an image.
        size: image side in pixels.
        length: number of items (default 100 000 for train, 500 for val).
        flip: random horizontal flip, itself a deterministic function of (split, index)
            (default on for train, off for val).
    """

    def __init__(self, split: str = "train", size: int = 128, length: int | None = None,
                 flip: bool | None = None) -> None:
        self.split_id = check_split(split)
        self.split = split
        self.size = check_size(size)
        self.length = DEFAULT_LENGTH[split] if length is None else int(length)
        if self.length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        self.flip = (split == "train") if flip is None else bool(flip)
        logger.debug("FacadesDataset(split=%s, size=%d, length=%d, flip=%s)",
                     split, self.size, self.length, self.flip)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        i = int(index)
        if i < 0:
            i += self.length
        if not 0 <= i < self.length:
            raise IndexError(f"index {index} out of range for {self.length} facades")
        chw = render_chw(self.split_id, i, self.size)
        if self.flip and flip_for(self.split_id, i):
            chw = chw[:, :, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(chw)).float()
        return t.div_(127.5).sub_(1.0)

    def __repr__(self) -> str:
        return (f"FacadesDataset(split={self.split!r}, size={self.size}, "
                f"length={self.length}, flip={self.flip})")
