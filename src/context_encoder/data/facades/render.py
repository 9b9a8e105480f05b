"""Drawing one facade: a building, sometimes a neighbour, lighting and grain; the splits."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from . import palette
from .canvas import F32, fill_rect, grain_field, paste, pixel, shade_rect, smooth_noise
from .draws import Draws, choose, pick_color

__all__ = ["FACADE_SPLITS", "FacadesDataset", "render_facade"]

logger = logging.getLogger(__name__)

FACADE_SPLITS: tuple[str, ...] = ("train", "val")

_SPLIT_ID = {"train": 0x7A1D, "val": 0x5A1E}
_FLIP_STREAM = 0xF1
_DEFAULT_LENGTH = {"train": 100_000, "val": 500}
_MIN_SIZE = 16

@dataclass
class _Style:
    """Per-building drawing parameters (pixel quantities at the target size)."""

    floor_h: float
    bay_w: float
    off_x: float
    ww: int
    wh: int
    win_top: int
    ft: int
    wall: np.ndarray
    stone: np.ndarray
    frame: np.ndarray
    glass: np.ndarray
    shutter: np.ndarray | None
    arched: bool
    arch_h: int
    deco: int  # 0 none, 1 lintel, 2 pediment
    sill: bool
    mullion_v: bool
    mullion_h: int  # number of horizontal glazing bars
    glass_grad: float
    streak: float
    blind_p: float


# --------------------------------------------------------------------------------------------
# walls


def _wall_texture(rng: Draws, h: int, w: int, floor_h: float, kind: int,
                  base: np.ndarray) -> np.ndarray:
    """Full-image wall (3, h, w): kind 0 plaster, 1 brick, 2 ashlar (large stone blocks)."""
    mott = smooth_noise(rng, h, w, rng.integers(4, 9))
    amp = F32(rng.uniform(0.015, 0.05))
    if kind == 0:
        fine = smooth_noise(rng, h, w, max(4, max(h, w) // 6))
        shade = 1.0 + amp * mott + F32(rng.uniform(0.008, 0.025)) * fine
        return pixel(base) * shade[None]
    if kind == 1:
        bh = max(3, round(floor_h / rng.uniform(8.0, 13.0)))
        bw = max(5, round(bh * rng.uniform(2.0, 2.7)))
        var_amp = rng.uniform(0.05, 0.12)
        mortar: np.ndarray | None = (np.full(3, rng.uniform(150, 200), F32)
                                     * rng.uniforms(0.96, 1.04, 3))
    else:
        bh = max(4, round(floor_h / rng.uniform(3.0, 5.0)))
        bw = max(8, round(bh * rng.uniform(1.6, 2.6)))
        var_amp = rng.uniform(0.02, 0.05)
        mortar = None
    oy, ox = rng.integers(0, 64), rng.integers(0, 64)
    ys = np.arange(oy, oy + h)
    xs = np.arange(ox, ox + w)
    half = bw // 2
    table = (1.0 + var_amp * rng.gen.standard_normal((17, 19))).astype(F32)
    # every brick row's colours for both row parities (odd rows shifted by half a brick)
    rows = np.stack([table[:, (xs // bw) % 19], table[:, ((xs + half) // bw) % 19]])
    colors = base[:, None, None, None] * rows[None]  # (3, 2, 17, w)
    for parity, vj in enumerate(((xs % bw) == 0, ((xs + half) % bw) == 0)):
        sub = colors[:, parity]
        if mortar is None:
            sub[:, :, vj] *= F32(0.82)
        else:
            sub[:, :, vj] = mortar[:, None, None]
    row = ys // bh
    out = colors[:, row % 2, row % 17]  # (3, h, w)
    hj = (ys % bh) == 0
    if mortar is None:
        out[:, hj] *= F32(0.82)
    else:
        out[:, hj] = mortar[:, None, None]
    out *= (1.0 + amp * mott)[None]
    return out


# --------------------------------------------------------------------------------------------
# windows


def _window_sprite(st: _Style) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Premultiplied sprite of one window with its frame, shutters, sill and decoration.

    Returns (premultiplied colour (3,h,w), alpha (h,w), glass mask (h,w), y offset, x offset),
    the offsets giving the window's top-left corner inside the sprite.
    """
    ww, wh, ft = st.ww, st.wh, st.ft
    sw = ww // 2 if st.shutter is not None else 0
    sill_h = max(1, round(st.floor_h * 0.05)) if st.sill else 0
    sill_ext = max(1, ft) if st.sill else 0
    shadow_h = max(1, round(st.floor_h * 0.04))
    if st.arched:
        top_extra = max(1, round(ww * 0.12))
        lint_ext = top_extra
    elif st.deco == 1:
        top_extra = max(2, round(st.floor_h * 0.07))
        lint_ext = max(1, round(ww * 0.1))
    elif st.deco == 2:
        top_extra = max(3, round(ww * 0.3))
        lint_ext = max(1, round(ww * 0.12))
    else:
        top_extra, lint_ext = 0, 0
    ext = max(sw, sill_ext, lint_ext)
    hh = top_extra + wh + sill_h + shadow_h
    wd = ww + 2 * ext
    prem = np.zeros((3, hh, wd), F32)
    alpha = np.zeros((hh, wd), F32)
    wy, wx = top_extra, ext
    stone = st.stone[:, None]

    # decoration above the window: arch moulding with keystone, lintel or pediment
    if st.arched:
        m = top_extra
        ah = st.arch_h + m
        yy, xx = np.ogrid[0:ah, 0:ww + 2 * m]
        rx = ww / 2 + m
        ring = ((xx + 0.5 - rx) / rx) ** 2 + ((yy + 0.5 - ah) / ah) ** 2 <= 1.0
        sub_p = prem[:, 0:ah, wx - m:wx + ww + m]
        sub_p[:, ring] = stone
        alpha[0:ah, wx - m:wx + ww + m][ring] = 1.0
    elif st.deco == 1:
        sl = (slice(0, top_extra), slice(wx - lint_ext, wx + ww + lint_ext))
        prem[:, sl[0], sl[1]] = stone[..., None]
        prem[:, top_extra - 1, sl[1]] *= F32(0.8)
        alpha[sl] = 1.0
    elif st.deco == 2:
        half = ww / 2 + lint_ext
        yy, xx = np.ogrid[0:top_extra, 0:ww + 2 * lint_ext]
        dist = np.abs(xx + 0.5 - half)
        lim = half * (yy + 1) / top_extra
        tri = dist <= lim
        sub_p = prem[:, 0:top_extra, wx - lint_ext:wx + ww + lint_ext]
        sub_p[:, tri] = stone
        sub_p[:, tri & (dist > lim - 1.2)] *= F32(0.85)
        alpha[0:top_extra, wx - lint_ext:wx + ww + lint_ext][tri] = 1.0

    # open shutters on either side
    if st.shutter is not None and sw > 0:
        sy0 = wy + (st.arch_h if st.arched else 0)
        n = wy + wh - sy0
        slat = max(2, round(st.floor_h / 22))
        col = np.empty((3, n, sw), F32)
        col[:] = pixel(st.shutter)
        col[:, (np.arange(n) % slat) == slat - 1] *= F32(0.72)
        col[:, :, 0] *= F32(0.8)
        col[:, :, -1] *= F32(0.8)
        prem[:, sy0:wy + wh, wx - sw:wx] = col
        prem[:, sy0:wy + wh, wx + ww:wx + ww + sw] = col[:, :, ::-1]
        alpha[sy0:wy + wh, wx - sw:wx] = 1.0
        alpha[sy0:wy + wh, wx + ww:wx + ww + sw] = 1.0

    # frame and glass
    yy, xx = np.ogrid[0:wh, 0:ww]
    outer = np.ones((wh, ww), bool)
    inner = (yy >= ft) & (yy < wh - ft) & (xx >= ft) & (xx < ww - ft)
    if st.arched:
        ah = st.arch_h
        rx = ww / 2
        outer = (yy >= ah) | (((xx + 0.5 - rx) / rx) ** 2 + ((yy + 0.5 - ah) / ah) ** 2 <= 1.0)
        irx, iry = max(rx - ft, 0.5), max(ah - ft, 0.5)
        in_arch = ((xx + 0.5 - rx) / irx) ** 2 + ((yy + 0.5 - ah) / iry) ** 2 <= 1.0
        inner &= (yy >= ah) | in_arch
    t = yy.astype(F32) / F32(max(wh - 1, 1))
    shade = F32(st.glass_grad) * (0.6 - t)  # sky reflection: lighter at the top
    if st.streak > 0:
        band = ((xx + yy * 0.8 + ww * 0.3) % (ww * 1.3 + 1)) < ww * 0.25
        shade = shade + band * F32(st.streak)
    glass = pixel(st.glass) + shade[None]
    col = np.where(inner[None], glass, pixel(st.frame)).astype(F32)
    glass_mask = inner.copy()
    bar = max(1, ft // 2 + (ft >= 3))
    if st.mullion_v and ww >= 7:
        c0 = ww // 2 - bar // 2
        col[:, :, c0:c0 + bar] = pixel(st.frame)
        glass_mask[:, c0:c0 + bar] = False
    if st.mullion_h > 0:
        top = st.arch_h if st.arched else ft
        span = wh - ft - top
        for k in range(1, st.mullion_h + 1):
            r0 = top + round(span * k / (st.mullion_h + 1)) - bar // 2
            col[:, r0:r0 + bar, ft:ww - ft] = pixel(st.frame)
            glass_mask[r0:r0 + bar, ft:ww - ft] = False
    # the window is recessed: shadow along the top and left of the glass
    sh_t = max(1, ft // 2 + 1)
    top_strip = col[:, ft:ft + sh_t]
    top_strip[:, inner[ft:ft + sh_t]] *= F32(0.55)
    left_strip = col[:, :, ft:ft + sh_t]
    left_strip[:, inner[:, ft:ft + sh_t]] *= F32(0.75)
    prem[:, wy:wy + wh, wx:wx + ww] = col * outer[None]
    alpha[wy:wy + wh, wx:wx + ww] = outer

    if st.arched and ww >= 8:
        kw = max(1, round(ww * 0.14))
        kx = wx + ww // 2 - kw // 2
        prem[:, 0:wy + ft + 1, kx:kx + kw] = pixel(st.stone * F32(0.95))
        alpha[0:wy + ft + 1, kx:kx + kw] = 1.0

    # sill and the shadow under it
    y_s = wy + wh
    if st.sill:
        prem[:, y_s:y_s + sill_h, wx - sill_ext:wx + ww + sill_ext] = pixel(st.stone)
        alpha[y_s:y_s + sill_h, wx - sill_ext:wx + ww + sill_ext] = 1.0
        y_s += sill_h
    alpha[y_s:y_s + shadow_h, wx - sill_ext:wx + ww + sill_ext] = 0.3
    gm = np.zeros((hh, wd), bool)
    gm[wy:wy + wh, wx:wx + ww] = glass_mask
    return prem, alpha, gm, wy, wx


def _window_row(sprites: list[tuple[np.ndarray, np.ndarray]], xs: list[int],
                choice: list[int], width: int) -> tuple[np.ndarray, np.ndarray]:
    """One floor's windows as a full-width premultiplied layer (3, h, width), (h, width)."""
    sh = sprites[0][1].shape[0]
    prem = np.zeros((3, sh, width), F32)
    alpha = np.zeros((sh, width), F32)
    prev_end = -1
    for x, v in zip(xs, choice, strict=True):
        p, a = sprites[v]
        x0, x1 = max(x, 0), min(x + a.shape[1], width)
        if x1 <= x0:
            continue
        if x0 >= prev_end:  # no overlap with the previous window: plain copy
            prem[:, :, x0:x1] = p[:, :, x0 - x:x1 - x]
            alpha[:, x0:x1] = a[:, x0 - x:x1 - x]
        else:
            a_s = a[:, x0 - x:x1 - x]
            keep = 1.0 - a_s
            pa = prem[:, :, x0:x1]
            pa *= keep
            pa += p[:, :, x0 - x:x1 - x]
            aa = alpha[:, x0:x1]
            aa *= keep
            aa += a_s
        prev_end = x1
    return prem, alpha


def _railing(rng: Draws, st: _Style, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A full-width balcony strip: railing over a stone slab, with a shadow below."""
    rail_h = max(3, min(round(st.floor_h * rng.uniform(0.14, 0.22)), round(st.wh * 0.42)))
    slab_h = max(1, round(st.floor_h * 0.05))
    shadow_h = max(1, round(st.floor_h * 0.05))
    hh = rail_h + slab_h + shadow_h
    iron = rng.random() < 0.7
    color = pick_color(rng, palette.IRON, 0.1) if iron else st.stone
    yy, xx = np.ogrid[0:rail_h, 0:width]
    pitch = max(2, round(st.floor_h / rng.uniform(9.0, 14.0)))
    style = rng.integers(3)
    if style == 0:
        bars = xx % pitch == 0
    elif style == 1:
        p2 = 2 * pitch
        bars = ((xx + yy) % p2 == 0) | ((xx - yy) % p2 == 0) | (xx % (4 * pitch) == 0)
    else:
        bars = (xx % (pitch + 1)) < (1 if iron else pitch // 2 + 1)
    bar_w = max(1, rail_h // 8)
    mask = bars | (yy < bar_w) | (yy >= rail_h - bar_w)
    alpha = np.zeros((hh, width), F32)
    prem = np.zeros((3, hh, width), F32)
    alpha[:rail_h] = mask * F32(0.95)
    prem[:, :rail_h] = pixel(color) * alpha[None, :rail_h]
    prem[:, rail_h:rail_h + slab_h] = pixel(st.stone * F32(0.92))
    alpha[rail_h:rail_h + slab_h] = 1.0
    alpha[rail_h + slab_h:] = 0.35
    return prem, alpha


# --------------------------------------------------------------------------------------------
# one building


def _make_style(rng: Draws, size: int, wall: np.ndarray) -> _Style:
    floor_h = size / rng.uniform(2.0, 5.0)  # 2 to 5 floors in view
    bay_w = floor_h * rng.uniform(0.55, 1.05)
    shutters = rng.random() < 0.35
    max_w = 0.48 if shutters else 0.66
    ww = max(4, round(bay_w * rng.uniform(0.36, max_w)))
    top_frac = rng.uniform(0.14, 0.34)
    wh = max(5, round(floor_h * rng.uniform(0.42, 0.80 - top_frac)))
    wh = max(wh, round(ww * 0.9))
    wh = min(wh, round(floor_h * (0.86 - top_frac)))
    ft = max(1, round(ww * rng.uniform(0.05, 0.13)))
    arched = rng.random() < 0.28 and wh >= ww * 0.9
    arch_h = max(2, round(ww / 2 * rng.uniform(0.45, 1.0))) if arched else 0
    stone = np.minimum(wall * F32(rng.uniform(1.05, 1.2)) + F32(18), F32(250))
    if rng.random() < 0.35:
        stone = pick_color(rng, palette.ASHLAR, 0.04)
    return _Style(
        floor_h=floor_h,
        bay_w=bay_w,
        off_x=rng.uniform(0, bay_w),
        ww=ww,
        wh=wh,
        win_top=round(floor_h * top_frac),
        ft=ft,
        wall=wall,
        stone=stone,
        frame=pick_color(rng, palette.FRAME, 0.06),
        glass=pick_color(rng, palette.GLASS, 0.12),
        shutter=pick_color(rng, palette.SHUTTER, 0.1) if shutters else None,
        arched=arched,
        arch_h=arch_h,
        deco=choose(rng, dict(enumerate((0.45, 0.35, 0.2)))),
        sill=rng.random() < 0.8,
        mullion_v=rng.random() < 0.7,
        mullion_h=choose(rng, dict(enumerate((0.45, 0.35, 0.2)))),
        glass_grad=float(rng.uniform(8, 45)),
        streak=float(rng.uniform(15, 40)) if rng.random() < 0.4 else 0.0,
        blind_p=float(rng.uniform(0.05, 0.45)) if rng.random() < 0.5 else 0.0,
    )


def _draw_ground_floor(rng: Draws, img: np.ndarray, st: _Style, gf_top: int,
                       street: int, bays: list[float]) -> None:
    """Ground floor between ``gf_top`` and ``street``: shop fronts or doors, then sidewalk."""
    h, w = img.shape[1:]
    gf_h = street - gf_top
    if gf_top >= h or street <= 0:
        return
    # ground-floor wall: the facade's own, rusticated stone, or the wall a shade darker
    kind = choose(rng, dict(enumerate((0.4, 0.35, 0.25))))
    y0, y1 = max(gf_top, 0), min(street, h)
    if kind == 1:
        img[:, y0:y1] = pixel(pick_color(rng, palette.ASHLAR, 0.05) * F32(rng.uniform(0.85, 1.0)))
        groove = max(3, round(gf_h / rng.uniform(4, 7)))
        sub = img[:, y0:y1]
        sub[:, (np.arange(y0, y1) - gf_top) % groove == 0] *= F32(0.7)
    elif kind == 2:
        img[:, y0:y1] *= F32(rng.uniform(0.78, 0.92))
    # band between the ground floor and the first floor, and a darker plinth
    band_h = max(2, round(st.floor_h * rng.uniform(0.06, 0.12)))
    fill_rect(img, gf_top - band_h, gf_top, 0, w, st.stone)
    shade_rect(img, gf_top, gf_top + max(1, band_h // 2), 0, w, 0.72)
    shade_rect(img, street - max(1, round(gf_h * 0.06)), street, 0, w, 0.8)

    shops = rng.random() < 0.55
    frame = pick_color(rng, palette.FRAME, 0.06) if rng.random() < 0.5 else st.frame
    awning_p = rng.uniform(0.3, 1.0) if rng.random() < 0.45 else 0.0
    awn_col = pick_color(rng, palette.AWNING, 0.08)
    awn_col2 = pick_color(rng, palette.AWNING_STRIPE, 0.04) if rng.random() < 0.5 else None
    sign_col = pick_color(rng, palette.SIGN, 0.08)
    letter_col = 255 - sign_col * F32(0.6)
    door_col = pick_color(rng, palette.DOOR, 0.1)
    interior = pick_color(rng, palette.INTERIOR, 0.1)
    bw = st.bay_w
    ft = st.ft
    j = 0
    while j < len(bays):
        xc = bays[j]
        if shops and rng.random() < 0.8:
            span = 2 if (j + 1 < len(bays) and rng.random() < 0.35) else 1
            x0 = round(xc - bw * 0.4)
            x1 = round(xc - bw / 2 + span * bw - bw * 0.1)
            top = gf_top + round(gf_h * rng.uniform(0.18, 0.3))
            sign_h = max(2, round(gf_h * 0.1))
            fill_rect(img, top - sign_h - ft, top - ft, x0, x1, sign_col)
            if rng.random() < 0.5:  # lettering on the sign
                for _ in range(rng.integers(2, 5)):
                    lx = rng.integers(x0 + 1, max(x0 + 2, x1 - 2))
                    fill_rect(img, top - sign_h - ft + 1, top - ft - 1, lx,
                          lx + max(1, sign_h // 2), letter_col)
            fill_rect(img, top - ft, street, x0 - ft, x1 + ft, frame)
            gh = street - top - ft
            if gh > 0:
                yg0, yg1, xg0, xg1 = max(top, 0), min(street - ft, h), max(x0, 0), min(x1, w)
                if yg1 > yg0 and xg1 > xg0:
                    grad = np.linspace(30, -10, gh, dtype=F32)[yg0 - top:yg1 - top]
                    img[:, yg0:yg1, xg0:xg1] = (interior[:, None] + grad[None])[:, :, None]
                mid = (x0 + x1) // 2  # glazing bar / door and a kick plate
                fill_rect(img, top, street, mid - max(1, ft // 2), mid + max(1, ft // 2), frame)
                fill_rect(img, street - ft - max(2, gh // 5), street - ft, x0, x1,
                      frame * F32(0.9))
            if rng.random() < awning_p:
                ah = max(3, round(gf_h * rng.uniform(0.16, 0.26)))
                ay0 = top - ft
                ax0, ax1 = x0 - 2 * ft, x1 + 2 * ft
                yb0, yb1, xb0, xb1 = max(ay0, 0), min(ay0 + ah, h), max(ax0, 0), min(ax1, w)
                if yb1 > yb0 and xb1 > xb0:
                    region = img[:, yb0:yb1, xb0:xb1]
                    region[:] = pixel(awn_col)
                    if awn_col2 is not None:
                        stripe = max(2, round(bw / 10))
                        xs = np.arange(xb0, xb1) - ax0
                        region[:, :, (xs // stripe) % 2 == 1] = pixel(awn_col2)
                    ys = np.arange(yb0, yb1, dtype=F32) - ay0
                    region *= (1.0 - F32(0.3) * ys / ah)[None, :, None]
                shade_rect(img, ay0 + ah, ay0 + ah + max(2, ah // 2), ax0, ax1, 0.6)
            j += span
            continue
        if rng.random() < (0.7 if shops else 0.4):  # a door
            dw = max(4, round(bw * rng.uniform(0.35, 0.55)))
            x0 = round(xc - dw / 2)
            top = gf_top + round(gf_h * rng.uniform(0.12, 0.25))
            fill_rect(img, top - ft, street, x0 - ft, x0 + dw + ft, st.stone)
            fill_rect(img, top, street, x0, x0 + dw, door_col)
            tr = max(2, round((street - top) * 0.22))
            fill_rect(img, top, top + tr, x0 + 1, x0 + dw - 1, interior)
            ph = street - top - tr
            pw = max(1, dw // 2 - 2)
            shade_rect(img, top + tr + ph // 8, street - ph // 8, x0 + 1, x0 + 1 + pw, 0.78)
            shade_rect(img, top + tr + ph // 8, street - ph // 8, x0 + dw - 1 - pw, x0 + dw - 1,
                   0.78)
        else:  # a barred window
            wtop = gf_top + round((gf_h - st.wh) * rng.uniform(0.3, 0.5))
            x0 = round(xc - st.ww / 2)
            fill_rect(img, wtop - ft, wtop + st.wh + ft, x0 - ft, x0 + st.ww + ft, frame)
            fill_rect(img, wtop, wtop + st.wh, x0, x0 + st.ww, interior)
            pitch = max(2, round(st.ww / 4))
            for bx in range(x0 + pitch, x0 + st.ww, pitch):
                fill_rect(img, wtop, wtop + st.wh, bx, bx + 1, frame * F32(0.6))
        j += 1
    # sidewalk and street
    if street < h:
        walk = F32(rng.uniform(120, 175)) * rng.uniforms(0.96, 1.04, 3)
        ys = np.arange(street, h, dtype=F32)
        fade = 0.75 + 0.25 * np.minimum(1.0, (ys - street + 1) / 3.0)
        curb = street + max(2, round(st.floor_h * 0.18))
        fade[ys == curb] *= 0.7
        fade[ys > curb] *= 0.7
        img[:, street:] = pixel(walk) * fade[None, :, None]


def _draw_top(rng: Draws, img: np.ndarray, st: _Style, roof_y: int,
              bays: list[float]) -> None:
    """Cornice ending at ``roof_y``, a roof (mansard, parapet or none) and sky above it."""
    h, w = img.shape[1:]
    if roof_y <= 0:
        return
    fh = st.floor_h
    ch = max(2, round(fh * rng.uniform(0.12, 0.24)))
    roof_kind = choose(rng, dict(enumerate((0.5, 0.25, 0.25))))
    mans_h = round(fh * rng.uniform(0.55, 0.9)) if roof_kind == 0 else 0
    par_h = round(fh * rng.uniform(0.2, 0.35)) if roof_kind == 1 else 0
    top_of_building = roof_y - ch - mans_h - par_h

    # sky: a vertical gradient, sometimes clouds, sometimes chimneys against it
    sky_top = pick_color(rng, palette.SKY_TOP, 0.05)
    sky_bot = np.minimum(sky_top * F32(1.12) + F32(25), F32(255))
    sy1 = min(max(top_of_building, 0), h)
    if sy1 > 0:
        t = np.linspace(0.0, 1.0, max(roof_y, 2), dtype=F32)[:sy1]
        img[:, :sy1] = (sky_top[:, None] * (1 - t)[None] + sky_bot[:, None] * t[None])[..., None]
        if rng.random() < 0.5:
            cloud = smooth_noise(rng, sy1, w, rng.integers(3, 7))
            img[:, :sy1] += (np.maximum(cloud, 0) * F32(rng.uniform(10, 30)))[None]
        if roof_kind != 2 and rng.random() < 0.6:
            for _ in range(rng.integers(1, 3)):
                cw = max(3, round(fh * rng.uniform(0.15, 0.3)))
                cx = rng.integers(-cw, w)
                c_h = round(fh * rng.uniform(0.25, 0.5))
                ccol = pick_color(rng, palette.BRICK, 0.05) if rng.random() < 0.5 else st.wall * F32(0.85)
                fill_rect(img, top_of_building - c_h, top_of_building, cx, cx + cw, ccol)
                fill_rect(img, top_of_building - c_h - 1, top_of_building - c_h + 1, cx - 1,
                      cx + cw + 1, ccol * F32(0.7))
    if roof_kind == 0:  # mansard roof with dormers
        my0 = roof_y - ch - mans_h
        roof_col = pick_color(rng, palette.ROOF, 0.06)
        yb0, yb1 = max(my0, 0), min(roof_y - ch, h)
        if yb1 > yb0:
            ys = np.arange(yb0, yb1, dtype=F32)
            ramp = 0.85 + 0.2 * (ys - my0) / max(mans_h, 1)
            img[:, yb0:yb1] = roof_col[:, None, None] * ramp[None, :, None]
            img[:, yb0:yb1, ::max(3, round(fh / 8))] *= F32(0.88)
        if rng.random() < 0.8:
            dw = max(3, round(st.ww * 0.8))
            dh = max(3, round(mans_h * 0.55))
            dy = my0 + round(mans_h * 0.25)
            df = max(1, dw // 6)
            every = 1 if rng.random() < 0.6 else 2
            phase = rng.integers(every)
            dglass = st.glass * F32(0.9)
            dcap = roof_col * F32(0.8)
            for k, xc in enumerate(bays):
                if k % every != phase:
                    continue
                x0 = round(xc - dw / 2)
                fill_rect(img, dy, dy + dh, x0 - df, x0 + dw + df, st.stone)
                fill_rect(img, dy - df * 2, dy, x0 - df * 2, x0 + dw + df * 2, dcap)
                fill_rect(img, dy + df, dy + dh, x0 + df, x0 + dw - df, dglass)
                shade_rect(img, dy + df, dy + 2 * df, x0 + df, x0 + dw - df, 0.6)
    elif roof_kind == 1:  # parapet, sometimes a balustrade
        py0 = roof_y - ch - par_h
        fill_rect(img, py0, roof_y - ch, 0, w, st.stone)
        if rng.random() < 0.6:
            pitch = max(3, round(fh / 6))
            holes = (np.arange(w) % pitch) >= max(1, pitch // 2)
            yb0 = max(py0 + max(1, par_h // 4), 0)
            yb1 = min(roof_y - ch - max(1, par_h // 5), h)
            if yb1 > yb0:
                img[:, yb0:yb1, holes] = pixel(sky_bot)
    # cornice with an optional row of dentils and a shadow below
    cy0 = roof_y - ch
    fill_rect(img, cy0, roof_y, 0, w, st.stone)
    shade_rect(img, cy0, cy0 + max(1, ch // 4), 0, w, 1.08)
    if ch >= 4 and rng.random() < 0.55:
        dp = max(2, round(fh / 14))
        yb0, yb1 = max(roof_y - ch // 2, 0), min(roof_y, h)
        if yb1 > yb0:
            img[:, yb0:yb1, (np.arange(w) % (2 * dp)) < dp] *= F32(0.78)
    shade_rect(img, roof_y, roof_y + max(1, round(ch * 0.5)), 0, w, 0.62)


def _render_building(rng: Draws, size: int, width: int | None = None) -> np.ndarray:
    """One building as a float32 (3, size, width) image (0..255); ``size`` sets the scale."""
    h = size
    w = size if width is None else width
    wall_kind = choose(rng, dict(enumerate((0.5, 0.28, 0.22))))
    wall = pick_color(rng, (palette.PLASTER, palette.BRICK, palette.ASHLAR)[wall_kind], 0.06)
    st = _make_style(rng, size, wall)
    img = _wall_texture(rng, h, w, st.floor_h, wall_kind, wall)
    fh = st.floor_h

    # vertical layout: street level, ground floor, upper floors, cornice
    gf_h = fh * rng.uniform(1.1, 1.45)
    n_upper = rng.integers(3, 7)
    while gf_h + n_upper * fh < 0.75 * size:
        n_upper += 1
    facade_h = gf_h + n_upper * fh
    lo = 0.93 * size  # street at the very bottom ...
    hi = max(lo, facade_h + 0.28 * size)  # ... to the cornice at 28% of the height
    view = rng.random()
    if view < 0.25:  # looking at the top: cornice and roof in view
        street_f = rng.uniform(max(lo, min(facade_h, hi) - 0.05 * size), hi)
    elif view < 0.5:  # looking at the bottom: ground floor in view
        street_f = rng.uniform(lo, min(hi, max(lo, size + 0.6 * gf_h)))
    else:
        street_f = rng.uniform(lo, hi)
    street = round(street_f)
    gf_top = round(street_f - gf_h)
    roof_y = round(street_f - facade_h)

    # bay centres: a periodic grid with a random horizontal phase
    first = int(np.floor(-st.off_x / st.bay_w)) - 1
    last = int(np.ceil((w - st.off_x) / st.bay_w)) + 1
    bays = [st.off_x + (j + 0.5) * st.bay_w for j in range(first, last)]

    course = rng.random() < 0.45  # string courses at the floor lines
    course_h = max(1, round(fh * rng.uniform(0.04, 0.08)))

    # windows: one or two sprite variants, combined into one or two full-width row layers
    prem, alpha, gmask, oy, ox = _window_sprite(st)
    sprites = [(prem, alpha)]
    if rng.random() < 0.7:
        delta = F32(rng.uniform(-22, 22))
        sprites.append((prem + (gmask * alpha)[None] * delta, alpha))
    xs = [round(xc - st.ww / 2) - ox for xc in bays]
    n_layers = len(sprites)
    layers = [_window_row(sprites, xs, [rng.integers(len(sprites)) for _ in xs], w)
              for _ in range(n_layers)]

    balcony_mode = choose(rng, dict(enumerate((0.35, 0.2, 0.3, 0.15))))
    rail = _railing(rng, st, w) if balcony_mode else None
    balc_floors: set[int] = set()
    if balcony_mode == 1:
        balc_floors = set(range(n_upper))
    elif balcony_mode == 2:
        balc_floors = {1, n_upper - 1} if rng.random() < 0.6 else {0}
    elif balcony_mode == 3:
        balc_floors = {k for k in range(n_upper) if rng.random() < 0.5}
    if rail is not None and rng.random() < 0.5:
        # a separate balcony in front of each window instead of one running balcony
        ext = max(1, round(st.ww * 0.15))
        keep = np.zeros(w, bool)
        for xc in bays:
            x0 = round(xc - st.ww / 2) - ext
            keep[max(x0, 0):max(x0 + st.ww + 2 * ext, 0)] = True
        rail = (rail[0] * keep, rail[1] * keep)
    blind_col = pick_color(rng, palette.BLIND, 0.05)
    blinds = st.blind_p > 0 and not st.arched

    for k in range(n_upper):
        top_f = street_f - gf_h - (k + 1) * fh
        ftop = round(top_f)
        if ftop >= h or ftop + fh + 1 < 0:
            continue
        if course:
            cy = round(top_f + fh)
            fill_rect(img, cy - course_h, cy, 0, w, st.stone)
            shade_rect(img, cy, cy + 1, 0, w, 0.75)
        wy = ftop + st.win_top
        lp, la = layers[rng.integers(n_layers)]
        paste(img, wy - oy, 0, lp, la)
        if blinds:
            inner_h = st.wh - 2 * st.ft
            for xc in bays:
                if rng.random() < st.blind_p:
                    d = rng.uniform(0.15, 0.7)
                    wx = round(xc - st.ww / 2)
                    fill_rect(img, wy + st.ft, wy + st.ft + round(inner_h * d), wx + st.ft,
                          wx + st.ww - st.ft, blind_col)
        if rail is not None and k in balc_floors:
            rp, ra = rail
            paste(img, wy + st.wh - ra.shape[0] + max(2, round(fh * 0.1)), 0, rp, ra)

    _draw_ground_floor(rng, img, st, gf_top, street, bays)
    _draw_top(rng, img, st, roof_y, bays)
    return img


# --------------------------------------------------------------------------------------------
# public API


def _check_split(split: str) -> int:
    if split not in _SPLIT_ID:
        raise ValueError(f"unknown facade split {split!r}; expected one of {FACADE_SPLITS}")
    return _SPLIT_ID[split]


def _render_chw(split_id: int, index: int, size: int) -> np.ndarray:
    """The facade as uint8 (3, size, size)."""
    rng = Draws(np.random.default_rng([split_id, index]))
    img = _render_building(rng, size)

    if rng.random() < 0.2:  # a neighbouring building on one side
        xb = round(size * rng.uniform(0.12, 0.38))
        other = _render_building(rng, size, xb)
        edge = max(1, size // 64)
        if rng.random() < 0.5:
            img[:, :, :xb] = other
            img[:, :, xb:xb + edge] *= F32(0.7)
        else:
            img[:, :, size - xb:] = other
            img[:, :, size - xb - edge:size - xb] *= F32(0.7)

    # lighting (brightness, colour cast, linear gradient) and mild grain
    gy = F32(rng.uniform(-0.18, 0.18))
    gx = F32(rng.uniform(-0.22, 0.22))
    ramp = np.linspace(-0.5, 0.5, size, dtype=F32)
    light = (1.0 + gy * ramp)[:, None] + (gx * ramp)[None, :]
    light *= F32(rng.uniform(0.78, 1.12))
    img *= light[None]
    img *= pixel(rng.uniforms(0.94, 1.06, 3))
    n = 512 if size <= 256 else 2 * size
    py, px = rng.integers(0, n - size + 1), rng.integers(0, n - size + 1)
    img += (grain_field(n)[py:py + size, px:px + size] * F32(rng.uniform(2.0, 5.0)))[None]
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _validate(split: str, index: int, size: int) -> tuple[int, int, int]:
    split_id = _check_split(split)
    index, size = int(index), int(size)
    if index < 0:
        raise ValueError(f"facade index must be >= 0, got {index}")
    if size < _MIN_SIZE:
        raise ValueError(f"facade size must be >= {_MIN_SIZE}, got {size}")
    return split_id, index, size


def render_facade(split: str, index: int, size: int = 128) -> np.ndarray:
    """HxWx3 uint8 RGB image, a deterministic function of (split, index, size)."""
    chw = _render_chw(*_validate(split, index, size))
    return cv2.merge([chw[0], chw[1], chw[2]])


def _flip_for(split_id: int, index: int) -> bool:
    """The horizontal flip of item ``index``: a function of (split, index) only."""
    return bool(np.random.default_rng([split_id, index, _FLIP_STREAM]).integers(2))


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
        self.split_id = _check_split(split)
        self.split = split
        if int(size) < _MIN_SIZE:
            raise ValueError(f"facade size must be >= {_MIN_SIZE}, got {size}")
        self.size = int(size)
        self.length = _DEFAULT_LENGTH[split] if length is None else int(length)
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
        chw = _render_chw(self.split_id, i, self.size)
        if self.flip and _flip_for(self.split_id, i):
            chw = chw[:, :, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(chw)).float()
        return t.div_(127.5).sub_(1.0)

    def __repr__(self) -> str:
        return (f"FacadesDataset(split={self.split!r}, size={self.size}, "
                f"length={self.length}, flip={self.flip})")
