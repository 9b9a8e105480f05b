"""The ground floor: its wall, shop fronts (sign, window, awning), doors or barred windows,
and the sidewalk below."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import palette
from .canvas import F32, fill_rect, pixel, shade_rect
from .draws import Draws, choose, pick_color
from .style import BuildingStyle

__all__ = ["GroundFloorWall", "draw_ground_floor"]


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
