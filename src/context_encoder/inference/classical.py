"""A classical method (:mod:`context_encoder.baselines`) behind the inpainter interface."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..baselines import get_baseline
from ..pixels import to_rgb01, to_uint8
from .base import InpainterBase

__all__ = ["BaselineInpainter"]


class BaselineInpainter(InpainterBase):
    """A classical method (``"mean"``, ``"telea"``, ``"ns"``, ``"biharmonic"``,
    ``"patchmatch"`` from :mod:`context_encoder.baselines`, or any
    ``fn(uint8 HxWx3, bool HxW) -> uint8 HxWx3``) behind the :class:`Inpainter` interface.
    Images are handed to the method as 8-bit RGB and converted back."""

    def __init__(self, method: str | Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        if isinstance(method, str):
            self.name = method
            self.method = get_baseline(method)
        else:
            self.name = getattr(method, "__name__", "custom")
            self.method = method

    def __repr__(self) -> str:
        return f"BaselineInpainter({self.name!r})"

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, mask in zip(images, masks, strict=True):
            u8 = to_uint8(to_rgb01(img))
            res = np.asarray(self.method(u8, mask))
            if res.shape != u8.shape:
                raise ValueError(f"method {self.name!r} returned shape {res.shape}, "
                                 f"expected {u8.shape}")
            out.append(res.astype(np.float32) / 255.0)
        return out
