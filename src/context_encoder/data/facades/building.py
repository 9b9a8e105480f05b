"""One building: the wall, the vertical layout, the periodic grid of windows with blinds,
string courses and balconies floor by floor, then the ground floor and the top."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import palette
from .canvas import F32, fill_rect, paste, shade_rect
from .draws import Draws, choose, pick_color
from .ground_floor import draw_ground_floor
from .roof import draw_top
from .sprites import Sprite, railing, window_row, window_sprite
from .style import BuildingStyle, make_style
from .walls import WALL_KIND_P, WALL_PALETTE, WallKind, wall_texture

__all__ = ["BalconyMode", "Framing", "draw_style", "render_building"]


class Framing(IntEnum):
    """Which part of the facade the picture shows (the street is always near the bottom)."""

    ROOF = 0  # the top: cornice and roof in view
    STREET = 1  # the bottom: the ground floor in view
    ANY = 2  # anywhere in between


class BalconyMode(IntEnum):
    NONE = 0
    EVERY_FLOOR = 1
    FEW_FLOORS = 2  # the second and the top floor (SECOND_AND_TOP_P), else the first
    RANDOM_FLOORS = 3  # each floor with probability BALCONY_FLOOR_P


FRAMING_P = {Framing.ROOF: 0.25, Framing.STREET: 0.25, Framing.ANY: 0.5}
STRING_COURSES_P = 0.45  # a stone band at every floor line
WINDOW_VARIANT_P = 0.7  # a second window variant, its glass lighter or darker
BALCONY_MODE_P = {BalconyMode.NONE: 0.35, BalconyMode.EVERY_FLOOR: 0.2,
                  BalconyMode.FEW_FLOORS: 0.3, BalconyMode.RANDOM_FLOORS: 0.15}
SECOND_AND_TOP_P = 0.6
BALCONY_FLOOR_P = 0.5
SEPARATE_BALCONIES_P = 0.5  # one balcony per window instead of one across the facade


@dataclass(frozen=True)
class _Layout:
    """Where the floors are, in rows of the picture (``*_y``: rows; heights in pixels)."""

    street_exact: float  # the top of the sidewalk before rounding; floor lines follow from it
    ground_floor_height: float
    upper_floors: int
    street_y: int
    ground_floor_y: int  # its top
    roof_y: int  # the top of the cornice


@dataclass(frozen=True)
class _UpperFloors:
    """What every upper floor of a building shares."""

    window_rows: list[Sprite]  # full-width rows of windows, one drawn per floor
    window_top: int  # the window's top row inside the row sprites
    course_height: int  # string courses at the floor lines; 0: none
    railing: Sprite | None
    balcony_floors: set[int]  # upper floors counted from 0 above the ground floor
    blind_color: np.ndarray
    blinds: bool


def render_building(rng: Draws, size: int, width: int | None = None) -> np.ndarray:
    """One building as a float32 (3, size, width) image (0..255); ``size`` sets the scale."""
    h = size
    w = size if width is None else width
    wall_kind, style = draw_style(rng, size)
    img = wall_texture(rng, h, w, style.floor_height, wall_kind, style.wall_color)
    layout = _vertical_layout(rng, style, size)
    bays = _bay_centers(style, w)
    floors = _upper_floors(rng, style, layout, bays, w)
    for k in range(layout.upper_floors):
        _draw_upper_floor(rng, img, style, layout, floors, bays, k)
    draw_ground_floor(rng, img, style, layout.ground_floor_y, layout.street_y, bays)
    draw_top(rng, img, style, layout.roof_y, bays)
    return img


def draw_style(rng: Draws, size: int) -> tuple[WallKind, BuildingStyle]:
    """A building's first draws: its wall kind and its style (``facades.attributes`` reads
    the labels from the same draws, so they are the picture's by construction)."""
    wall_kind = choose(rng, WALL_KIND_P)
    wall_color = pick_color(rng, WALL_PALETTE[wall_kind], 0.06)
    return wall_kind, make_style(rng, size, wall_color)


def _vertical_layout(rng: Draws, style: BuildingStyle, size: int) -> _Layout:
    """Street level, ground floor, upper floors, cornice. The facade is at least 3/4 of the
    picture high; the street lies between 93% of the height down and where it puts the
    cornice 28% of the height down, the framing deciding where in that range."""
    floor_h = style.floor_height
    ground_h = floor_h * rng.uniform(1.1, 1.45)
    upper_floors = rng.integers(3, 7)
    while ground_h + upper_floors * floor_h < 0.75 * size:
        upper_floors += 1
    facade_h = ground_h + upper_floors * floor_h
    lo = 0.93 * size  # street at the very bottom ...
    hi = max(lo, facade_h + 0.28 * size)  # ... to the cornice at 28% of the height
    framing = choose(rng, FRAMING_P)
    if framing == Framing.ROOF:
        street = rng.uniform(max(lo, min(facade_h, hi) - 0.05 * size), hi)
    elif framing == Framing.STREET:
        street = rng.uniform(lo, min(hi, max(lo, size + 0.6 * ground_h)))
    else:
        street = rng.uniform(lo, hi)
    return _Layout(street_exact=street, ground_floor_height=ground_h,
                   upper_floors=upper_floors, street_y=round(street),
                   ground_floor_y=round(street - ground_h), roof_y=round(street - facade_h))


def _bay_centers(style: BuildingStyle, width: int) -> list[float]:
    """The x of every window column: a periodic grid with a random horizontal phase, one
    bay past each edge of the picture."""
    first = int(np.floor(-style.bay_offset / style.bay_width)) - 1
    last = int(np.ceil((width - style.bay_offset) / style.bay_width)) + 1
    return [style.bay_offset + (j + 0.5) * style.bay_width for j in range(first, last)]


def _upper_floors(rng: Draws, style: BuildingStyle, layout: _Layout, bays: list[float],
                  width: int) -> _UpperFloors:
    """Draw what every upper floor shares: string courses, window rows, balconies, blinds."""
    courses = rng.random() < STRING_COURSES_P
    course_h = max(1, round(style.floor_height * rng.uniform(0.04, 0.08)))
    window_rows, window_top = _window_rows(rng, style, bays, width)
    rail, balcony_floors = _balconies(rng, style, layout.upper_floors, bays, width)
    return _UpperFloors(
        window_rows=window_rows, window_top=window_top, course_height=course_h if courses else 0,
        railing=rail, balcony_floors=balcony_floors,
        blind_color=pick_color(rng, palette.BLIND, 0.05),
        blinds=style.blind_share > 0 and not style.arched,
    )


def _window_rows(rng: Draws, style: BuildingStyle, bays: list[float],
                 width: int) -> tuple[list[Sprite], int]:
    """One or two window variants, mixed at random into as many full-width rows; and the
    window's top row inside them."""
    window = window_sprite(style)
    variants = [Sprite(window.prem, window.alpha)]
    if rng.random() < WINDOW_VARIANT_P:
        delta = F32(rng.uniform(-22, 22))
        variants.append(Sprite(window.prem + (window.glass * window.alpha)[None] * delta,
                               window.alpha))
    lefts = [round(center - style.window_width / 2) - window.left for center in bays]
    rows = [window_row(variants, lefts, [rng.integers(len(variants)) for _ in lefts], width)
            for _ in range(len(variants))]
    return rows, window.top


def _balconies(rng: Draws, style: BuildingStyle, upper_floors: int, bays: list[float],
               width: int) -> tuple[Sprite | None, set[int]]:
    """The balcony strip (None: no balconies) and the upper floors that have it."""
    mode = choose(rng, BALCONY_MODE_P)
    rail = railing(rng, style, width) if mode != BalconyMode.NONE else None
    floors: set[int] = set()
    if mode == BalconyMode.EVERY_FLOOR:
        floors = set(range(upper_floors))
    elif mode == BalconyMode.FEW_FLOORS:
        floors = {1, upper_floors - 1} if rng.random() < SECOND_AND_TOP_P else {0}
    elif mode == BalconyMode.RANDOM_FLOORS:
        floors = {k for k in range(upper_floors) if rng.random() < BALCONY_FLOOR_P}
    if rail is not None and rng.random() < SEPARATE_BALCONIES_P:
        overhang = max(1, round(style.window_width * 0.15))
        keep = np.zeros(width, bool)
        for center in bays:
            x0 = round(center - style.window_width / 2) - overhang
            keep[max(x0, 0):max(x0 + style.window_width + 2 * overhang, 0)] = True
        rail = Sprite(rail.prem * keep, rail.alpha * keep)
    return rail, floors


def _draw_upper_floor(rng: Draws, img: np.ndarray, style: BuildingStyle, layout: _Layout,
                      floors: _UpperFloors, bays: list[float], k: int) -> None:
    """Upper floor ``k`` (0 above the ground floor): string course, windows, blinds and
    balcony; nothing when it is outside the picture."""
    h, w = img.shape[1:]
    floor_h = style.floor_height
    top_exact = layout.street_exact - layout.ground_floor_height - (k + 1) * floor_h
    top = round(top_exact)
    if top >= h or top + floor_h + 1 < 0:
        return
    if floors.course_height:
        y = round(top_exact + floor_h)
        fill_rect(img, y - floors.course_height, y, 0, w, style.stone_color)
        shade_rect(img, y, y + 1, 0, w, 0.75)
    window_y = top + style.window_top
    row = floors.window_rows[rng.integers(len(floors.window_rows))]
    paste(img, window_y - floors.window_top, 0, row.prem, row.alpha)
    if floors.blinds:
        _draw_blinds(rng, img, style, bays, window_y, floors.blind_color)
    if floors.railing is not None and k in floors.balcony_floors:
        rail = floors.railing
        paste(img, window_y + style.window_height - rail.alpha.shape[0]
              + max(2, round(floor_h * 0.1)), 0, rail.prem, rail.alpha)


def _draw_blinds(rng: Draws, img: np.ndarray, style: BuildingStyle, bays: list[float],
                 window_y: int, color: np.ndarray) -> None:
    """Blinds pulled part of the way down in some of a floor's windows."""
    frame_w = style.frame_width
    inner_h = style.window_height - 2 * frame_w
    for center in bays:
        if rng.random() < style.blind_share:
            drawn = rng.uniform(0.15, 0.7)
            x = round(center - style.window_width / 2)
            fill_rect(img, window_y + frame_w, window_y + frame_w + round(inner_h * drawn),
                      x + frame_w, x + style.window_width - frame_w, color)
