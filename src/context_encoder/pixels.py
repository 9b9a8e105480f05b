"""Pixels as every layer takes them: the image arrays accepted, their colour as float RGB
in [0, 1] and back to 8 bits, the hole rule for masks, reflection past an edge, and writing
predicted colours back into the hole only.

Images are ``HxW``, ``HxWx1``, ``HxWx3`` or ``HxWx4`` arrays of uint8, uint16 or float
(0..1). Grayscale images get the mean of an RGB prediction; an alpha channel is never
changed; pixels outside the hole are copied bit for bit. A mask is a hole wherever any
colour channel is non-zero (an alpha channel is ignored).
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_image", "check_rgb01", "hole_mask", "reflect_index", "size_text",
           "to_rgb01", "to_uint8", "write_hole"]


def size_text(w: int, h: int) -> str:
    """``"640x480"``: width x height, as every message gives a size."""
    return f"{w}x{h}"


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` if it is an array the inpainters take; ``TypeError`` / ``ValueError``
    saying what is wrong otherwise."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array or a PIL image, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ValueError(
            f"image dtype must be uint8, uint16 or float (0..1), got {image.dtype}"
        )
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
        raise ValueError(f"image must be HxW, HxWx1, HxWx3 or HxWx4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    return image


def check_rgb01(rgb01: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The boolean hole of a float ``HxWx3`` image in [0, 1] (the form the fill candidates
    and adaptation take), with ``ValueError`` for another array, a hole of another size, or
    a hole that leaves no known pixel."""
    if not isinstance(rgb01, np.ndarray) or rgb01.ndim != 3 or rgb01.shape[2] != 3 \
            or rgb01.dtype.kind != "f":
        raise ValueError("rgb01 must be an HxWx3 float array in [0, 1], got "
                         f"{getattr(rgb01, 'shape', type(rgb01).__name__)} "
                         f"{getattr(rgb01, 'dtype', '')}".rstrip())
    hole = np.asarray(hole)
    if hole.shape != rgb01.shape[:2]:
        raise ValueError(f"hole shape {hole.shape} does not match the image's {rgb01.shape[:2]}")
    hole = hole != 0
    if hole.all():
        raise ValueError("the hole covers the whole image: there are no known pixels")
    return hole


def hole_mask(mask: np.ndarray, shape: tuple[int, ...], what: str = "mask") -> np.ndarray:
    """The boolean ``HxW`` hole of a mask array (``HxW`` or ``HxWx1/3/4``: non-zero in any
    colour channel = hole) for an image of ``shape`` (``H, W[, C]``); ``ValueError`` naming
    ``what`` for another shape."""
    m = np.asarray(mask)
    if not (m.ndim == 2 or (m.ndim == 3 and m.shape[2] in (1, 3, 4))):
        raise ValueError(f"{what} must be HxW (or HxWx1/3/4), got shape {m.shape}")
    if m.ndim == 3:
        m = m[..., :3].any(axis=2) if m.shape[2] > 1 else m[..., 0] != 0
    else:
        m = m != 0
    h, w = int(shape[0]), int(shape[1])
    if m.shape != (h, w):
        raise ValueError(f"{what} size {size_text(m.shape[1], m.shape[0])} does not match the "
                         f"image size {size_text(w, h)} (width x height)")
    return m


def _scale(dtype: np.dtype) -> float:
    """The value of full intensity for ``dtype``."""
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def to_rgb01(image: np.ndarray) -> np.ndarray:
    """The colour channels of a checked image as float32 ``HxWx3`` in [0, 1]."""
    x = image.astype(np.float32) / np.float32(_scale(image.dtype))
    if x.ndim == 2:
        x = x[..., None]
    x = x[..., :3]
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    if image.dtype.kind == "f":
        x = np.clip(x, 0.0, 1.0)
    return np.ascontiguousarray(x)


def to_uint8(x01: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] rounded to uint8 (values outside the range clipped)."""
    return np.clip(np.rint(x01 * 255.0), 0, 255).astype(np.uint8)


def write_hole(image: np.ndarray, mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """A copy of ``image`` whose hole pixels (colour channels only) come from ``rgb``
    (float ``HxWx3`` in [0, 1]); every other value is copied unchanged."""
    out = image.copy()
    ys, xs = np.nonzero(mask)
    vals = np.clip(rgb[ys, xs], 0.0, 1.0)  # (N, 3)
    gray = image.ndim == 2 or image.shape[2] == 1
    if gray:
        vals = vals.mean(axis=1, keepdims=True)
    if image.dtype.kind == "u":
        vals = np.rint(vals * _scale(image.dtype)).astype(image.dtype)
    else:
        vals = vals.astype(image.dtype)
    if image.ndim == 2:
        out[ys, xs] = vals[:, 0]
    else:
        out[ys, xs, : vals.shape[1]] = vals
    return out


def reflect_index(idx, n: int):
    """Indices into ``0..n-1`` reflected about the edges, the edge pixel not repeated
    (OpenCV's default border); a length-1 axis is replicated. ``idx``: an integer numpy
    array or torch tensor (the same type comes back)."""
    if n == 1:
        return idx * 0
    period = 2 * (n - 1)
    r = idx % period  # in [0, period) for negative indices too, in numpy and torch
    return r - (2 * r - period).clip(min=0)  # r, or period - r past the far edge
