"""Images as the inpainters take them: the accepted arrays, their colour channels as float
RGB in [0, 1], and writing predicted colours back into the hole only.

Accepted: ``HxW``, ``HxWx1``, ``HxWx3`` or ``HxWx4`` arrays of uint8, uint16 or float
(0..1). Grayscale images get the mean of the RGB prediction; an alpha channel is never
changed; pixels outside the hole are copied bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_image", "to_rgb01", "write_hole"]


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
