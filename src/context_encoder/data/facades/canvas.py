"""Pixel operations on the renderer's images: float32 (3, H, W), values 0..255.

Every rectangle is given as ``y0, y1, x0, x1`` (end exclusive) and may reach past the
image; only the part inside is drawn.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .draws import Draws

__all__ = [
    "F32", "clipped", "fill_rect", "grain_field", "paste", "pixel", "shade_rect", "smooth_noise",
]

F32 = np.float32  # every image and colour; scalars are cast to it so arrays stay float32

GRAIN_SEED = 20160627  # any fixed seed: every image crops the same grain field


def pixel(color: np.ndarray) -> np.ndarray:
    """A colour (3,) shaped (3, 1, 1) to broadcast over a (3, H, W) image."""
    return color[:, None, None]


def clipped(img: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray | None:
    """The view ``img[:, y0:y1, x0:x1]`` cut to the image, or None when nothing is inside."""
    h, w = img.shape[1:]
    y0, y1, x0, x1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if y1 > y0 and x1 > x0:
        return img[:, y0:y1, x0:x1]
    return None


def fill_rect(img: np.ndarray, y0: int, y1: int, x0: int, x1: int, color: np.ndarray) -> None:
    """Paint a rectangle in one colour (3,)."""
    region = clipped(img, y0, y1, x0, x1)
    if region is not None:
        region[:] = pixel(color)


def shade_rect(img: np.ndarray, y0: int, y1: int, x0: int, x1: int, factor: float) -> None:
    """Multiply a rectangle by ``factor`` (below 1 a shadow, above 1 a highlight)."""
    region = clipped(img, y0, y1, x0, x1)
    if region is not None:
        region *= F32(factor)


def paste(img: np.ndarray, y: int, x: int, prem: np.ndarray, alpha: np.ndarray) -> None:
    """Composite a premultiplied sprite (``prem`` (3,h,w), ``alpha`` (h,w)) at (y, x)."""
    h, w = img.shape[1:]
    sprite_h, sprite_w = alpha.shape
    y0, y1, x0, x1 = max(y, 0), min(y + sprite_h, h), max(x, 0), min(x + sprite_w, w)
    if y1 <= y0 or x1 <= x0:
        return
    region = img[:, y0:y1, x0:x1]
    region *= 1.0 - alpha[y0 - y:y1 - y, x0 - x:x1 - x]
    region += prem[:, y0 - y:y1 - y, x0 - x:x1 - x]


def smooth_noise(rng: Draws, h: int, w: int, cells: int) -> np.ndarray:
    """Low-frequency noise (about unit variance): a small random grid upscaled bilinearly."""
    cells = max(2, cells)
    cells_y = max(2, round(cells * h / max(w, 1)))
    small = rng.gen.standard_normal((cells_y, cells)).astype(F32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@lru_cache(maxsize=4)
def grain_field(n: int) -> np.ndarray:
    """A fixed ``n x n`` field of fine grain noise, cropped at a random offset per image."""
    field = np.random.default_rng(GRAIN_SEED).standard_normal((n, n)).astype(F32)
    field.setflags(write=False)
    return field
