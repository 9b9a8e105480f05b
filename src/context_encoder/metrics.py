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

Realism (what PSNR cannot see: a blurred fill, the mean of the plausible ones, scores well
on PSNR): :func:`gradient_ratio` per image (the fill's detail against the truth's, 1.0 =
as much) and :func:`sliced_wasserstein` over a set (the distance between the fills' and the
truths' local patch statistics). LPIPS and FID, which compare features of networks
trained elsewhere, are not implemented: they would need downloaded weights.
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
    "GRADIENT_FLOOR",
    "PSNR_CAP",
    "aggregate",
    "area_bin",
    "gradient_ratio",
    "hole_fraction",
    "hole_metrics",
    "mean_l1",
    "mean_l2",
    "neighbour_differences",
    "psnr",
    "psnr_from_mse",
    "sliced_wasserstein",
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
    """All metrics of one image: ``l1``, ``l2``, ``psnr`` (hole), ``psnr_full``, ``ssim``,
    ``detail`` (:func:`gradient_ratio`: the fill's detail against the truth's, 1.0 = as much).

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
        "detail": _detail(p, t, m),
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
# Realism: detail over the hole, and the distribution of a set's fills
# ---------------------------------------------------------------------------------------
#: Mean squared neighbour difference below which a region counts as flat (about 2.5/255 of
#: difference between neighbours); added to both sides of :func:`gradient_ratio`.
GRADIENT_FLOOR = 1e-4


def neighbour_differences(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The differences between horizontal and vertical neighbours that both lie in ``mask``
    (``x``: ``HxWxC``), every channel, flattened as float64: the texture inside a fill, the
    seam at its edge left out."""
    dy = (x[1:] - x[:-1])[mask[1:] & mask[:-1]]
    dx = (x[:, 1:] - x[:, :-1])[mask[:, 1:] & mask[:, :-1]]
    return np.concatenate([dy.ravel(), dx.ravel()]).astype(np.float64)


def _interior_gradient_energy(x: np.ndarray, m: np.ndarray) -> float:
    """Squared neighbour differences inside the hole (:func:`neighbour_differences`), summed
    over the channels, averaged over the neighbour pairs; 0 without a pair."""
    d = neighbour_differences(x, m)
    pairs = d.size // x.shape[2]
    return float(d @ d) / pairs if pairs else 0.0


def _detail(p: np.ndarray, t: np.ndarray, m: np.ndarray) -> float:
    return (_interior_gradient_energy(p, m) + GRADIENT_FLOOR) / (
        _interior_gradient_energy(t, m) + GRADIENT_FLOOR)


def gradient_ratio(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """How much detail the fill has against the truth: the fill's gradient energy inside
    the hole over the truth's (mean squared neighbour difference, both neighbours in the
    hole, plus :data:`GRADIENT_FLOOR` on both sides). 1.0 = as much detail as the truth;
    below 1 smoother (a blurred fill: the mean of the plausible fills); above 1 more than
    the truth (noise, artefacts). It rewards neither matching the truth nor realism on its
    own: read it beside PSNR and :func:`sliced_wasserstein`."""
    p, t = _pair(pred, target)
    return _detail(p, t, _hole(mask, p.shape))


#: :func:`sliced_wasserstein`: patch side, patches drawn per image and level, random
#: directions, and the coarsest pyramid level kept (px).
SWD_PATCH = 7
SWD_PATCHES_PER_IMAGE = 128
SWD_DIRECTIONS = 512
SWD_MIN_SIDE = 16


def _laplacian_pyramid(x: np.ndarray, levels: int) -> list[np.ndarray]:
    import cv2

    out, cur = [], x.astype(np.float32)
    for _ in range(levels - 1):
        down = cv2.pyrDown(cur)
        up = cv2.pyrUp(down, dstsize=(cur.shape[1], cur.shape[0]))
        out.append(cur - up.reshape(cur.shape))
        cur = down.reshape(down.shape[0], down.shape[1], -1)
    out.append(cur)
    return out


def _hole_patches(levels: list[np.ndarray], m: np.ndarray, rng: np.random.Generator,
                  count: int) -> list[np.ndarray]:
    """Per level, up to ``count`` patches (flattened) centred on hole pixels of that level
    (the mask shrunk by 2 per level; a pixel counts when over half its footprint is hole)."""
    import cv2

    r = SWD_PATCH // 2
    out = []
    mask = m.astype(np.float32)
    for level in levels:
        h, w = level.shape[:2]
        if mask.shape != (h, w):
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA)
        ys, xs = np.nonzero(mask[r : h - r, r : w - r] > 0.5)
        if ys.size == 0:
            out.append(np.empty((0, SWD_PATCH * SWD_PATCH * level.shape[2]), np.float32))
            continue
        pick = rng.choice(ys.size, min(count, ys.size), replace=False)
        idx = np.arange(SWD_PATCH)
        rows = (ys[pick] + idx[:, None])  # (P, n) top-left at (y, x) in the padded frame
        cols = (xs[pick] + idx[:, None])
        patches = level[rows.T[:, :, None], cols.T[:, None, :]]  # (n, P, P, C)
        out.append(patches.reshape(len(pick), -1))
    return out


def sliced_wasserstein(fills: Iterable[np.ndarray], truths: Iterable[np.ndarray],
                       masks: Iterable[np.ndarray], *, seed: int = 0) -> dict[str, float]:
    """How far a set of fills is, in distribution, from the true pixels they replace: the
    sliced Wasserstein distance between 7x7 patches of the images' Laplacian pyramids
    (Karras et al., progressive GANs), patches centred in the hole, the fills' against the
    truths' at the same places; x 1000, lower is better, 0 for the truth itself.

    Per pyramid level (full size, then halved down to :data:`SWD_MIN_SIDE` px), each patch
    set is normalised by the truths' per-channel mean and spread there, projected on
    :data:`SWD_DIRECTIONS` random unit directions, and the sorted projections compared. A
    blurred fill lacks the fine levels' spread; noise adds spread the truth does not have;
    both move the distance up. Unlike FID or LPIPS it needs no network trained on other
    images (nothing to download), and it compares local statistics only, not objects.
    Returns ``swd`` (the mean over levels) and ``swd_<side>`` per level."""
    rng = np.random.default_rng([seed, 5150])
    pairs = []
    for pred, target, mask in zip(fills, truths, masks, strict=True):
        p, t = _pair(pred, target)
        pairs.append((p, t, _hole(mask, p.shape)))
    if not pairs:
        raise ValueError("sliced_wasserstein needs at least one image")
    side = min(min(p.shape[:2]) for p, _, _ in pairs)
    levels = max(1, int(math.log2(max(side, 1) / SWD_MIN_SIDE)) + 1)
    fake: list[list[np.ndarray]] = [[] for _ in range(levels)]
    real: list[list[np.ndarray]] = [[] for _ in range(levels)]
    for p, t, m in pairs:
        state = rng.bit_generator.state  # the same places in the fill and in the truth
        for k, patches in enumerate(_hole_patches(_laplacian_pyramid(p, levels), m, rng,
                                                  SWD_PATCHES_PER_IMAGE)):
            fake[k].append(patches)
        rng.bit_generator.state = state
        for k, patches in enumerate(_hole_patches(_laplacian_pyramid(t, levels), m, rng,
                                                  SWD_PATCHES_PER_IMAGE)):
            real[k].append(patches)
    out: dict[str, float] = {}
    for k in range(levels):
        a, b = np.concatenate(fake[k]), np.concatenate(real[k])
        if len(b) < 2:
            continue
        channels = pairs[0][0].shape[2]
        by_channel = b.reshape(len(b), -1, channels)
        mean = by_channel.mean(axis=(0, 1))
        std = by_channel.std(axis=(0, 1)) + 1e-8
        a = ((a.reshape(len(a), -1, channels) - mean) / std).reshape(len(a), -1)
        b = ((by_channel - mean) / std).reshape(len(b), -1)
        dirs = rng.standard_normal((a.shape[1], SWD_DIRECTIONS))
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
        out[f"swd_{side >> k}"] = float(np.abs(pa - pb).mean() * 1e3)
    if not out:
        raise ValueError("the holes are too small for a 7x7 patch at any pyramid level")
    out = {"swd": float(np.mean(list(out.values()))), **out}
    return out


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
