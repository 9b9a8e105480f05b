"""Drawing one facade: the ground floor, the top, the building, lighting; the splits and the
dataset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from . import palette
from .canvas import F32, fill_rect, grain_field, paste, pixel, shade_rect, smooth_noise
from .draws import Draws, choose, pick_color
from .sprites import Sprite, railing, window_row, window_sprite
from .style import BuildingStyle, make_style
from .walls import WALL_KIND_P, WALL_PALETTE, wall_texture

__all__ = ["FACADE_SPLITS", "FacadesDataset", "render_facade"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# ground floor


class GroundFloorWall(IntEnum):
    FACADE = 0  # the facade's own wall
    RUSTICATED = 1  # ashlar with horizontal grooves
    DARKER = 2  # the facade's wall, a shade darker


GROUND_FLOOR_WALL_P = {GroundFloorWall.FACADE: 0.4, GroundFloorWall.RUSTICATED: 0.35,
                       GroundFloorWall.DARKER: 0.25}
SHOPS_P = 0.55  # a street of shops; else doors and barred windows
SHOP_P = 0.8  # on a street of shops, the share of bays with a shop front ...
WIDE_SHOP_P = 0.35  # ... two bays wide
DOOR_P = 0.4  # the share of the other bays with a door (else a barred window) ...
DOOR_P_AMONG_SHOPS = 0.7  # ... and on a street of shops
OWN_FRAME_P = 0.5  # shop fronts framed in a colour of their own, else the windows' frame colour
AWNINGS_P = 0.45  # a building's shops have awnings ...
AWNING_SHARE = (0.3, 1.0)  # ... this share of them
AWNING_STRIPES_P = 0.5
LETTERING_P = 0.5  # lettering on a shop's sign


@dataclass(frozen=True)
class _GroundFloor:
    """Where a building's ground floor is, and the look all its bays share."""

    top: int
    street: int  # the first row of the sidewalk
    shops: bool
    frame: np.ndarray
    awning_share: float  # 0: no awnings
    awning: np.ndarray
    awning_stripe: np.ndarray | None  # None: plain awnings
    sign: np.ndarray
    letters: np.ndarray
    door: np.ndarray
    interior: np.ndarray

    @property
    def height(self) -> int:
        return self.street - self.top


def draw_ground_floor(rng: Draws, img: np.ndarray, style: BuildingStyle, top: int,
                      street: int, bays: list[float]) -> None:
    """Ground floor between ``top`` and ``street``: shop fronts or doors, then sidewalk."""
    h = img.shape[1]
    if top >= h or street <= 0:
        return
    _draw_wall(rng, img, style, top, street)
    floor = _ground_floor(rng, style, top, street)
    j = 0
    while j < len(bays):
        if floor.shops and rng.random() < SHOP_P:
            span = 2 if (j + 1 < len(bays) and rng.random() < WIDE_SHOP_P) else 1
            _draw_shop_front(rng, img, style, floor, bays[j], span)
            j += span
            continue
        if rng.random() < (DOOR_P_AMONG_SHOPS if floor.shops else DOOR_P):
            _draw_door(rng, img, style, floor, bays[j])
        else:
            _draw_barred_window(rng, img, style, floor, bays[j])
        j += 1
    _draw_sidewalk(rng, img, style, street)


def _draw_wall(rng: Draws, img: np.ndarray, style: BuildingStyle, top: int,
               street: int) -> None:
    """The ground floor's wall, the band above it and a darker plinth."""
    h, w = img.shape[1:]
    kind = choose(rng, GROUND_FLOOR_WALL_P)
    y0, y1 = max(top, 0), min(street, h)
    if kind == GroundFloorWall.RUSTICATED:
        img[:, y0:y1] = pixel(pick_color(rng, palette.ASHLAR, 0.05)
                              * F32(rng.uniform(0.85, 1.0)))
        groove = max(3, round((street - top) / rng.uniform(4, 7)))
        sub = img[:, y0:y1]
        sub[:, (np.arange(y0, y1) - top) % groove == 0] *= F32(0.7)
    elif kind == GroundFloorWall.DARKER:
        img[:, y0:y1] *= F32(rng.uniform(0.78, 0.92))
    band_h = max(2, round(style.floor_height * rng.uniform(0.06, 0.12)))
    fill_rect(img, top - band_h, top, 0, w, style.stone_color)
    shade_rect(img, top, top + max(1, band_h // 2), 0, w, 0.72)
    shade_rect(img, street - max(1, round((street - top) * 0.06)), street, 0, w, 0.8)


def _ground_floor(rng: Draws, style: BuildingStyle, top: int, street: int) -> _GroundFloor:
    """Draw the look every bay of the ground floor shares."""
    shops = rng.random() < SHOPS_P
    frame = (pick_color(rng, palette.FRAME, 0.06) if rng.random() < OWN_FRAME_P
             else style.frame_color)
    awning_share = rng.uniform(*AWNING_SHARE) if rng.random() < AWNINGS_P else 0.0
    awning = pick_color(rng, palette.AWNING, 0.08)
    stripe = (pick_color(rng, palette.AWNING_STRIPE, 0.04) if rng.random() < AWNING_STRIPES_P
              else None)
    sign = pick_color(rng, palette.SIGN, 0.08)
    return _GroundFloor(
        top=top, street=street, shops=shops, frame=frame, awning_share=awning_share,
        awning=awning, awning_stripe=stripe, sign=sign, letters=255 - sign * F32(0.6),
        door=pick_color(rng, palette.DOOR, 0.1), interior=pick_color(rng, palette.INTERIOR, 0.1),
    )


def _draw_shop_front(rng: Draws, img: np.ndarray, style: BuildingStyle, floor: _GroundFloor,
                     center: float, span: int) -> None:
    """A shop front over ``span`` bays from the one centred at ``center``: a sign (maybe
    lettered), the shop window with a door bar and a kick plate, maybe an awning."""
    h, w = img.shape[1:]
    bay_w, frame_w, street = style.bay_width, style.frame_width, floor.street
    x0 = round(center - bay_w * 0.4)
    x1 = round(center - bay_w / 2 + span * bay_w - bay_w * 0.1)
    top = floor.top + round(floor.height * rng.uniform(0.18, 0.3))
    sign_h = max(2, round(floor.height * 0.1))
    fill_rect(img, top - sign_h - frame_w, top - frame_w, x0, x1, floor.sign)
    if rng.random() < LETTERING_P:
        for _ in range(rng.integers(2, 5)):
            letter_x = rng.integers(x0 + 1, max(x0 + 2, x1 - 2))
            fill_rect(img, top - sign_h - frame_w + 1, top - frame_w - 1, letter_x,
                      letter_x + max(1, sign_h // 2), floor.letters)
    fill_rect(img, top - frame_w, street, x0 - frame_w, x1 + frame_w, floor.frame)
    glass_h = street - top - frame_w
    if glass_h > 0:
        y0, y1, xg0, xg1 = max(top, 0), min(street - frame_w, h), max(x0, 0), min(x1, w)
        if y1 > y0 and xg1 > xg0:  # the interior, lit from the top
            grad = np.linspace(30, -10, glass_h, dtype=F32)[y0 - top:y1 - top]
            img[:, y0:y1, xg0:xg1] = (floor.interior[:, None] + grad[None])[:, :, None]
        mid = (x0 + x1) // 2  # glazing bar / door and a kick plate
        fill_rect(img, top, street, mid - max(1, frame_w // 2), mid + max(1, frame_w // 2),
                  floor.frame)
        fill_rect(img, street - frame_w - max(2, glass_h // 5), street - frame_w, x0, x1,
                  floor.frame * F32(0.9))
    if rng.random() < floor.awning_share:
        _draw_awning(rng, img, style, floor, top - frame_w, x0 - 2 * frame_w, x1 + 2 * frame_w)


def _draw_awning(rng: Draws, img: np.ndarray, style: BuildingStyle, floor: _GroundFloor,
                 y: int, x0: int, x1: int) -> None:
    """An awning hanging from row ``y`` over columns ``x0:x1``, darker towards its edge,
    and its shadow."""
    h, w = img.shape[1:]
    awning_h = max(3, round(floor.height * rng.uniform(0.16, 0.26)))
    yb0, yb1, xb0, xb1 = max(y, 0), min(y + awning_h, h), max(x0, 0), min(x1, w)
    if yb1 > yb0 and xb1 > xb0:
        region = img[:, yb0:yb1, xb0:xb1]
        region[:] = pixel(floor.awning)
        if floor.awning_stripe is not None:
            stripe = max(2, round(style.bay_width / 10))
            xs = np.arange(xb0, xb1) - x0
            region[:, :, (xs // stripe) % 2 == 1] = pixel(floor.awning_stripe)
        ys = np.arange(yb0, yb1, dtype=F32) - y
        region *= (1.0 - F32(0.3) * ys / awning_h)[None, :, None]
    shade_rect(img, y + awning_h, y + awning_h + max(2, awning_h // 2), x0, x1, 0.6)


def _draw_door(rng: Draws, img: np.ndarray, style: BuildingStyle, floor: _GroundFloor,
               center: float) -> None:
    """A door in a stone surround, with a glazed transom and two recessed panels."""
    frame_w, street = style.frame_width, floor.street
    door_w = max(4, round(style.bay_width * rng.uniform(0.35, 0.55)))
    x0 = round(center - door_w / 2)
    top = floor.top + round(floor.height * rng.uniform(0.12, 0.25))
    fill_rect(img, top - frame_w, street, x0 - frame_w, x0 + door_w + frame_w, style.stone_color)
    fill_rect(img, top, street, x0, x0 + door_w, floor.door)
    transom_h = max(2, round((street - top) * 0.22))
    fill_rect(img, top, top + transom_h, x0 + 1, x0 + door_w - 1, floor.interior)
    panel_h = street - top - transom_h
    panel_w = max(1, door_w // 2 - 2)
    panel_y0, panel_y1 = top + transom_h + panel_h // 8, street - panel_h // 8
    shade_rect(img, panel_y0, panel_y1, x0 + 1, x0 + 1 + panel_w, 0.78)
    shade_rect(img, panel_y0, panel_y1, x0 + door_w - 1 - panel_w, x0 + door_w - 1, 0.78)


def _draw_barred_window(rng: Draws, img: np.ndarray, style: BuildingStyle,
                        floor: _GroundFloor, center: float) -> None:
    """A window of the upper floors' size, dark inside, behind upright bars."""
    width, height, frame_w = style.window_width, style.window_height, style.frame_width
    top = floor.top + round((floor.height - height) * rng.uniform(0.3, 0.5))
    x0 = round(center - width / 2)
    fill_rect(img, top - frame_w, top + height + frame_w, x0 - frame_w, x0 + width + frame_w,
              floor.frame)
    fill_rect(img, top, top + height, x0, x0 + width, floor.interior)
    pitch = max(2, round(width / 4))
    for bar_x in range(x0 + pitch, x0 + width, pitch):
        fill_rect(img, top, top + height, bar_x, bar_x + 1, floor.frame * F32(0.6))


def _draw_sidewalk(rng: Draws, img: np.ndarray, style: BuildingStyle, street: int) -> None:
    """The sidewalk from row ``street`` down, lighter at its edge, and the street past the
    curb."""
    h = img.shape[1]
    if street >= h:
        return
    walk = F32(rng.uniform(120, 175)) * rng.uniforms(0.96, 1.04, 3)
    ys = np.arange(street, h, dtype=F32)
    fade = 0.75 + 0.25 * np.minimum(1.0, (ys - street + 1) / 3.0)
    curb = street + max(2, round(style.floor_height * 0.18))
    fade[ys == curb] *= 0.7
    fade[ys > curb] *= 0.7
    img[:, street:] = pixel(walk) * fade[None, :, None]


# --------------------------------------------------------------------------------------------
# roof


class RoofKind(IntEnum):
    MANSARD = 0  # a steep slate roof with dormers
    PARAPET = 1  # a low wall, sometimes a balustrade
    FLAT = 2  # nothing above the cornice


ROOF_KIND_P = {RoofKind.MANSARD: 0.5, RoofKind.PARAPET: 0.25, RoofKind.FLAT: 0.25}
CLOUDS_P = 0.5
CHIMNEYS_P = 0.6  # unless the roof is flat
BRICK_CHIMNEY_P = 0.5  # else in the wall's colour, darker
DORMERS_P = 0.8
DORMER_EVERY_BAY_P = 0.6  # else above every other bay
BALUSTRADE_P = 0.6  # a parapet pierced by a balustrade
DENTILS_P = 0.55  # a row of dentils along the cornice, if it is at least 4 px high


def draw_top(rng: Draws, img: np.ndarray, style: BuildingStyle, roof_y: int,
             bays: list[float]) -> None:
    """Cornice ending at ``roof_y``, a roof (mansard, parapet or none) and sky above it."""
    if roof_y <= 0:
        return
    floor_h = style.floor_height
    cornice_h = max(2, round(floor_h * rng.uniform(0.12, 0.24)))
    kind = choose(rng, ROOF_KIND_P)
    mansard_h = round(floor_h * rng.uniform(0.55, 0.9)) if kind == RoofKind.MANSARD else 0
    parapet_h = round(floor_h * rng.uniform(0.2, 0.35)) if kind == RoofKind.PARAPET else 0
    roof_base = roof_y - cornice_h
    sky_bottom = _draw_sky(rng, img, style, kind, roof_base - mansard_h - parapet_h, roof_y)
    if kind == RoofKind.MANSARD:
        _draw_mansard(rng, img, style, roof_base, mansard_h, bays)
    elif kind == RoofKind.PARAPET:
        _draw_parapet(rng, img, style, roof_base, parapet_h, sky_bottom)
    _draw_cornice(rng, img, style, roof_y, cornice_h)


def _draw_sky(rng: Draws, img: np.ndarray, style: BuildingStyle, kind: RoofKind,
              building_top: int, roof_y: int) -> np.ndarray:
    """Sky above ``building_top``: a vertical gradient, sometimes clouds, sometimes chimneys
    against it. Returns the colour at the bottom of the gradient (3,)."""
    h, w = img.shape[1:]
    sky_top = pick_color(rng, palette.SKY_TOP, 0.05)
    sky_bottom = np.minimum(sky_top * F32(1.12) + F32(25), F32(255))
    sky_h = min(max(building_top, 0), h)
    if sky_h > 0:
        t = np.linspace(0.0, 1.0, max(roof_y, 2), dtype=F32)[:sky_h]
        img[:, :sky_h] = (sky_top[:, None] * (1 - t)[None]
                          + sky_bottom[:, None] * t[None])[..., None]
        if rng.random() < CLOUDS_P:
            cloud = smooth_noise(rng, sky_h, w, rng.integers(3, 7))
            img[:, :sky_h] += (np.maximum(cloud, 0) * F32(rng.uniform(10, 30)))[None]
        if kind != RoofKind.FLAT and rng.random() < CHIMNEYS_P:
            _draw_chimneys(rng, img, style, building_top)
    return sky_bottom


def _draw_chimneys(rng: Draws, img: np.ndarray, style: BuildingStyle, base: int) -> None:
    """One or two chimneys standing on row ``base``, each with a darker cap."""
    floor_h, w = style.floor_height, img.shape[2]
    for _ in range(rng.integers(1, 3)):
        width = max(3, round(floor_h * rng.uniform(0.15, 0.3)))
        x = rng.integers(-width, w)
        height = round(floor_h * rng.uniform(0.25, 0.5))
        color = (pick_color(rng, palette.BRICK, 0.05) if rng.random() < BRICK_CHIMNEY_P
                 else style.wall_color * F32(0.85))
        fill_rect(img, base - height, base, x, x + width, color)
        fill_rect(img, base - height - 1, base - height + 1, x - 1, x + width + 1,
                  color * F32(0.7))


def _draw_mansard(rng: Draws, img: np.ndarray, style: BuildingStyle, base: int,
                  height: int, bays: list[float]) -> None:
    """A mansard roof ``height`` px tall standing on row ``base``: slate, lighter towards
    the bottom, with vertical seams; usually dormers over the bays."""
    h = img.shape[1]
    floor_h = style.floor_height
    top = base - height
    roof_color = pick_color(rng, palette.ROOF, 0.06)
    y0, y1 = max(top, 0), min(base, h)
    if y1 > y0:
        ys = np.arange(y0, y1, dtype=F32)
        ramp = 0.85 + 0.2 * (ys - top) / max(height, 1)
        img[:, y0:y1] = roof_color[:, None, None] * ramp[None, :, None]
        img[:, y0:y1, ::max(3, round(floor_h / 8))] *= F32(0.88)
    if rng.random() >= DORMERS_P:
        return
    dormer_w = max(3, round(style.window_width * 0.8))
    dormer_h = max(3, round(height * 0.55))
    y = top + round(height * 0.25)
    trim = max(1, dormer_w // 6)  # the stone surround; the cap overhangs twice as far
    every = 1 if rng.random() < DORMER_EVERY_BAY_P else 2
    phase = rng.integers(every)
    glass = style.glass_color * F32(0.9)
    cap = roof_color * F32(0.8)
    for k, center in enumerate(bays):
        if k % every != phase:
            continue
        x = round(center - dormer_w / 2)
        fill_rect(img, y, y + dormer_h, x - trim, x + dormer_w + trim, style.stone_color)
        fill_rect(img, y - trim * 2, y, x - trim * 2, x + dormer_w + trim * 2, cap)
        fill_rect(img, y + trim, y + dormer_h, x + trim, x + dormer_w - trim, glass)
        shade_rect(img, y + trim, y + 2 * trim, x + trim, x + dormer_w - trim, 0.6)


def _draw_parapet(rng: Draws, img: np.ndarray, style: BuildingStyle, base: int,
                  height: int, sky: np.ndarray) -> None:
    """A stone parapet ``height`` px tall on row ``base``, sometimes a balustrade with the
    sky colour ``sky`` (3,) between its balusters."""
    h, w = img.shape[1:]
    top = base - height
    fill_rect(img, top, base, 0, w, style.stone_color)
    if rng.random() < BALUSTRADE_P:
        pitch = max(3, round(style.floor_height / 6))
        holes = (np.arange(w) % pitch) >= max(1, pitch // 2)
        y0 = max(top + max(1, height // 4), 0)
        y1 = min(base - max(1, height // 5), h)
        if y1 > y0:
            img[:, y0:y1, holes] = pixel(sky)


def _draw_cornice(rng: Draws, img: np.ndarray, style: BuildingStyle, roof_y: int,
                  height: int) -> None:
    """The cornice ending at ``roof_y``: lit on top, sometimes dentils, a shadow below."""
    h, w = img.shape[1:]
    top = roof_y - height
    fill_rect(img, top, roof_y, 0, w, style.stone_color)
    shade_rect(img, top, top + max(1, height // 4), 0, w, 1.08)
    if height >= 4 and rng.random() < DENTILS_P:
        dentil = max(2, round(style.floor_height / 14))
        y0, y1 = max(roof_y - height // 2, 0), min(roof_y, h)
        if y1 > y0:
            img[:, y0:y1, (np.arange(w) % (2 * dentil)) < dentil] *= F32(0.78)
    shade_rect(img, roof_y, roof_y + max(1, round(height * 0.5)), 0, w, 0.62)


# --------------------------------------------------------------------------------------------
# building


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
    wall_kind = choose(rng, WALL_KIND_P)
    wall_color = pick_color(rng, WALL_PALETTE[wall_kind], 0.06)
    style = make_style(rng, size, wall_color)
    img = wall_texture(rng, h, w, style.floor_height, wall_kind, wall_color)
    layout = _vertical_layout(rng, style, size)
    bays = _bay_centers(style, w)
    floors = _upper_floors(rng, style, layout, bays, w)
    for k in range(layout.upper_floors):
        _draw_upper_floor(rng, img, style, layout, floors, bays, k)
    draw_ground_floor(rng, img, style, layout.ground_floor_y, layout.street_y, bays)
    draw_top(rng, img, style, layout.roof_y, bays)
    return img


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


# --------------------------------------------------------------------------------------------
# render


FACADE_SPLITS: tuple[str, ...] = ("train", "val")

_SPLIT_ID = {"train": 0x7A1D, "val": 0x5A1E}  # the first word of every seed
_FLIP_STREAM = 0xF1  # the third word of the seed of an item's flip
DEFAULT_LENGTH = {"train": 100_000, "val": 500}
MIN_SIZE = 16

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
    """``size`` as an int; ValueError below ``MIN_SIZE``."""
    size = int(size)
    if size < MIN_SIZE:
        raise ValueError(f"facade size must be >= {MIN_SIZE}, got {size}")
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


# --------------------------------------------------------------------------------------------
# dataset


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
