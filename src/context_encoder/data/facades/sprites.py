"""Sprites drawn once per building and pasted on every floor: the window with its frame,
shutters, sill and decoration; a floor's row of windows; the balcony railing.

A sprite is premultiplied: ``prem`` (3, h, w) is the colour times ``alpha`` (h, w), so
pasting it is ``img * (1 - alpha) + prem`` (``canvas.paste``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from . import palette
from .canvas import F32, pixel
from .draws import Draws, pick_color
from .style import BuildingStyle, WindowDecoration

__all__ = ["RailingPattern", "Sprite", "WindowSprite", "railing", "window_row", "window_sprite"]

IRON_RAILING_P = 0.7  # else a stone balustrade


class RailingPattern(IntEnum):
    """The pattern of a balcony railing, equally likely."""

    BARS = 0  # upright bars
    LATTICE = 1  # diagonal lattice with a post every fourth pitch
    CLOSE = 2  # close bars; stone ones are thick (balusters)


class Sprite(NamedTuple):
    prem: np.ndarray  # (3, h, w) colour times alpha
    alpha: np.ndarray  # (h, w)


class WindowSprite(NamedTuple):
    prem: np.ndarray  # (3, h, w)
    alpha: np.ndarray  # (h, w)
    glass: np.ndarray  # (h, w) bool: where the sprite shows glass
    top: int  # the window's top-left corner inside the sprite
    left: int


@dataclass(frozen=True)
class _WindowLayout:
    """The pixel sizes around a window that set its sprite's extent."""

    shutter_width: int  # each of the two; 0 without shutters
    sill_height: int  # 0 without a sill
    sill_overhang: int  # past the window on each side
    shadow_height: int  # the shadow under the sill
    crown_height: int  # arch moulding, lintel or pediment above the window; 0 without
    crown_overhang: int  # past the window on each side

    @property
    def margin(self) -> int:
        """Sprite columns left (and right) of the window."""
        return max(self.shutter_width, self.sill_overhang, self.crown_overhang)


def _window_layout(style: BuildingStyle) -> _WindowLayout:
    """The sizes of the parts around the window, from the style (no draws)."""
    width = style.window_width
    if style.arched:
        crown_height = max(1, round(width * 0.12))
        crown_overhang = crown_height
    elif style.decoration == WindowDecoration.LINTEL:
        crown_height = max(2, round(style.floor_height * 0.07))
        crown_overhang = max(1, round(width * 0.1))
    elif style.decoration == WindowDecoration.PEDIMENT:
        crown_height = max(3, round(width * 0.3))
        crown_overhang = max(1, round(width * 0.12))
    else:
        crown_height, crown_overhang = 0, 0
    return _WindowLayout(
        shutter_width=width // 2 if style.shutter_color is not None else 0,
        sill_height=max(1, round(style.floor_height * 0.05)) if style.sill else 0,
        sill_overhang=max(1, style.frame_width) if style.sill else 0,
        shadow_height=max(1, round(style.floor_height * 0.04)),
        crown_height=crown_height,
        crown_overhang=crown_overhang,
    )


def _inside_ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float,
                    rx: float) -> np.ndarray:
    """Which pixel centres of the grid ``yy, xx`` lie inside the axis-aligned ellipse."""
    return ((xx + 0.5 - cx) / rx) ** 2 + ((yy + 0.5 - cy) / ry) ** 2 <= 1.0


def window_sprite(style: BuildingStyle) -> WindowSprite:
    """One window with its frame, glass, shutters, sill and decoration, as a sprite."""
    layout = _window_layout(style)
    width, height = style.window_width, style.window_height
    top, left = layout.crown_height, layout.margin
    sprite_h = top + height + layout.sill_height + layout.shadow_height
    prem = np.zeros((3, sprite_h, width + 2 * left), F32)
    alpha = np.zeros(prem.shape[1:], F32)
    _draw_crown(prem, alpha, style, layout)
    _draw_shutters(prem, alpha, style, layout)
    color, outline, glass = _window_pane(style)
    prem[:, top:top + height, left:left + width] = color * outline[None]
    alpha[top:top + height, left:left + width] = outline
    if style.arched and width >= 8:  # keystone
        key_w = max(1, round(width * 0.14))
        key_x = left + width // 2 - key_w // 2
        prem[:, 0:top + style.frame_width + 1, key_x:key_x + key_w] = pixel(
            style.stone_color * F32(0.95))
        alpha[0:top + style.frame_width + 1, key_x:key_x + key_w] = 1.0
    # sill and the shadow under it
    y = top + height
    x0, x1 = left - layout.sill_overhang, left + width + layout.sill_overhang
    if style.sill:
        prem[:, y:y + layout.sill_height, x0:x1] = pixel(style.stone_color)
        alpha[y:y + layout.sill_height, x0:x1] = 1.0
        y += layout.sill_height
    alpha[y:y + layout.shadow_height, x0:x1] = 0.3
    glass_mask = np.zeros(alpha.shape, bool)
    glass_mask[top:top + height, left:left + width] = glass
    return WindowSprite(prem, alpha, glass_mask, top, left)


def _draw_crown(prem: np.ndarray, alpha: np.ndarray, style: BuildingStyle,
                layout: _WindowLayout) -> None:
    """The decoration above the window: arch moulding, lintel or pediment (or nothing)."""
    width, left = style.window_width, layout.margin
    stone = style.stone_color[:, None]
    if style.arched:  # a stone ellipse behind the arch, showing as a moulding around it
        margin = layout.crown_height
        rise = style.arch_height + margin
        yy, xx = np.ogrid[0:rise, 0:width + 2 * margin]
        half = width / 2 + margin
        moulding = _inside_ellipse(yy, xx, rise, half, rise, half)
        region = prem[:, 0:rise, left - margin:left + width + margin]
        region[:, moulding] = stone
        alpha[0:rise, left - margin:left + width + margin][moulding] = 1.0
        return
    height, overhang = layout.crown_height, layout.crown_overhang
    cols = slice(left - overhang, left + width + overhang)
    if style.decoration == WindowDecoration.LINTEL:  # a stone band, darker along its bottom
        prem[:, 0:height, cols] = stone[..., None]
        prem[:, height - 1, cols] *= F32(0.8)
        alpha[0:height, cols] = 1.0
    elif style.decoration == WindowDecoration.PEDIMENT:  # a triangle with a darker outline
        half = width / 2 + overhang
        yy, xx = np.ogrid[0:height, 0:width + 2 * overhang]
        dist = np.abs(xx + 0.5 - half)
        reach = half * (yy + 1) / height
        triangle = dist <= reach
        region = prem[:, 0:height, cols]
        region[:, triangle] = stone
        region[:, triangle & (dist > reach - 1.2)] *= F32(0.85)
        alpha[0:height, cols][triangle] = 1.0


def _draw_shutters(prem: np.ndarray, alpha: np.ndarray, style: BuildingStyle,
                   layout: _WindowLayout) -> None:
    """Two open shutters beside the window, slatted, from below the arch to the sill."""
    shutter_w = layout.shutter_width
    if style.shutter_color is None or shutter_w <= 0:
        return
    width, top, left = style.window_width, layout.crown_height, layout.margin
    y0 = top + (style.arch_height if style.arched else 0)
    y1 = top + style.window_height
    slat = max(2, round(style.floor_height / 22))
    color = np.empty((3, y1 - y0, shutter_w), F32)
    color[:] = pixel(style.shutter_color)
    color[:, (np.arange(y1 - y0) % slat) == slat - 1] *= F32(0.72)
    color[:, :, 0] *= F32(0.8)
    color[:, :, -1] *= F32(0.8)
    prem[:, y0:y1, left - shutter_w:left] = color
    prem[:, y0:y1, left + width:left + width + shutter_w] = color[:, :, ::-1]
    alpha[y0:y1, left - shutter_w:left] = 1.0
    alpha[y0:y1, left + width:left + width + shutter_w] = 1.0


def _window_pane(style: BuildingStyle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window itself, (window_height, window_width): frame, glass with its reflections,
    glazing bars and the recess shadow. Returns (colour (3,h,w), outline (h,w) bool: inside
    the window's shape, glass (h,w) bool)."""
    width, height, frame_w = style.window_width, style.window_height, style.frame_width
    yy, xx = np.ogrid[0:height, 0:width]
    outline = np.ones((height, width), bool)
    inner = (yy >= frame_w) & (yy < height - frame_w) & (xx >= frame_w) & (xx < width - frame_w)
    if style.arched:
        rise, half = style.arch_height, width / 2
        outline = (yy >= rise) | _inside_ellipse(yy, xx, rise, half, rise, half)
        inner_half, inner_rise = max(half - frame_w, 0.5), max(rise - frame_w, 0.5)
        inner &= (yy >= rise) | _inside_ellipse(yy, xx, rise, half, inner_rise, inner_half)
    t = yy.astype(F32) / F32(max(height - 1, 1))
    shade = F32(style.glass_gradient) * (0.6 - t)  # sky reflection: lighter at the top
    if style.streak > 0:
        band = ((xx + yy * 0.8 + width * 0.3) % (width * 1.3 + 1)) < width * 0.25
        shade = shade + band * F32(style.streak)
    glass_color = pixel(style.glass_color) + shade[None]
    color = np.where(inner[None], glass_color, pixel(style.frame_color)).astype(F32)
    glass = inner.copy()
    _draw_glazing_bars(color, glass, style)
    # the window is recessed: shadow along the top and left of the glass
    depth = max(1, frame_w // 2 + 1)
    top_strip = color[:, frame_w:frame_w + depth]
    top_strip[:, inner[frame_w:frame_w + depth]] *= F32(0.55)
    left_strip = color[:, :, frame_w:frame_w + depth]
    left_strip[:, inner[:, frame_w:frame_w + depth]] *= F32(0.75)
    return color, outline, glass


def _draw_glazing_bars(color: np.ndarray, glass: np.ndarray, style: BuildingStyle) -> None:
    """The vertical and horizontal glazing bars, in the frame colour, over the pane."""
    width, height, frame_w = style.window_width, style.window_height, style.frame_width
    bar = max(1, frame_w // 2 + (frame_w >= 3))
    if style.vertical_bar and width >= 7:
        x0 = width // 2 - bar // 2
        color[:, :, x0:x0 + bar] = pixel(style.frame_color)
        glass[:, x0:x0 + bar] = False
    if style.horizontal_bars > 0:
        top = style.arch_height if style.arched else frame_w
        span = height - frame_w - top
        for k in range(1, style.horizontal_bars + 1):
            y0 = top + round(span * k / (style.horizontal_bars + 1)) - bar // 2
            color[:, y0:y0 + bar, frame_w:width - frame_w] = pixel(style.frame_color)
            glass[y0:y0 + bar, frame_w:width - frame_w] = False


def window_row(sprites: list[Sprite], lefts: list[int], variants: list[int],
               width: int) -> Sprite:
    """One floor's windows as a full-width layer (3, h, width), (h, width): sprite
    ``sprites[variants[k]]`` with its left edge at ``lefts[k]``."""
    sprite_h = sprites[0].alpha.shape[0]
    prem = np.zeros((3, sprite_h, width), F32)
    alpha = np.zeros((sprite_h, width), F32)
    prev_end = -1
    for x, variant in zip(lefts, variants, strict=True):
        sprite = sprites[variant]
        x0, x1 = max(x, 0), min(x + sprite.alpha.shape[1], width)
        if x1 <= x0:
            continue
        src_prem, src_alpha = sprite.prem[:, :, x0 - x:x1 - x], sprite.alpha[:, x0 - x:x1 - x]
        if x0 >= prev_end:  # no overlap with the previous window: plain copy
            prem[:, :, x0:x1] = src_prem
            alpha[:, x0:x1] = src_alpha
        else:  # composite over the previous window's margin
            keep = 1.0 - src_alpha
            dst_prem = prem[:, :, x0:x1]
            dst_prem *= keep
            dst_prem += src_prem
            dst_alpha = alpha[:, x0:x1]
            dst_alpha *= keep
            dst_alpha += src_alpha
        prev_end = x1
    return Sprite(prem, alpha)


def railing(rng: Draws, style: BuildingStyle, width: int) -> Sprite:
    """A full-width balcony strip: railing over a stone slab, with a shadow below."""
    rail_h = max(3, min(round(style.floor_height * rng.uniform(0.14, 0.22)),
                        round(style.window_height * 0.42)))
    slab_h = max(1, round(style.floor_height * 0.05))
    shadow_h = max(1, round(style.floor_height * 0.05))
    iron = rng.random() < IRON_RAILING_P
    color = pick_color(rng, palette.IRON, 0.1) if iron else style.stone_color
    yy, xx = np.ogrid[0:rail_h, 0:width]
    pitch = max(2, round(style.floor_height / rng.uniform(9.0, 14.0)))
    pattern = RailingPattern(rng.integers(len(RailingPattern)))
    if pattern == RailingPattern.BARS:
        bars = xx % pitch == 0
    elif pattern == RailingPattern.LATTICE:
        diagonal = 2 * pitch
        bars = ((xx + yy) % diagonal == 0) | ((xx - yy) % diagonal == 0) | (xx % (4 * pitch) == 0)
    else:
        bars = (xx % (pitch + 1)) < (1 if iron else pitch // 2 + 1)
    bar_w = max(1, rail_h // 8)  # and the top and bottom rails
    mask = bars | (yy < bar_w) | (yy >= rail_h - bar_w)
    alpha = np.zeros((rail_h + slab_h + shadow_h, width), F32)
    prem = np.zeros((3, *alpha.shape), F32)
    alpha[:rail_h] = mask * F32(0.95)
    prem[:, :rail_h] = pixel(color) * alpha[None, :rail_h]
    prem[:, rail_h:rail_h + slab_h] = pixel(style.stone_color * F32(0.92))
    alpha[rail_h:rail_h + slab_h] = 1.0
    alpha[rail_h + slab_h:] = 0.35
    return Sprite(prem, alpha)
