"""Helpers shared by the mask generators: size and rng checks, drawing primitives."""

from __future__ import annotations

import math

import cv2
import numpy as np

Size = int | tuple[int, int]

_MIN_SIDE = 8
_REFERENCE_SIDE = 256.0  # DeepFill / LaMa parameters are specified at 256 px

# --------------------------------------------------------------------------------------------
# helpers


def _as_size(size: Size) -> tuple[int, int]:
    """Normalise ``size`` to ``(H, W)`` and check both sides are integers >= 8."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        h = w = int(size)
    else:
        try:
            h, w = size  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or an (H, W) pair, got {size!r}") from None
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (h, w)):
            raise ValueError(f"size must hold integers, got {size!r}")
        h, w = int(h), int(w)
    if h < _MIN_SIDE or w < _MIN_SIDE:
        raise ValueError(f"mask size must be at least {_MIN_SIDE}x{_MIN_SIDE}, got {h}x{w}")
    return h, w


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _check_int_range(name: str, lo: int, hi: int, *, minimum: int) -> None:
    if lo < minimum:
        raise ValueError(f"min_{name} must be >= {minimum}, got {lo}")
    if lo > hi:
        raise ValueError(f"min_{name} ({lo}) must not exceed max_{name} ({hi})")


def _check_frac_range(name: str, lo: float, hi: float) -> None:
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"{name} fractions must satisfy 0 < min <= max <= 1, got [{lo}, {hi}]")


def _side_scale(h: int, w: int) -> float:
    """Linear scale from the 256 px reference to an ``h x w`` image (geometric mean side)."""
    return math.sqrt(h * w) / _REFERENCE_SIDE


def _draw_box(canvas: np.ndarray, rng: np.random.Generator, bh: int, bw: int) -> None:
    """Fill a ``bh x bw`` rectangle (clipped to the canvas) at a uniform random position."""
    h, w = canvas.shape
    bh = int(min(max(bh, 1), h))
    bw = int(min(max(bw, 1), w))
    top = int(rng.integers(0, h - bh + 1))
    left = int(rng.integers(0, w - bw + 1))
    canvas[top : top + bh, left : left + bw] = 1


def _draw_polyline(canvas: np.ndarray, points: list[tuple[int, int]], width: int) -> None:
    """Draw a brush stroke through ``points`` (x, y) with round joints and caps."""
    radius = max(width // 2, 0)
    for p, q in zip(points[:-1], points[1:], strict=True):
        cv2.line(canvas, p, q, 1, thickness=max(width, 1), lineType=cv2.LINE_8)
    for p in points:
        cv2.circle(canvas, p, radius, 1, thickness=-1, lineType=cv2.LINE_8)

