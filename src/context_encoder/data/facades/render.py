"""A whole facade picture: a building, sometimes a neighbour at one side, lighting and grain;
the splits and the seeds that make every picture a function of (split, index, size)."""

from __future__ import annotations

import cv2
import numpy as np

from .building import render_building
from .canvas import F32, grain_field, pixel
from .draws import Draws

__all__ = [
    "DEFAULT_LENGTH", "FACADE_SPLITS", "MAX_SIZE", "MIN_SIZE", "check_size", "check_split", "flip_for", "render_chw",
    "render_facade",
]

FACADE_SPLITS: tuple[str, ...] = ("train", "val")

_SPLIT_ID = {"train": 0x7A1D, "val": 0x5A1E}  # the first word of every seed
_FLIP_STREAM = 0xF1  # the third word of the seed of an item's flip
DEFAULT_LENGTH = {"train": 100_000, "val": 500}
MIN_SIZE = 16
MAX_SIZE = 1024  # a 1024 px facade takes ~0.5 s to draw; larger ones are for a photo folder

NEIGHBOUR_P = 0.2  # a neighbouring building at one side ...
NEIGHBOUR_WIDTH = (0.12, 0.38)  # ... this share of the picture wide ...
NEIGHBOUR_LEFT_P = 0.5  # ... at the left, else at the right
_GRAIN_FIELD = 512  # the side of the grain field for pictures up to 256 px (else 2 * size)


def check_split(split: str) -> int:
    """The split's seed id; ValueError for an unknown split."""
    if split not in _SPLIT_ID:
        raise ValueError(f"unknown facade split {split!r}; expected one of {FACADE_SPLITS}")
    return _SPLIT_ID[split]


def check_size(size: int) -> int:
    """``size`` as an int; ValueError outside ``MIN_SIZE..MAX_SIZE``."""
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"facade size must be in {MIN_SIZE}..{MAX_SIZE}, got {size}")
    return size


def render_chw(split_id: int, index: int, size: int) -> np.ndarray:
    """The facade as uint8 (3, size, size)."""
    rng = Draws(np.random.default_rng([split_id, index]))
    img = render_building(rng, size)
    _add_neighbour(rng, img, size)
    _light(rng, img, size)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _add_neighbour(rng: Draws, img: np.ndarray, size: int) -> None:
    """Sometimes a strip of another building at one side, with a shadow along the joint."""
    if rng.random() >= NEIGHBOUR_P:
        return
    width = round(size * rng.uniform(*NEIGHBOUR_WIDTH))
    other = render_building(rng, size, width)
    edge = max(1, size // 64)
    if rng.random() < NEIGHBOUR_LEFT_P:
        img[:, :, :width] = other
        img[:, :, width:width + edge] *= F32(0.7)
    else:
        img[:, :, size - width:] = other
        img[:, :, size - width - edge:size - width] *= F32(0.7)


def _light(rng: Draws, img: np.ndarray, size: int) -> None:
    """Lighting (brightness, colour cast, linear gradient) and mild grain, in place."""
    gradient_y = F32(rng.uniform(-0.18, 0.18))
    gradient_x = F32(rng.uniform(-0.22, 0.22))
    ramp = np.linspace(-0.5, 0.5, size, dtype=F32)
    light = (1.0 + gradient_y * ramp)[:, None] + (gradient_x * ramp)[None, :]
    light *= F32(rng.uniform(0.78, 1.12))
    img *= light[None]
    img *= pixel(rng.uniforms(0.94, 1.06, 3))
    n = _GRAIN_FIELD if size <= 256 else 2 * size
    y, x = rng.integers(0, n - size + 1), rng.integers(0, n - size + 1)
    img += (grain_field(n)[y:y + size, x:x + size] * F32(rng.uniform(2.0, 5.0)))[None]


def render_facade(split: str, index: int, size: int = 128) -> np.ndarray:
    """HxWx3 uint8 RGB image, a deterministic function of (split, index, size)."""
    split_id = check_split(split)
    index = int(index)
    if index < 0:
        raise ValueError(f"facade index must be >= 0, got {index}")
    chw = render_chw(split_id, index, check_size(size))
    return cv2.merge([chw[0], chw[1], chw[2]])


def flip_for(split_id: int, index: int) -> bool:
    """The horizontal flip of item ``index``: a function of (split, index) only."""
    return bool(np.random.default_rng([split_id, index, _FLIP_STREAM]).integers(2))
