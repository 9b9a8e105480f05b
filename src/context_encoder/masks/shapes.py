"""The paper's masks: the center hole, random rectangles and random regions (Pathak et al.,
CVPR 2016)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import Size, _as_size, _check_frac_range, _check_int_range, _check_rng, _draw_box

# --------------------------------------------------------------------------------------------
# center (the paper's task)


def center_span(size: int, overlap: int = 0) -> tuple[int, int]:
    """``[start, end)`` along one axis of the central ``size/2`` span shrunk by ``overlap``
    on each side: ``(32, 96)`` at 128 px (the predicted square), ``(36, 92)`` with the
    paper's 4 px overlap (the blanked square)."""
    start = size // 4
    return start + overlap, start + size // 2 - overlap


def center_box(size: Size, *, overlap: int = 0) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the central ``H/2 x W/2`` patch shrunk by ``overlap``.

    ``overlap=0`` is the patch the network predicts (``[32:96, 32:96]`` at 128 px); the
    default ``overlap=4`` of :func:`center_mask` gives the blanked hole (``[36:92, 36:92]``).
    Both sides must be even.
    """
    h, w = _as_size(size)
    if h % 2 or w % 2:
        raise ValueError(f"center masks need even sides, got {h}x{w}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    ph, pw = h // 2, w // 2
    if ph - 2 * overlap < 1 or pw - 2 * overlap < 1:
        raise ValueError(
            f"overlap {overlap} leaves no hole inside the {ph}x{pw} center patch of a {h}x{w} image"
        )
    (top, bottom), (left, right) = center_span(h, overlap), center_span(w, overlap)
    return top, left, bottom - top, right - left


def center_mask(
    size: Size, rng: np.random.Generator | None = None, *, overlap: int = 4
) -> np.ndarray:
    """The paper's center hole: the inner ``(H/2 - 2*overlap) x (W/2 - 2*overlap)`` square.

    This is the region blanked (mean-filled) in the input: 56x56 at 128 px with the default
    ``overlap=4``. The network still predicts the whole ``H/2 x W/2`` center
    (:func:`center_box` with ``overlap=0``). ``rng`` is unused (deterministic); it is accepted so
    the function fits the common ``gen(size, rng)`` interface.
    """
    h, w = _as_size(size)
    top, left, bh, bw = center_box((h, w), overlap=overlap)
    mask = np.zeros((h, w), dtype=bool)
    mask[top : top + bh, left : left + bw] = True
    return mask


# --------------------------------------------------------------------------------------------
# random rectangles


def block_mask(
    size: Size,
    rng: np.random.Generator,
    *,
    min_blocks: int = 1,
    max_blocks: int = 4,
    min_frac: float = 0.1,
    max_frac: float = 0.4,
) -> np.ndarray:
    """Union of ``min_blocks..max_blocks`` random axis-aligned rectangles.

    Each side is a uniform fraction in ``[min_frac, max_frac]`` of the image side (drawn
    independently for height and width); the position is uniform inside the image.
    """
    h, w = _as_size(size)
    rng = _check_rng(rng)
    _check_int_range("blocks", min_blocks, max_blocks, minimum=1)
    _check_frac_range("block side", min_frac, max_frac)
    canvas = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(min_blocks, max_blocks + 1))):
        fh, fw = rng.uniform(min_frac, max_frac, size=2)
        _draw_box(canvas, rng, round(fh * h), round(fw * w))
    return canvas.astype(bool)


# --------------------------------------------------------------------------------------------
# the paper's random region (thresholded smooth noise)

_REGION_CANVAS = 3  # noise canvas is this many times the mask size per axis
_REGION_WINDOWS = 64  # random windows tried per noise canvas (vectorised)
_REGION_CANVASES = 4  # noise canvases tried before adjusting the threshold


def region_mask(
    size: Size,
    rng: np.random.Generator,
    *,
    min_cover: float = 0.2,
    max_cover: float = 0.3,
    threshold: float = 0.25,
    cell_frac: float = 0.13,
) -> np.ndarray:
    """The paper's random-region mask: blobs of thresholded, bicubic-upsampled uniform noise.

    The original draws 600x600 uniform noise, upsamples it bicubically to 10000x10000 (one
    noise cell per ~16.7 px, i.e. ~0.13 of a 128 px image), holes where the noise is below 0.25,
    and crops random 128 px windows until 20-30 % of the window is hole. Here the canvas is
    3x the mask size, with a noise cell of ``cell_frac`` times the shorter side; windows are
    scored with an integral image. If no window of a few fresh canvases qualifies, the
    threshold is adapted on one window so the hole fraction is a uniform target in range:
    the result is always inside ``[min_cover, max_cover]``.
    """
    h, w = _as_size(size)
    rng = _check_rng(rng)
    if not 0.0 < min_cover <= max_cover < 1.0:
        raise ValueError(
            f"cover range must satisfy 0 < min_cover <= max_cover < 1, got [{min_cover}, {max_cover}]"
        )
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if not 0.0 < cell_frac <= 1.0:
        raise ValueError(f"cell_frac must be in (0, 1], got {cell_frac}")
    n = h * w
    k_lo, k_hi = math.ceil(min_cover * n), math.floor(max_cover * n)
    if k_lo > k_hi:
        raise ValueError(
            f"no hole pixel count of a {h}x{w} mask gives a fraction in [{min_cover}, {max_cover}]"
        )

    ch, cw = _REGION_CANVAS * h, _REGION_CANVAS * w
    cell = max(2.0, cell_frac * min(h, w))
    gh, gw = math.ceil(ch / cell) + 1, math.ceil(cw / cell) + 1
    noise = np.empty((ch, cw), dtype=np.float32)
    for _ in range(_REGION_CANVASES):
        low = rng.random((gh, gw), dtype=np.float32)
        noise = cv2.resize(low, (cw, ch), interpolation=cv2.INTER_CUBIC)
        hole = noise < threshold
        integral = cv2.integral(hole.view(np.uint8), sdepth=cv2.CV_32S)
        ys = rng.integers(0, ch - h + 1, size=_REGION_WINDOWS)
        xs = rng.integers(0, cw - w + 1, size=_REGION_WINDOWS)
        counts = (
            integral[ys + h, xs + w]
            - integral[ys, xs + w]
            - integral[ys + h, xs]
            + integral[ys, xs]
        )
        ok = np.flatnonzero((counts >= k_lo) & (counts <= k_hi))
        if ok.size:
            y, x = int(ys[ok[0]]), int(xs[ok[0]])
            return hole[y : y + h, x : x + w].copy()

    # Last resort: keep the blob shapes of one window, choose its threshold so the hole
    # covers a uniform target fraction in range (ties in float noise are negligible).
    y, x = int(rng.integers(0, ch - h + 1)), int(rng.integers(0, cw - w + 1))
    window = noise[y : y + h, x : x + w]
    k = int(np.clip(round(rng.uniform(min_cover, max_cover) * n), k_lo, k_hi))
    order = np.argsort(window, axis=None, kind="stable")
    flat = np.zeros(n, dtype=bool)
    flat[order[:k]] = True
    return flat.reshape(h, w)

