"""Inpainting quality metrics, following the paper's protocol (pixels in [0, 1]).

Pathak et al. report mean L1, mean L2 and PSNR over the hole. Here:

* ``l1``: mean absolute error over the hole pixels (all channels averaged).
* ``l2``: mean squared error over the hole pixels.
* ``psnr``: ``10 * log10(1 / l2)`` over the hole, in dB, capped at :data:`PSNR_CAP`
  (so identical images give 100 dB, never ``inf``).
* ``psnr_full``: the same over the whole image.
* ``ssim``: structural similarity over the whole image (scikit-image, ``data_range=1``).

Dataset figures are means of the per-image values (:func:`aggregate`), so a dataset
PSNR is the mean of per-image PSNRs, not the PSNR of the mean L2.

NumPy inputs may be ``uint8`` (divided by 255), other integer arrays in [0, 255], or
floats in [0, 1]; ``HxWx3`` (also ``HxW`` grayscale; a 4th alpha channel is dropped).
Masks are ``HxW``, non-zero = hole. :func:`torch_hole_metrics` is the batched tensor
version for validation during training (tensors in [-1, 1]).

LPIPS and FID are not implemented.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from .pixels import hole_mask

if TYPE_CHECKING:
    import torch

__all__ = [
    "AREA_BINS",
    "PSNR_CAP",
    "aggregate",
    "area_bin",
    "hole_fraction",
    "hole_metrics",
    "mean_l1",
    "mean_l2",
    "psnr",
    "psnr_from_mse",
    "ssim",
    "torch_hole_metrics",
]

#: Upper bound of every PSNR value, in dB (reached when the error is zero).
PSNR_CAP: float = 100.0

#: Hole-area bins (fraction of the image covered by the hole), in order.
AREA_BINS: tuple[str, ...] = tuple(f"{10 * i}-{10 * (i + 1)}%" for i in range(10))

# Float inputs may overshoot [0, 1] by this much (rounding); they are clipped.
_RANGE_TOL = 1e-3


# ---------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------
def _to_unit(x: np.ndarray, name: str) -> np.ndarray:
    """An image as float64 in [0, 1], HxWxC (C = 1 or 3)."""
    x = np.asarray(x)
    if x.dtype == np.bool_:
        raise ValueError(f"{name} must be a uint8 or float image, got a bool array")
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3 or x.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name} must be HxW, HxWx1, HxWx3 or HxWx4, got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {x.shape}")
    x = x[..., :3]
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"integer {name} must lie in [0, 255], got range [{lo}, {hi}]")
        return x.astype(np.float64) / 255.0
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
        lo, hi = float(np.min(x)), float(np.max(x))
        if not (lo >= -_RANGE_TOL and hi <= 1.0 + _RANGE_TOL):  # also rejects NaN
            raise ValueError(
                f"float {name} must lie in [0, 1], got range [{lo:g}, {hi:g}] "
                "(map [-1, 1] network outputs with (x + 1) / 2, or pass uint8)"
            )
        return np.clip(x, 0.0, 1.0)
    raise ValueError(f"{name} must be a uint8 or float image, got dtype {x.dtype}")


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, t = _to_unit(pred, "pred"), _to_unit(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target shapes differ: {np.shape(pred)} vs {np.shape(target)}")
    return p, t


def _hole(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean HxW hole mask (all True when ``mask`` is None); empty -> ValueError."""
    if mask is None:
        return np.ones(shape[:2], dtype=bool)
    m = hole_mask(mask, shape)
    if not m.any():
        raise ValueError("mask is empty: no hole pixels to evaluate")
    return m


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error of pixels in [0, 1], capped at :data:`PSNR_CAP`."""
    if mse <= 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(1.0 / mse))


# ---------------------------------------------------------------------------------------
# NumPy metrics
# ---------------------------------------------------------------------------------------
def mean_l1(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error in [0, 1] units over the hole (whole image if ``mask`` is None)."""
    p, t = _pair(pred, target)
    m = _hole(mask, p.shape)
    return float(np.abs(p - t)[m].mean())


def mean_l2(pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error in [0, 1] units over the hole (whole image if ``mask`` is None)."""
    p, t = _pair(pred, target)
    m = _hole(mask, p.shape)
    return float(np.square(p - t)[m].mean())


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB for peak 1.0 over the hole (whole image if ``mask`` is None), capped."""
    return psnr_from_mse(mean_l2(a, b, mask))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM over the whole image (``data_range=1``, 7x7 window or the largest odd one
    that fits). NaN for images smaller than 3x3, where SSIM is undefined."""
    p, t = _pair(pred, target)
    return _ssim(p, t)


def _ssim(p: np.ndarray, t: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    win = min(7, p.shape[0], p.shape[1])
    if win % 2 == 0:
        win -= 1
    if win < 3:
        return float("nan")
    if p.shape[2] == 1:
        return float(structural_similarity(p[..., 0], t[..., 0], data_range=1.0, win_size=win))
    return float(structural_similarity(p, t, data_range=1.0, win_size=win, channel_axis=-1))


def hole_metrics(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """All metrics of one image: ``l1``, ``l2``, ``psnr`` (hole), ``psnr_full``, ``ssim``.

    Raises ``ValueError`` for an empty mask or mismatched shapes.
    """
    p, t = _pair(pred, target)
    m = _hole(mask, p.shape)
    diff = p - t
    sq = np.square(diff)
    l2 = float(sq[m].mean())
    return {
        "l1": float(np.abs(diff)[m].mean()),
        "l2": l2,
        "psnr": psnr_from_mse(l2),
        "psnr_full": psnr_from_mse(float(sq.mean())),
        "ssim": _ssim(p, t),
    }


def aggregate(results: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Average each key over a list of per-image metric dicts.

    Keys missing from some dicts are averaged over the dicts that have them. NaN values
    propagate. Raises ``ValueError`` for an empty list.
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in results:
        for key, value in r.items():
            sums[key] = sums.get(key, 0.0) + float(value)
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        raise ValueError("aggregate() needs at least one non-empty metrics dict")
    return {key: sums[key] / counts[key] for key in sums}


# ---------------------------------------------------------------------------------------
# Hole-area bins
# ---------------------------------------------------------------------------------------
def hole_fraction(mask: np.ndarray) -> float:
    """Fraction of the image covered by the hole (non-zero mask pixels)."""
    m = np.asarray(mask)
    if m.size == 0:
        raise ValueError("mask is empty (size 0)")
    return float(np.count_nonzero(m)) / m.size


def area_bin(fraction: float) -> str:
    """The :data:`AREA_BINS` label for a hole covering ``fraction`` of the image.

    Bins are 10 % wide, closed below and open above (0.1 -> ``"10-20%"``), except the
    last, which includes 1.0. ``fraction`` must be in [0, 1].
    """
    f = float(fraction)
    if not 0.0 <= f <= 1.0:  # also rejects NaN
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    # The epsilon keeps values like 0.3 (stored as 0.2999...) in their nominal bin.
    return AREA_BINS[min(int(f * 10.0 + 1e-9), 9)]


# ---------------------------------------------------------------------------------------
# Torch (batched, for validation during training)
# ---------------------------------------------------------------------------------------
def torch_hole_metrics(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> dict[str, float]:
    """Batch means of per-image hole ``l1``, ``l2`` and ``psnr``.

    ``pred`` / ``target``: ``BxCxHxW`` in [-1, 1] (mapped to [0, 1] and clamped there).
    ``mask``: ``Bx1xHxW``, ``BxHxW``, or a single ``HxW`` / ``1x1xHxW`` mask shared by the
    batch; any dtype, non-zero = hole. ``psnr`` is the mean of the per-image PSNRs
    (capped at :data:`PSNR_CAP`), matching :func:`aggregate` of :func:`hole_metrics`.
    Raises ``ValueError`` if an image's hole is empty or shapes disagree.
    """
    import torch

    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}"
        )
    if pred.ndim != 4:
        raise ValueError(f"pred must be BxCxHxW, got shape {tuple(pred.shape)}")
    b, _, h, w = pred.shape
    m = mask
    if m.ndim == 2:
        m = m.unsqueeze(0)
    if m.ndim == 4:
        if m.shape[1] != 1:
            raise ValueError(f"a 4-d mask must be Bx1xHxW, got shape {tuple(mask.shape)}")
        m = m[:, 0]
    if m.ndim != 3 or tuple(m.shape[1:]) != (h, w) or m.shape[0] not in (1, b):
        raise ValueError(
            f"mask shape {tuple(mask.shape)} does not match batch shape {tuple(pred.shape)}"
        )
    with torch.no_grad():
        m = (m != 0).to(device=pred.device).expand(b, h, w).unsqueeze(1)
        count = m.flatten(1).sum(dim=1).double() * pred.shape[1]
        if bool((count == 0).any()):
            empty = torch.nonzero(count == 0).flatten().tolist()
            raise ValueError(f"mask is empty for batch item(s) {empty}: no hole pixels")
        p = ((pred.detach().double() + 1.0) / 2.0).clamp(0.0, 1.0)
        t = ((target.detach().double() + 1.0) / 2.0).clamp(0.0, 1.0)
        diff = (p - t) * m
        l1 = diff.abs().flatten(1).sum(dim=1) / count
        l2 = diff.square().flatten(1).sum(dim=1) / count
        psnr_each = (10.0 * torch.log10(1.0 / l2)).clamp(max=PSNR_CAP)  # l2 == 0 -> inf -> cap
        return {
            "l1": float(l1.mean()),
            "l2": float(l2.mean()),
            "psnr": float(psnr_each.mean()),
        }
