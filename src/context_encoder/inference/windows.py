"""Context windows for images of any size: where each hole is seen by the model, and how
its prediction goes back.

* :class:`WindowGeometry`: window sides and positions for one :class:`ModelConfig`, with
  the hole-to-context ratio the model was trained with (the center model's numbers come
  from the config's ``hole_size`` / ``blank_span`` / ``blank_size`` properties);
* :func:`group_holes`: the hole's connected components, grouped where they share a window;
* :func:`crop_window` (reflected past the image:
  :func:`context_encoder.pixels.reflect_index`),
  :func:`resize_square` and :func:`resize_any` (binary maps: holes, sketches);
* :func:`paste_window`: a window's prediction resized back and written into its holes;
* :func:`smooth_fill` (push-pull fill of the holes) and :func:`feather_seam` (the seam
  blend inside the hole's edge).

Arrays are ``HxWx3`` float32 in [0, 1] and boolean ``HxW`` masks (True = hole).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import ModelConfig
from ..pixels import reflect_index

__all__ = [
    "MAX_FEATHER",
    "HoleGroup",
    "WindowGeometry",
    "crop_window",
    "feather_seam",
    "group_holes",
    "paste_window",
    "resize_any",
    "resize_square",
    "smooth_fill",
]


@dataclass
class HoleGroup:
    """Hole components filled from one context window."""

    labels: list[int]  # component labels (from :func:`group_holes`) in this group
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive) of the union
    top: int = 0  # the window: its top-left corner (may be outside the image) and side
    left: int = 0
    side: int = 0




def crop_window(a: np.ndarray, g: HoleGroup) -> np.ndarray:
    """The ``g.side`` square of ``a`` at (``g.top``, ``g.left``), reflected past the edges
    (a view of ``a`` where the square lies inside it)."""
    h, w = a.shape[:2]
    if g.top >= 0 and g.left >= 0 and g.top + g.side <= h and g.left + g.side <= w:
        return a[g.top : g.top + g.side, g.left : g.left + g.side]
    rows = reflect_index(np.arange(g.top, g.top + g.side), h)
    cols = reflect_index(np.arange(g.left, g.left + g.side), w)
    return a.take(rows, axis=0).take(cols, axis=1)  # 5x faster than a[rows[:, None], cols]


def resize_square(a: np.ndarray, size: int, *, smooth_up: bool = True) -> np.ndarray:
    """Square ``a`` to ``size x size``: area when shrinking, cubic (or linear) growing."""
    n = a.shape[0]
    if n == size:
        return a
    if n > size:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_CUBIC if smooth_up else cv2.INTER_LINEAR
    return cv2.resize(a, (size, size), interpolation=interp)


def resize_any(a: np.ndarray, size: int) -> np.ndarray:
    """A boolean square ``a`` resized to ``size x size`` as float32 0/1, where a pixel is
    set if any pixel of ``a`` in its footprint is (holes, sketch strokes): thin lines
    survive shrinking. Area shrinking gives exactly 0 where a footprint holds nothing set;
    linear enlarging leaves rounding dust, hence the small threshold there."""
    m = resize_square(a.astype(np.float32), size, smooth_up=False)
    return (m > (0.0 if a.shape[0] >= size else 1e-3)).astype(np.float32)


def _clamp_window(start: int, side: int, n: int) -> int:
    """Keep a window inside ``0..n`` when it fits, else make it cover the whole axis."""
    if side <= n:
        return min(max(start, 0), n - side)
    return min(max(start, n - side), 0)


class WindowGeometry:
    """Window sizes and positions for one model configuration.

    ``task="full"``: the window is twice the hole's bounding box, at most the image's
    longer side (or S if larger), at least ``min(S, longer side)``, kept inside the image
    where it fits. ``task="center"``: the bounding box is centered and must map inside
    the blanked square (``config.blank_span``), at least ``min(hole_size, longer side)``.
    """

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.size = config.image_size  # S, the model's input side
        self.task = config.task
        self.blank = config.blank_span  # [a, b) of the square a center model blanks
        self.min_side = self.size if self.task == "full" else config.hole_size

    def side(self, s: np.ndarray | int, longest: int) -> np.ndarray:
        """Window side for bbox side(s) ``s`` in an image whose longer side is ``longest``."""
        s = np.asarray(s, dtype=np.int64)
        lo = max(2, min(self.min_side, longest))
        if self.task == "full":
            # twice the hole, but never past the image: a model trained on whole images
            # with masks at native scale sees an image up to S px exactly as in training
            need = np.minimum(2 * s, max(longest, self.size))
        else:
            need = -(-s * self.size // self.config.blank_size)  # ceil
        return np.maximum(need, lo)

    def inside_blank(self, i0: int, i1: int, side: int) -> bool:
        """Whether window pixels ``[i0, i1)`` of a ``side`` px window fall inside the
        blanked square once the window is scaled to S (they cover model pixels
        ``[i0*S/side, i1*S/side)``)."""
        a, b = self.blank
        return i0 * self.size >= a * side and i1 * self.size <= b * side

    def place(self, g: HoleGroup, h_img: int, w_img: int) -> None:
        """Set ``g.top``, ``g.left`` and ``g.side`` for an ``h_img x w_img`` image."""
        y0, x0, y1, x1 = g.box
        h, w = y1 - y0, x1 - x0
        side = int(self.side(max(h, w), max(h_img, w_img)))
        if self.task == "full":
            top, left = y0 - (side - h) // 2, x0 - (side - w) // 2
            top = _clamp_window(top, side, h_img)
            left = _clamp_window(left, side, w_img)
        else:
            while True:
                top, left = y0 - (side - h) // 2, x0 - (side - w) // 2
                if self.inside_blank(y0 - top, y1 - top, side) and self.inside_blank(
                    x0 - left, x1 - left, side
                ):
                    break
                side += 1
        g.top, g.left, g.side = top, left, side

    def needs_smooth_context(self, mask: np.ndarray, g: HoleGroup) -> bool:
        """Whether hole pixels can reach the model input of window ``g`` as context.

        The full-task model blanks every model pixel that a hole pixel touches; the
        center-task model blanks its central square, so there only hole pixels mapped
        outside that square (other holes, reflections) are context. Area shrinking (window
        at least S px) keeps each pixel's footprint, so this holds after resampling too;
        cubic enlarging (smaller windows) spreads pixels into their neighbours and always
        gets the smooth fill."""
        if g.side < self.size:
            return True
        if self.task == "full":
            return False
        win = crop_window(mask, g)
        ys, xs = np.flatnonzero(win.any(axis=1)), np.flatnonzero(win.any(axis=0))
        inside = self.inside_blank(int(ys[0]), int(ys[-1]) + 1, g.side) and \
            self.inside_blank(int(xs[0]), int(xs[-1]) + 1, g.side)
        return not inside


def group_holes(mask: np.ndarray, geo: WindowGeometry) -> tuple[np.ndarray, list[HoleGroup]]:
    """Label the hole's connected components (8-connectivity) and group those that share
    a window: largest first, a component joins the group whose window would not grow by
    taking it in (the one with the smallest union box), else starts its own group.
    Returns ``(labels, groups)``; the groups' windows are not placed yet."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S
    )
    longest = max(mask.shape)
    n = count - 1
    boxes = np.empty((n, 4), dtype=np.int64)  # y0, x0, y1, x1
    boxes[:, 0] = stats[1:, cv2.CC_STAT_TOP]
    boxes[:, 1] = stats[1:, cv2.CC_STAT_LEFT]
    boxes[:, 2] = boxes[:, 0] + stats[1:, cv2.CC_STAT_HEIGHT]
    boxes[:, 3] = boxes[:, 1] + stats[1:, cv2.CC_STAT_WIDTH]
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable")

    gbox = np.empty((n, 4), dtype=np.int64)
    gside = np.empty(n, dtype=np.int64)
    members: list[list[int]] = []
    for i in order:
        y0, x0, y1, x1 = boxes[i]
        k = len(members)
        if k:
            uy0 = np.minimum(gbox[:k, 0], y0)
            ux0 = np.minimum(gbox[:k, 1], x0)
            uy1 = np.maximum(gbox[:k, 2], y1)
            ux1 = np.maximum(gbox[:k, 3], x1)
            wu = geo.side(np.maximum(uy1 - uy0, ux1 - ux0), longest)
            ok = np.flatnonzero(wu <= gside[:k])
            if ok.size:
                j = int(ok[np.argmin(((uy1 - uy0) * (ux1 - ux0))[ok])])
                gbox[j] = (uy0[j], ux0[j], uy1[j], ux1[j])
                gside[j] = wu[j]
                members[j].append(int(i) + 1)
                continue
        gbox[k] = boxes[i]
        gside[k] = geo.side(max(y1 - y0, x1 - x0), longest)
        members.append([int(i) + 1])
    groups = [HoleGroup(m, tuple(int(v) for v in gbox[j])) for j, m in enumerate(members)]
    return labels, groups


def paste_window(dest: np.ndarray, labels: np.ndarray, g: HoleGroup, pred: np.ndarray) -> None:
    """Resize the window prediction ``pred`` (``S x S x 3``) back to ``g.side`` and write
    it into ``dest`` at the pixels of ``g``'s components (``labels`` from
    :func:`group_holes`); the groups of an image are disjoint, so they can be pasted in
    any order or in parallel."""
    back = resize_square(pred, g.side)
    y0, x0, y1, x1 = g.box
    own = labels[y0:y1, x0:x1]
    sel = own == g.labels[0] if len(g.labels) == 1 else np.isin(own, g.labels)
    win = back[y0 - g.top : y1 - g.top, x0 - g.left : x1 - g.left]
    dest[y0:y1, x0:x1][sel] = win[sel]


def smooth_fill(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with its holes filled by a smooth push-pull interpolation of the known
    pixels (linear time), so that windows show natural colours where other holes, or the
    reflections of holes, fall into their context."""

    def pushpull(val: np.ndarray, wgt: np.ndarray) -> np.ndarray:
        h, w = wgt.shape
        if h == 1 and w == 1:
            return val / max(float(wgt[0, 0]), 1e-12)
        size = ((w + 1) // 2, (h + 1) // 2)
        coarse = pushpull(cv2.resize(val, size, interpolation=cv2.INTER_AREA).reshape(
            size[1], size[0], 3), cv2.resize(wgt, size, interpolation=cv2.INTER_AREA))
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, 3)
        return val + (1.0 - wgt[..., None]) * up

    known = (~mask).astype(np.float32)
    filled = pushpull(rgb * known[..., None], known)
    base = rgb.copy()
    base[mask] = np.clip(filled[mask], 0.0, 1.0)
    return base


#: The widest seam blend (px): its smoothing works on about 3x this around the holes.
MAX_FEATHER = 64


def feather_seam(rgb: np.ndarray, mask: np.ndarray, pred: np.ndarray,
                 feather: int) -> np.ndarray:
    """Blend the outer ``feather`` px of the hole towards a smooth estimate of the known
    colours around it (weight of the prediction: 0.5 at the edge, 1 from ``feather`` px
    in). Only hole pixels change."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if feather <= 0 or not rows.size:
        return pred
    # The distance matters below feather + 1 px only: measured around the holes, it is exact
    # there (the nearest known pixel lies inside) and at least feather + 1 elsewhere.
    y0, x0 = max(int(rows[0]) - feather - 1, 0), max(int(cols[0]) - feather - 1, 0)
    near = mask[y0 : int(rows[-1]) + feather + 2, x0 : int(cols[-1]) + feather + 2]
    dist = cv2.distanceTransform(near.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    alpha = np.clip(0.5 + 0.5 * (dist - 1.0) / feather, 0.5, 1.0)
    band = near & (alpha < 1.0)
    if not band.any():
        return pred
    by, bx = np.nonzero(band)
    ys, xs = by + y0, bx + x0
    pad = 3 * feather + 2
    r0, r1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, mask.shape[0])
    c0, c1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, mask.shape[1])
    known = (~mask[r0:r1, c0:c1]).astype(np.float32)
    sigma = float(feather)
    num = cv2.GaussianBlur(rgb[r0:r1, c0:c1] * known[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(known, (0, 0), sigma)
    yy, xx = ys - r0, xs - c0
    d = den[yy, xx]
    ok = d > 1e-4
    est = num[yy[ok], xx[ok]] / d[ok, None]
    a = alpha[by[ok], bx[ok]][:, None]
    out = pred.copy()
    out[ys[ok], xs[ok]] = a * pred[ys[ok], xs[ok]] + (1.0 - a) * est
    return out
