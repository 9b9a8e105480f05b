"""Brush-stroke masks: DeepFill v2 free-form strokes (Yu et al., ICCV 2019) and the LaMa
evaluation settings thin / medium / thick (Suvorov et al., WACV 2022)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ._common import (
    Size,
    _as_size,
    _check_frac_range,
    _check_int_range,
    _check_rng,
    _draw_box,
    _draw_polyline,
    _side_scale,
)

# --------------------------------------------------------------------------------------------
# DeepFill v2 free-form strokes

_FREEFORM_MEAN_ANGLE = 2.0 * math.pi / 5.0
_FREEFORM_ANGLE_RANGE = 2.0 * math.pi / 15.0


def freeform_mask(
    size: Size,
    rng: np.random.Generator,
    *,
    min_strokes: int = 1,
    max_strokes: int = 3,
    min_vertex: int = 4,
    max_vertex: int = 12,
    min_width: int | None = None,
    max_width: int | None = None,
    add_box: bool = True,
    box_min_frac: float = 0.1,
    box_max_frac: float = 0.4,
) -> np.ndarray:
    """DeepFill v2 free-form brush strokes (Yu et al., "Free-Form Image Inpainting with Gated
    Convolution", 2019), optionally OR'd with one random box.

    ``min_strokes..max_strokes`` strokes; each has ``min_vertex..max_vertex`` vertices from a
    uniform random start. Segment directions zig-zag as in DeepFill (alternating turns of
    ``2*pi/5 +- 2*pi/15``) around a random per-stroke rotation; segment lengths are
    ``N(r, r/2)`` clipped to ``[0, 2r]`` with ``r = sqrt(H^2 + W^2) / 8``; vertices are clipped
    to the image. The brush width is uniform in ``[min_width, max_width]``, by default
    ``[12, 40]`` px at 256 px scaled linearly (``[6, 20]`` at 128 px). Segments are drawn with
    round joints. With ``add_box``, a box with side fractions in ``[box_min_frac,
    box_max_frac]`` is added.
    """
    h, w = _as_size(size)
    rng = _check_rng(rng)
    _check_int_range("strokes", min_strokes, max_strokes, minimum=0)
    _check_int_range("vertex", min_vertex, max_vertex, minimum=2)
    scale = _side_scale(h, w)
    lo_w = max(1, round(12 * scale)) if min_width is None else int(min_width)
    hi_w = max(lo_w, round(40 * scale)) if max_width is None else int(max_width)
    _check_int_range("width", lo_w, hi_w, minimum=1)
    if add_box:
        _check_frac_range("box side", box_min_frac, box_max_frac)
    if max_strokes == 0 and not add_box:
        raise ValueError("freeform_mask with max_strokes=0 and add_box=False would be empty")

    radius = math.hypot(h, w) / 8.0
    canvas = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(min_strokes, max_strokes + 1))):
        n_vertex = int(rng.integers(min_vertex, max_vertex + 1))
        width = int(rng.integers(lo_w, hi_w + 1))
        a_min = _FREEFORM_MEAN_ANGLE - rng.uniform(0.0, _FREEFORM_ANGLE_RANGE)
        a_max = _FREEFORM_MEAN_ANGLE + rng.uniform(0.0, _FREEFORM_ANGLE_RANGE)
        rotation = rng.uniform(0.0, 2.0 * math.pi)
        x, y = float(rng.integers(0, w)), float(rng.integers(0, h))
        points = [(int(x), int(y))]
        for i in range(n_vertex - 1):
            turn = rng.uniform(a_min, a_max)
            angle = rotation + (2.0 * math.pi - turn if i % 2 == 0 else turn)
            length = float(np.clip(rng.normal(radius, radius / 2.0), 0.0, 2.0 * radius))
            x = float(np.clip(x + length * math.cos(angle), 0, w - 1))
            y = float(np.clip(y + length * math.sin(angle), 0, h - 1))
            points.append((round(x), round(y)))
        _draw_polyline(canvas, points, width)
    if add_box:
        fh, fw = rng.uniform(box_min_frac, box_max_frac, size=2)
        _draw_box(canvas, rng, round(fh * h), round(fw * w))
    if not canvas.any():  # only possible with min_strokes=0 and no box drawn
        canvas[int(rng.integers(0, h)), int(rng.integers(0, w))] = 1
    return canvas.astype(bool)


# --------------------------------------------------------------------------------------------
# LaMa evaluation masks (thin / medium / thick)


@dataclass(frozen=True)
class _LamaPreset:
    """A LaMa irregular-mask setting at 256 px: (min, max) ranges, sizes in pixels."""

    strokes: tuple[int, int]
    segments: tuple[int, int]
    width: tuple[int, int]
    length: tuple[int, int]
    boxes: tuple[int, int]
    box_side: tuple[int, int]


_LAMA_PRESETS: dict[str, _LamaPreset] = {
    "thin": _LamaPreset(
        strokes=(4, 50),
        segments=(1, 5),
        width=(4, 10),
        length=(10, 40),
        boxes=(0, 0),
        box_side=(0, 0),
    ),
    "medium": _LamaPreset(
        strokes=(4, 5),
        segments=(1, 5),
        width=(5, 50),
        length=(10, 100),
        boxes=(0, 3),
        box_side=(10, 50),
    ),
    "thick": _LamaPreset(
        strokes=(1, 5),
        segments=(1, 5),
        width=(10, 100),
        length=(10, 200),
        boxes=(0, 3),
        box_side=(30, 150),
    ),
}

_LAMA_RETRIES = 100


def _lama_draw(h: int, w: int, rng: np.random.Generator, p: _LamaPreset) -> np.ndarray:
    scale = _side_scale(h, w)

    def scaled(lo_hi: tuple[int, int]) -> tuple[int, int]:
        lo = max(1, round(lo_hi[0] * scale))
        return lo, max(lo, round(lo_hi[1] * scale))

    w_lo, w_hi = scaled(p.width)
    l_lo, l_hi = scaled(p.length)
    canvas = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(p.strokes[0], p.strokes[1] + 1))):
        width = int(rng.integers(w_lo, w_hi + 1))
        x, y = float(rng.integers(0, w)), float(rng.integers(0, h))
        points = [(int(x), int(y))]
        for _ in range(int(rng.integers(p.segments[0], p.segments[1] + 1))):
            angle = rng.uniform(0.0, 2.0 * math.pi)
            length = rng.uniform(l_lo, l_hi)
            x = float(np.clip(x + length * math.cos(angle), 0, w - 1))
            y = float(np.clip(y + length * math.sin(angle), 0, h - 1))
            points.append((round(x), round(y)))
        _draw_polyline(canvas, points, width)
    if p.boxes[1] > 0:
        b_lo, b_hi = scaled(p.box_side)
        for _ in range(int(rng.integers(p.boxes[0], p.boxes[1] + 1))):
            bh, bw = rng.integers(b_lo, b_hi + 1, size=2)
            _draw_box(canvas, rng, int(bh), int(bw))
    return canvas


def _lama_mask(size: Size, rng: np.random.Generator, preset: str, max_cover: float) -> np.ndarray:
    h, w = _as_size(size)
    rng = _check_rng(rng)
    if not 0.0 < max_cover <= 1.0:
        raise ValueError(f"max_cover must be in (0, 1], got {max_cover}")
    p = _LAMA_PRESETS[preset]
    limit = max_cover * h * w
    for _ in range(_LAMA_RETRIES):
        canvas = _lama_draw(h, w, rng, p)
        count = int(np.count_nonzero(canvas))
        if 0 < count <= limit:
            return canvas.astype(bool)
    # Practically unreachable: fall back to a single minimal dot, which is never empty and
    # never above max_cover for sizes >= 8.
    canvas = np.zeros((h, w), dtype=np.uint8)
    cv2.circle(canvas, (int(rng.integers(0, w)), int(rng.integers(0, h))), 1, 1, thickness=-1)
    return canvas.astype(bool)


def thin_mask(size: Size, rng: np.random.Generator, *, max_cover: float = 0.5) -> np.ndarray:
    """LaMa "thin" setting (at 256 px, scaled by ``sqrt(H*W)/256``): 4-50 polyline strokes of
    1-5 segments, brush width 4-10 px, segment length 10-40 px; no boxes.

    Redrawn (bounded) while the hole is empty or covers more than ``max_cover``.
    """
    return _lama_mask(size, rng, "thin", max_cover)


def medium_mask(size: Size, rng: np.random.Generator, *, max_cover: float = 0.5) -> np.ndarray:
    """LaMa "medium" setting (at 256 px, scaled): 4-5 polyline strokes of 1-5 segments, brush
    width 5-50 px, segment length 10-100 px, plus 0-3 boxes with sides 10-50 px.

    Redrawn (bounded) while the hole is empty or covers more than ``max_cover``.
    """
    return _lama_mask(size, rng, "medium", max_cover)


def thick_mask(size: Size, rng: np.random.Generator, *, max_cover: float = 0.5) -> np.ndarray:
    """LaMa "thick" setting (at 256 px, scaled): 1-5 polyline strokes of 1-5 segments, brush
    width 10-100 px, segment length 10-200 px, plus 0-3 boxes with sides 30-150 px.

    Redrawn (bounded) while the hole is empty or covers more than ``max_cover``.
    """
    return _lama_mask(size, rng, "thick", max_cover)

