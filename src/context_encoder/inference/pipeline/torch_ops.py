"""The image operations of :mod:`.windows` as batched torch operations, for the tensor path
of :class:`~context_encoder.inference.Inpainter` (see :mod:`.device`).

Each operation reproduces its OpenCV counterpart to float32 rounding:

* :func:`resample_taps`: the weights with which ``cv2.resize`` (area, linear or cubic)
  resamples one axis, read off OpenCV itself (it resizes an identity matrix), as taps: output
  ``i`` is ``sum_k w[k, i] * input[idx[k, i]]``; :func:`apply_taps` applies them along one
  dimension of a batch;
* :func:`gaussian_blur`: ``cv2.GaussianBlur`` with OpenCV's kernel and default border
  (reflect 101);
* :func:`push_pull` (:func:`~context_encoder.inference.windows.smooth_fill`'s interpolation) and :func:`feather`
  (:func:`~context_encoder.inference.windows.feather_seam`) on batches of same-sized images.

Every weighted sum is elementwise (no matmul or convolution that TF32 could round); the
distance to the known pixels is a convolution of 0/1 values, exact in any float format.
Images are ``(B, H, W, C)`` float32 tensors, masks ``(B, H, W)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ...pixels import reflect_index

__all__ = [
    "AREA",
    "FUSE_LIMIT",
    "CUBIC",
    "LINEAR",
    "TapKey",
    "TapSource",
    "Taps",
    "apply_taps",
    "feather",
    "feather_stencil",
    "gaussian_blur",
    "gaussian_kernel",
    "gaussian_radius",
    "host_taps",
    "push_pull",
    "pyramid_shapes",
    "resample_kind",
    "resample_taps",
    "resize",
]

AREA, LINEAR, CUBIC = cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC
#: ``(idx, w)``: int64 and float32 arrays of shape (K, n_out), one row per tap.
Taps = tuple[np.ndarray, np.ndarray]
#: ``("resample", n_in, n_out, kind)``: :func:`resample_taps`.
TapKey = tuple
#: Gives the taps of a :data:`TapKey` as tensors on the device of the batch.
TapSource = Callable[[TapKey], tuple[torch.Tensor, torch.Tensor]]

_SLAB = 512  # identity rows resized at a time: bounds the memory for long axes
#: The most elements a fused multi-tap step may gather at once (above: one tap at a time).
FUSE_LIMIT = 1 << 26


def resample_kind(n_in: int, n_out: int, *, smooth_up: bool = True) -> int:
    """The interpolation :func:`~context_encoder.inference.windows.resize_square` uses from ``n_in`` to ``n_out`` px:
    area when shrinking, cubic (or linear) when growing."""
    if n_in > n_out:
        return AREA
    return CUBIC if smooth_up else LINEAR


def _taps(weights: np.ndarray) -> Taps:
    """Dense (n_out, n_in) weights as taps over each row's non-zero span."""
    n_out, n_in = weights.shape
    nz = weights != 0
    first = np.where(nz.any(axis=1), nz.argmax(axis=1), 0)
    last = np.where(nz.any(axis=1), n_in - 1 - nz[:, ::-1].argmax(axis=1), 0)
    k = int((last - first).max()) + 1
    idx = first[None, :] + np.arange(k)[:, None]  # (K, n_out)
    inside = idx <= last[None, :]
    idx = np.minimum(idx, n_in - 1)
    w = np.where(inside, weights[np.arange(n_out)[None, :], idx], 0.0)
    return idx.astype(np.int64), w.astype(np.float32)


@functools.lru_cache(maxsize=512)
def resample_taps(n_in: int, n_out: int, kind: int) -> Taps:
    """The taps of ``cv2.resize(..., interpolation=kind)`` from ``n_in`` to ``n_out`` px
    along one axis (the same along the other axis: OpenCV's resize is separable)."""
    if n_in == n_out:
        return np.arange(n_out, dtype=np.int64)[None, :], np.ones((1, n_out), np.float32)
    weights = np.empty((n_out, n_in), dtype=np.float32)
    for r0 in range(0, n_in, _SLAB):
        rows = min(_SLAB, n_in - r0)
        eye = np.zeros((rows, n_in), np.float32)  # identity rows r0..: images of one row
        eye[np.arange(rows), r0 + np.arange(rows)] = 1.0
        weights[:, r0 : r0 + rows] = cv2.resize(eye, (n_out, rows), interpolation=kind).T
    return _taps(weights)


@functools.lru_cache(maxsize=32)
def gaussian_kernel(sigma: float) -> tuple[float, ...]:
    """OpenCV's Gaussian kernel for ``sigma`` (its size for float images: ``8 sigma + 1``)."""
    r = gaussian_radius(sigma)
    return tuple(float(v) for v in cv2.getGaussianKernel(2 * r + 1, sigma, cv2.CV_32F).ravel())


def gaussian_radius(sigma: float) -> int:
    """The radius of :func:`gaussian_kernel`."""
    return (int(round(sigma * 8 + 1)) | 1) // 2




def gaussian_blur(x: torch.Tensor, sigma: float, kernel: torch.Tensor) -> torch.Tensor:
    """``cv2.GaussianBlur(x, (0, 0), sigma)`` of a batch (B, H, W, C), reflect-101 border;
    ``kernel``: :func:`gaussian_kernel` on ``x``'s device. Small batches: one padding and a
    multiply and a sum per axis (few kernels: batch-1 latency); large ones: one
    multiply-add per tap over shifted views (little memory)."""
    r = kernel.shape[0] // 2
    h, w = x.shape[1], x.shape[2]
    if r < min(h, w) and x.numel() * (1 + 2 * r / h) * kernel.shape[0] <= FUSE_LIMIT:
        xp = F.pad(x.permute(0, 3, 1, 2), (r, r, r, r), mode="reflect")  # (B, C, H+2r, W+2r)
        xp = (xp.unfold(3, 2 * r + 1, 1) * kernel).sum(-1)  # (B, C, H+2r, W)
        return (xp.unfold(2, 2 * r + 1, 1) * kernel).sum(-1).permute(0, 2, 3, 1)
    for dim in (2, 1):
        n = x.shape[dim]
        pad = reflect_index(torch.arange(-r, n + r, device=x.device), n)
        xp = x.index_select(dim, pad)
        out = xp.narrow(dim, 0, n) * kernel[0]
        for k in range(1, kernel.shape[0]):
            out.addcmul_(xp.narrow(dim, k, n), kernel[k])
        x = out
    return x


def host_taps(key: TapKey) -> Taps:
    """The taps of ``key`` as arrays (see :data:`TapKey`)."""
    if key[0] == "resample":
        return resample_taps(*key[1:])
    raise ValueError(f"unknown taps {key!r}")


def apply_taps(x: torch.Tensor, dim: int, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Resample ``x`` along ``dim`` with taps ``(idx, w)`` (each ``(K, n_out)``, on ``x``'s
    device): one gather, a multiply and a sum where the K gathered copies fit in
    :data:`FUSE_LIMIT` elements, else a gather and a multiply-add per tap."""
    taps, n_out = idx.shape
    shape = [1] * (x.dim() + 1)
    shape[dim : dim + 2] = taps, n_out
    if x.numel() // max(x.shape[dim], 1) * n_out * taps <= FUSE_LIMIT:
        gathered = x.index_select(dim, idx.reshape(-1)).unflatten(dim, (taps, n_out))
        return (gathered * w.view(shape)).sum(dim)
    one = shape[:dim] + shape[dim + 1 :]
    out = x.index_select(dim, idx[0]) * w[0].view(one)
    for k in range(1, taps):
        out.addcmul_(x.index_select(dim, idx[k]), w[k].view(one))
    return out


def pyramid_shapes(h: int, w: int) -> list[tuple[int, int]]:
    """The shapes :func:`push_pull` halves an ``h x w`` image through, down to 1 x 1."""
    shapes = [(h, w)]
    while shapes[-1] != (1, 1):
        a, b = shapes[-1]
        shapes.append(((a + 1) // 2, (b + 1) // 2))
    return shapes


def resize(x: torch.Tensor, shape: tuple[int, int], kind: int, taps: TapSource) -> torch.Tensor:
    """``cv2.resize`` of a batch (B, H, W[, C]) to ``shape`` (height, width)."""
    h, w = x.shape[1], x.shape[2]
    if w != shape[1]:
        x = apply_taps(x, 2, *taps(("resample", w, shape[1], kind)))
    if h != shape[0]:
        x = apply_taps(x, 1, *taps(("resample", h, shape[0], kind)))
    return x


def push_pull(rgb: torch.Tensor, hole: torch.Tensor, taps: TapSource) -> torch.Tensor:
    """:func:`~context_encoder.inference.windows.smooth_fill` for a batch: ``rgb`` (B, H, W, 3) with its ``hole``
    pixels (B, H, W bool) replaced by a push-pull interpolation of the known ones, clipped
    to [0, 1]."""
    known = (~hole).to(rgb.dtype)
    vals, wgts = [rgb * known[..., None]], [known]
    shapes = pyramid_shapes(*known.shape[1:])
    for shape in shapes[1:]:  # push: average down to one pixel
        vals.append(resize(vals[-1], shape, AREA, taps))
        wgts.append(resize(wgts[-1], shape, AREA, taps))
    filled = vals[-1] / wgts[-1].clamp_min(1e-12)[..., None]
    for level in range(len(shapes) - 2, -1, -1):  # pull: fill each level from the coarser
        up = resize(filled, shapes[level], LINEAR, taps)
        filled = vals[level] + (1.0 - wgts[level])[..., None] * up
    return torch.where(hole[..., None], filled.clamp(0.0, 1.0), rgb)


@functools.lru_cache(maxsize=32)
def feather_stencil(feather_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(kernels, distances, gaussian)`` for :func:`feather`: one 0/1 kernel
    (L, 1, k, k) per distance below ``feather_px + 1`` that a pixel can have from another
    (sorted ascending), for the exact Euclidean distance to the nearest known pixel; and
    the blur's :func:`gaussian_kernel` for ``sigma = feather_px``."""
    r = feather_px + 1
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    d2 = dy**2 + dx**2
    levels = np.unique(d2[(d2 > 0) & (d2 < r * r)])
    kernels = (d2[None] == levels[:, None, None]).astype(np.float32)[:, None]
    gauss = np.array(gaussian_kernel(float(feather_px)), np.float32)
    return kernels, np.sqrt(levels.astype(np.float32)), gauss


def feather(rgb: torch.Tensor, hole: torch.Tensor, pred: torch.Tensor, feather_px: int,
            stencil: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """:func:`~context_encoder.inference.windows.feather_seam` for a batch: the outer ``feather_px`` px of each hole
    blended towards a Gaussian estimate of the known colours around it (prediction weight
    0.5 at the edge, 1 from ``feather_px`` px in); ``stencil``: :func:`feather_stencil` on
    the device."""
    if feather_px <= 0:
        return pred
    known = (~hole).to(rgb.dtype)  # (B, H, W)
    kernels, dists, gauss = stencil
    r = kernels.shape[-1] // 2
    hits = F.conv2d(known[:, None], kernels, padding=r) > 0.5  # (B, L, H, W): outside = hole
    far = torch.full_like(dists[:1], feather_px + 1.0).view(1, 1, 1, 1)
    dist = torch.where(hits, dists.view(1, -1, 1, 1), far).amin(dim=1)  # (B, H, W)
    alpha = (0.5 + 0.5 * (dist - 1.0) / feather_px).clamp(0.5, 1.0)
    both = torch.cat([rgb * known[..., None], known[..., None]], dim=-1)  # num and den
    blurred = gaussian_blur(both, float(feather_px), gauss)
    num, den = blurred[..., :3], blurred[..., 3]
    band = hole & (alpha < 1.0) & (den > 1e-4)
    est = num / den.clamp_min(1e-4)[..., None]
    a = alpha[..., None]
    return torch.where(band[..., None], a * pred + (1.0 - a) * est, pred)

