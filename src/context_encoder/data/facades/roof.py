"""The top of a building: the cornice, a roof (mansard with dormers, parapet or none), and
the sky above it with clouds and chimneys."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from . import palette
from .canvas import F32, fill_rect, pixel, shade_rect, smooth_noise
from .draws import Draws, choose, pick_color
from .style import BuildingStyle

__all__ = ["RoofKind", "draw_top"]


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
