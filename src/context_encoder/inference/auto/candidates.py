"""The candidates of ``auto``: each a ``fill_fn(rgb01, mask) -> rgb01`` (float32 ``HxWx3``
in [0, 1] and a boolean ``HxW`` mask, possibly several disjoint holes, in; the image with the
mask's pixels filled out). :func:`classical_candidates` and :func:`inpainter_filler` build
them from :mod:`context_encoder.baselines` and from an inpainter; the classical ones fill a
hole of over :data:`COARSE_MIN_HOLE` pixels with Telea or Navier-Stokes
:func:`coarse_to_fine` (the real hole of a large photo: probes are never that large).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from ...baselines import available_baselines, get_baseline
from ...pixels import to_uint8
from .probes import shrink_mask

__all__ = [
    "BIHARMONIC_MAX_HOLE",
    "CLASSICAL_CANDIDATES",
    "COARSE_BAND",
    "COARSE_METHODS",
    "COARSE_MIN_HOLE",
    "PATCHMATCH_MAX_PIXELS",
    "FillFn",
    "at_most_pixels",
    "baseline_filler",
    "classical_candidates",
    "coarse_to_fine",
    "inpainter_filler",
]

#: ``fill_fn(rgb01 HxWx3 float32, mask HxW bool) -> rgb01`` with the mask's pixels filled.
FillFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Classical candidates by default (``mean`` is never the best on photos).
CLASSICAL_CANDIDATES: tuple[str, ...] = ("telea", "ns", "biharmonic", "patchmatch")

#: Biharmonic is left out of :func:`classical_candidates` above this many hole pixels, so
#: that filling the real hole stays within about a second on a 2-core CPU: its sparse solve
#: grows with the hole (~0.2 s for 16k hole pixels, ~1.5 s for 65k). PatchMatch grows with
#: the image it runs on (~0.7 s for 256x256, ~3.5 s for 512x512): larger images are filled
#: on a copy halved until it has at most :data:`PATCHMATCH_MAX_PIXELS`, the fill enlarged
#: back into the hole (:func:`at_most_pixels`).
BIHARMONIC_MAX_HOLE = 25_000
PATCHMATCH_MAX_PIXELS = 150_000

#: :func:`coarse_to_fine`: holes of more pixels are filled mostly at a coarser scale (a
#: 256 x 256 square's worth: the probes, at most ``count`` x ``ProbeSettings.pixels``
#: pixels, never are), and the band of the hole filled at full size, in px.
COARSE_MIN_HOLE = 65_536
COARSE_BAND = 8
#: The methods :func:`baseline_filler` runs :func:`coarse_to_fine` (diffusion fills).
COARSE_METHODS: tuple[str, ...] = ("telea", "ns")


def coarse_to_fine(method: Callable[[np.ndarray, np.ndarray], np.ndarray], u8: np.ndarray,
                   hole: np.ndarray) -> np.ndarray:
    """``method(u8, hole)`` for a hole of over :data:`COARSE_MIN_HOLE` pixels, run where it
    is cheap: on the photo halved (area averaging) until the hole has at most that many
    pixels, scaled back up (bilinear) into the hole's interior, and at full size only on
    the hole's outer :data:`COARSE_BAND` px, with that interior as context. A diffusion
    fill (Telea, Navier-Stokes) is smooth deep inside a large hole, so the interior loses
    little detail, and the cost falls with the hole: several times faster on 1-megapixel
    photos, and closer to the truth on most (``python bench/coarse_fill.py``; the figures
    are in ``docs/auto.md``). Smaller holes get ``method`` itself."""
    hole = np.asarray(hole) != 0
    if hole.shape != u8.shape[:2]:
        raise ValueError(f"hole shape {hole.shape} does not match the image's {u8.shape[:2]}")
    n = int(np.count_nonzero(hole))
    f = 1
    while n > COARSE_MIN_HOLE * f * f:
        f *= 2
    if f == 1:
        return method(u8, hole)
    h, w = hole.shape
    size = (-(-w // f), -(-h // f))
    small_hole = shrink_mask(hole, size)
    if small_hole.all():  # context only in lines thinner than the scale: none left there
        return method(u8, hole)
    low = method(cv2.resize(u8, size, interpolation=cv2.INTER_AREA), small_hole)
    up = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR).reshape(u8.shape)
    side = 2 * COARSE_BAND + 1
    core = cv2.erode(hole.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    context = u8.copy()
    context[core] = up[core]
    return method(context, hole & ~core)


def at_most_pixels(method: Callable[[np.ndarray, np.ndarray], np.ndarray], u8: np.ndarray,
                   hole: np.ndarray, limit: int) -> np.ndarray:
    """``method(u8, hole)`` on a copy of the image halved (area averaging) until it has at
    most ``limit`` pixels, its fill enlarged back (cubic) into the hole; ``method`` itself on
    an image that small already. For a method whose cost grows with the whole image
    (PatchMatch searches all of it), at the price of the finest detail."""
    h, w = hole.shape
    f = 1
    while h * w > limit * f * f:
        f *= 2
    if f == 1:
        return method(u8, hole)
    size = (-(-w // f), -(-h // f))
    small_hole = shrink_mask(hole, size)
    low = method(cv2.resize(u8, size, interpolation=cv2.INTER_AREA), small_hole)
    up = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).reshape(u8.shape)
    out = u8.copy()
    out[hole] = up[hole]
    return out


def baseline_filler(name: str) -> FillFn:
    """A candidate from a classical method of :mod:`context_encoder.baselines`; Telea and
    Navier-Stokes go :func:`coarse_to_fine` on holes of over :data:`COARSE_MIN_HOLE` pixels,
    PatchMatch :func:`at_most_pixels` on images of over :data:`PATCHMATCH_MAX_PIXELS`."""
    method = get_baseline(name)

    def fill(rgb01: np.ndarray, mask: np.ndarray) -> np.ndarray:
        u8 = to_uint8(rgb01)
        if name in COARSE_METHODS:
            out = coarse_to_fine(method, u8, mask)
        elif name == "patchmatch":
            out = at_most_pixels(method, u8, np.asarray(mask) != 0, PATCHMATCH_MAX_PIXELS)
        else:
            out = method(u8, mask)
        return out.astype(np.float32) / np.float32(255.0)

    fill.__name__ = name
    return fill


def classical_candidates(names: Sequence[str] | None = None, *, hole_pixels: int | None = None
                         ) -> dict[str, FillFn]:
    """Candidates for the classical methods ``names`` (default: those of
    :data:`CLASSICAL_CANDIDATES` that run here, PatchMatch only when installed).

    Given the size of the hole the winner will fill, biharmonic is left out above
    :data:`BIHARMONIC_MAX_HOLE` hole pixels (also when named); PatchMatch fills a large
    image at a smaller scale (:func:`at_most_pixels`).
    """
    if names is None:
        names = [n for n in CLASSICAL_CANDIDATES if n in available_baselines()]
    slow = set()
    if hole_pixels is not None and hole_pixels > BIHARMONIC_MAX_HOLE:
        slow.add("biharmonic")
    return {n: baseline_filler(n) for n in names if n not in slow}


def inpainter_filler(inpainter: object) -> FillFn:
    """A candidate from an inpainter with ``inpaint_array(image, mask)`` (a
    :class:`~context_encoder.inference.Inpainter`; float32 images go in and come out)."""
    run = inpainter.inpaint_array  # type: ignore[attr-defined]

    def fill(rgb01: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(run(np.ascontiguousarray(rgb01, dtype=np.float32), mask), np.float32)

    return fill
