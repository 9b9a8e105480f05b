"""The per-building style: one draw of window grid, window look and colours per building.

Every facade draws a ``BuildingStyle`` first and keeps it for all its floors, so the windows
repeat across the picture. The ranges below are fractions (of the floor height, the bay
width or the window width, as each comment says) or pixel values at the target size; the
``*_P`` constants are probabilities per building.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import palette
from .canvas import F32
from .draws import Draws, choose, pick_color

__all__ = ["BuildingStyle", "WindowDecoration", "make_style"]


class WindowDecoration(IntEnum):
    """What sits above a square-topped window (an arched one has its moulding instead)."""

    PLAIN = 0
    LINTEL = 1  # a stone band
    PEDIMENT = 2  # a stone triangle


# the window grid
FLOORS_IN_VIEW = (2.0, 5.0)  # the picture's height, in floors
BAY_WIDTH = (0.55, 1.05)  # window-to-window distance, of the floor height
WINDOW_WIDTH_MIN = 0.36  # of the bay width
WINDOW_WIDTH_MAX = 0.66  # of the bay width ...
WINDOW_WIDTH_MAX_SHUTTERED = 0.48  # ... narrower with shutters, which open beside the window
WINDOW_TOP = (0.14, 0.34)  # from the floor's top line down to the window, of the floor height
WINDOW_HEIGHT_MIN = 0.42  # of the floor height
WINDOW_BOTTOM_DRAWN_MAX = 0.80  # the drawn height ends at most this far down the floor ...
WINDOW_MIN_ASPECT = 0.9  # ... then the window is made at least this tall for its width ...
WINDOW_BOTTOM_MAX = 0.86  # ... but never ends lower than this
FRAME_WIDTH = (0.05, 0.13)  # of the window width

# the window's look
SHUTTERS_P = 0.35
ARCHED_P = 0.28  # for windows at least ARCH_MIN_ASPECT times as tall as wide
ARCH_MIN_ASPECT = 0.9
ARCH_RISE = (0.45, 1.0)  # of half the window width
DECORATION_P = {WindowDecoration.PLAIN: 0.45, WindowDecoration.LINTEL: 0.35,
                WindowDecoration.PEDIMENT: 0.2}
SILL_P = 0.8
VERTICAL_BAR_P = 0.7  # a vertical glazing bar down the middle
HORIZONTAL_BARS_P = {0: 0.45, 1: 0.35, 2: 0.2}  # how many horizontal glazing bars
GLASS_GRADIENT = (8, 45)  # sky reflection: glass this much lighter at the top than the bottom
STREAK_P = 0.4  # a diagonal reflection streak across the glass ...
STREAK = (15, 40)  # ... this much lighter
BLINDS_P = 0.5  # some windows have a blind pulled down ...
BLIND_SHARE = (0.05, 0.45)  # ... this share of them, drawn floor by floor

# stone dressings (sills, lintels, cornice, string courses): the wall made lighter, or ashlar
STONE_LIGHTER = (1.05, 1.2)  # times the wall colour, plus STONE_LIFT, at most STONE_MAX
STONE_LIFT = 18
STONE_MAX = 250
STONE_ASHLAR_P = 0.35


@dataclass(frozen=True)
class BuildingStyle:
    """Per-building drawing parameters (pixel quantities at the target size; colours (3,))."""

    floor_height: float
    bay_width: float
    bay_offset: float  # x of the first bay's left edge: the grid's horizontal phase
    window_width: int
    window_height: int
    window_top: int  # from a floor's top line down to its windows' top
    frame_width: int
    wall_color: np.ndarray
    stone_color: np.ndarray
    frame_color: np.ndarray
    glass_color: np.ndarray
    shutter_color: np.ndarray | None  # None: no shutters
    arched: bool
    arch_height: int  # 0 unless arched
    decoration: WindowDecoration
    sill: bool
    vertical_bar: bool
    horizontal_bars: int
    glass_gradient: float
    streak: float  # 0: no streak
    blind_share: float  # 0: no blinds


def make_style(rng: Draws, size: int, wall_color: np.ndarray) -> BuildingStyle:
    """Draw one building's style for a picture ``size`` px high."""
    floor_height = size / rng.uniform(*FLOORS_IN_VIEW)
    bay_width = floor_height * rng.uniform(*BAY_WIDTH)
    shutters = rng.random() < SHUTTERS_P
    width_max = WINDOW_WIDTH_MAX_SHUTTERED if shutters else WINDOW_WIDTH_MAX
    window_width = max(4, round(bay_width * rng.uniform(WINDOW_WIDTH_MIN, width_max)))
    top = rng.uniform(*WINDOW_TOP)
    window_height = max(5, round(floor_height * rng.uniform(WINDOW_HEIGHT_MIN,
                                                            WINDOW_BOTTOM_DRAWN_MAX - top)))
    window_height = max(window_height, round(window_width * WINDOW_MIN_ASPECT))
    window_height = min(window_height, round(floor_height * (WINDOW_BOTTOM_MAX - top)))
    frame_width = max(1, round(window_width * rng.uniform(*FRAME_WIDTH)))
    arched = rng.random() < ARCHED_P and window_height >= window_width * ARCH_MIN_ASPECT
    arch_height = max(2, round(window_width / 2 * rng.uniform(*ARCH_RISE))) if arched else 0
    stone_color = np.minimum(wall_color * F32(rng.uniform(*STONE_LIGHTER)) + F32(STONE_LIFT),
                             F32(STONE_MAX))
    if rng.random() < STONE_ASHLAR_P:
        stone_color = pick_color(rng, palette.ASHLAR, 0.04)
    # the keyword arguments are evaluated top to bottom: keep their order, it is the draw order
    return BuildingStyle(
        floor_height=floor_height,
        bay_width=bay_width,
        bay_offset=rng.uniform(0, bay_width),
        window_width=window_width,
        window_height=window_height,
        window_top=round(floor_height * top),
        frame_width=frame_width,
        wall_color=wall_color,
        stone_color=stone_color,
        frame_color=pick_color(rng, palette.FRAME, 0.06),
        glass_color=pick_color(rng, palette.GLASS, 0.12),
        shutter_color=pick_color(rng, palette.SHUTTER, 0.1) if shutters else None,
        arched=arched,
        arch_height=arch_height,
        decoration=choose(rng, DECORATION_P),
        sill=rng.random() < SILL_P,
        vertical_bar=rng.random() < VERTICAL_BAR_P,
        horizontal_bars=choose(rng, HORIZONTAL_BARS_P),
        glass_gradient=float(rng.uniform(*GLASS_GRADIENT)),
        streak=float(rng.uniform(*STREAK)) if rng.random() < STREAK_P else 0.0,
        blind_share=float(rng.uniform(*BLIND_SHARE)) if rng.random() < BLINDS_P else 0.0,
    )
