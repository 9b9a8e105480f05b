"""The wall behind everything: plaster, brick or ashlar, filling the whole picture."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from . import palette
from .canvas import F32, pixel, smooth_noise
from .draws import Draws

__all__ = ["WALL_KIND_P", "WALL_PALETTE", "WallKind", "wall_texture"]


class WallKind(IntEnum):
    PLASTER = 0
    BRICK = 1
    ASHLAR = 2  # large stone blocks


WALL_KIND_P = {WallKind.PLASTER: 0.5, WallKind.BRICK: 0.28, WallKind.ASHLAR: 0.22}
WALL_PALETTE = {WallKind.PLASTER: palette.PLASTER, WallKind.BRICK: palette.BRICK,
                WallKind.ASHLAR: palette.ASHLAR}

_TONE_ROWS, _TONE_COLS = 17, 19  # block tones: a table repeating every 17 courses, 19 blocks


def wall_texture(rng: Draws, h: int, w: int, floor_height: float, kind: WallKind,
                 base: np.ndarray) -> np.ndarray:
    """Full-image wall (3, h, w) around the colour ``base``, with a soft mottling."""
    mottle = smooth_noise(rng, h, w, rng.integers(4, 9))
    mottle_amp = F32(rng.uniform(0.015, 0.05))
    if kind == WallKind.PLASTER:
        fine = smooth_noise(rng, h, w, max(4, max(h, w) // 6))
        shade = 1.0 + mottle_amp * mottle + F32(rng.uniform(0.008, 0.025)) * fine
        return pixel(base) * shade[None]
    if kind == WallKind.BRICK:
        block_h = max(3, round(floor_height / rng.uniform(8.0, 13.0)))
        block_w = max(5, round(block_h * rng.uniform(2.0, 2.7)))
        tone_spread = rng.uniform(0.05, 0.12)
        mortar: np.ndarray | None = (np.full(3, rng.uniform(150, 200), F32)
                                     * rng.uniforms(0.96, 1.04, 3))
    else:  # ashlar: no mortar colour, the joints are a shade darker
        block_h = max(4, round(floor_height / rng.uniform(3.0, 5.0)))
        block_w = max(8, round(block_h * rng.uniform(1.6, 2.6)))
        tone_spread = rng.uniform(0.02, 0.05)
        mortar = None
    out = _blocks(rng, h, w, block_h, block_w, tone_spread, base, mortar)
    out *= (1.0 + mottle_amp * mottle)[None]
    return out


def _blocks(rng: Draws, h: int, w: int, block_h: int, block_w: int, tone_spread: float,
            base: np.ndarray, mortar: np.ndarray | None) -> np.ndarray:
    """Courses of blocks ``block_h`` x ``block_w``, every other course shifted by half a
    block, each block's tone varied by about ``tone_spread``; joints in ``mortar`` or, if
    None, the block darkened."""
    offset_y, offset_x = rng.integers(0, 64), rng.integers(0, 64)
    ys = np.arange(offset_y, offset_y + h)
    xs = np.arange(offset_x, offset_x + w)
    half = block_w // 2
    tones = (1.0 + tone_spread * rng.gen.standard_normal((_TONE_ROWS, _TONE_COLS))).astype(F32)
    # every course's colours for both parities (odd courses shifted by half a block)
    courses = np.stack([tones[:, (xs // block_w) % _TONE_COLS],
                        tones[:, ((xs + half) // block_w) % _TONE_COLS]])
    colors = base[:, None, None, None] * courses[None]  # (3, 2, 17, w)
    for parity, vertical_joint in enumerate(((xs % block_w) == 0,
                                             ((xs + half) % block_w) == 0)):
        sub = colors[:, parity]
        if mortar is None:
            sub[:, :, vertical_joint] *= F32(0.82)
        else:
            sub[:, :, vertical_joint] = mortar[:, None, None]
    course = ys // block_h
    out = colors[:, course % 2, course % _TONE_ROWS]  # (3, h, w)
    horizontal_joint = (ys % block_h) == 0
    if mortar is None:
        out[:, horizontal_joint] *= F32(0.82)
    else:
        out[:, horizontal_joint] = mortar[:, None, None]
    return out
