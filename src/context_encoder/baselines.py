"""Classical (non-learned) inpainting baselines behind one signature.

Every method is a callable ``method(image, mask) -> np.ndarray``:

* ``image``: a ``uint8`` array, ``HxWx3`` RGB (also ``HxW`` / ``HxWx1`` grayscale, and
  ``HxWx4`` RGBA whose alpha channel is passed through untouched).
* ``mask``: ``HxW`` (or ``HxWx1``) of any dtype; non-zero marks the hole.
* The result is ``uint8`` with the image's shape, and every pixel outside the hole is
  bit-identical to the input (each method ends with an explicit composite).

Methods (the keys of :data:`BASELINES`):

``"mean"``
    The paper's baseline: the hole is filled with the dataset mean colour
    :data:`context_encoder.config.MEAN_RGB` (its luma for grayscale images).
``"telea"`` / ``"ns"``
    OpenCV's fast-marching (Telea 2004) and Navier-Stokes (Bertalmio et al. 2001)
    diffusion inpainting, radius 5 by default (see :data:`DEFAULT_RADIUS`). A few
    milliseconds for a 128 px image.
``"biharmonic"``
    scikit-image's biharmonic inpainting. It solves a sparse linear system whose size
    grows with the number of hole pixels: ~30 ms for a 64x64 hole, ~0.2 s for 128x128,
    ~1.5 s for 256x256 and superlinearly more beyond (memory too). Disjoint holes are
    solved separately.
``"patchmatch"``
    Exemplar-based PatchMatch (Barnes et al. 2009) through the optional ``pypatchmatch``
    package (``pip install "context-encoder[patchmatch]"``). Seeded, so repeatable;
    ~0.2 s for a 128 px image, ~0.7 s for 256 px (64x64 / 128x128 holes).

Use :func:`get_baseline` to look a method up by name and :func:`available_baselines` /
:func:`is_available` to know which ones can run in this environment.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .config import MEAN_RGB
from .pixels import hole_mask, to_uint8

__all__ = [
    "BASELINES",
    "DEFAULT_PATCH_SIZE",
    "DEFAULT_RADIUS",
    "InpaintFn",
    "available_baselines",
    "biharmonic",
    "get_baseline",
    "is_available",
    "mean_fill",
    "navier_stokes",
    "patchmatch",
    "telea",
]

#: Signature shared by all baselines: ``(image uint8, mask) -> uint8 image``.
InpaintFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Neighbourhood radius of the OpenCV methods. Measured on 10 scikit-image sample images
#: (128 and 256 px; center and random rectangular holes): radius 5 beat radius 3 by
#: 0.05-0.2 dB hole PSNR for both Telea and NS in every setting, at ~2x the (small) cost.
DEFAULT_RADIUS: int = 5

#: PatchMatch patch radius (patches span ``2 * patch_size + 1`` pixels). On the same
#: images 5 beat 3 by 0.2-0.3 dB except for small random holes at 128 px; 7 was no better
#: and twice as slow. (The package's own default, 15, is far slower.)
DEFAULT_PATCH_SIZE: int = 5

_PATCHMATCH_INSTALL_HINT = (
    'it needs the optional "pypatchmatch" package with its native library: '
    'pip install "context-encoder[patchmatch]"'
)


# ---------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------
def _prepare(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``image`` / ``mask`` and return ``(image, bool mask HxW)``."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must have dtype uint8, got {image.dtype}")
    if image.ndim == 2:
        pass
    elif image.ndim == 3 and image.shape[2] in (1, 3, 4):
        pass
    else:
        raise ValueError(f"image must be HxW, HxWx1, HxWx3 or HxWx4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    return image, hole_mask(mask, image.shape)


def _split_alpha(image: np.ndarray) -> np.ndarray:
    """The colour channels as ``HxWx1`` or ``HxWx3`` (alpha dropped, gray expanded)."""
    if image.ndim == 2:
        return image[..., None]
    if image.shape[2] == 4:
        return image[..., :3]
    return image


def _composite(image: np.ndarray, mask: np.ndarray, color_filled: np.ndarray) -> np.ndarray:
    """Put ``color_filled`` (HxWxC colour channels) in the hole; keep everything else."""
    if image.ndim == 2:
        filled = color_filled[..., 0]
        return np.where(mask, filled, image).astype(np.uint8, copy=False)
    if image.shape[2] == 4:
        filled = np.concatenate([color_filled, image[..., 3:]], axis=2)
    else:
        filled = color_filled.reshape(image.shape)
    return np.where(mask[..., None], filled, image).astype(np.uint8, copy=False)


def _require_context(mask: np.ndarray, method: str) -> None:
    if mask.all():
        raise ValueError(
            f"the mask covers the whole image; {method!r} needs known pixels to fill from"
        )




# ---------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------
def mean_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill the hole with the paper's dataset mean colour ``MEAN_RGB`` (117, 104, 123).

    Grayscale images get the colour's Rec. 601 luma (110); RGBA alpha is kept.
    """
    image, hole = _prepare(image, mask)
    color = _split_alpha(image)
    if color.shape[2] == 3:
        value = np.asarray(MEAN_RGB, dtype=np.uint8)
    else:
        r, g, b = MEAN_RGB
        value = np.asarray([round(0.299 * r + 0.587 * g + 0.114 * b)], dtype=np.uint8)
    filled = np.broadcast_to(value, color.shape)
    return _composite(image, hole, filled)


def _cv2_inpaint(image: np.ndarray, mask: np.ndarray, radius: float, flag_name: str) -> np.ndarray:
    import cv2

    image, hole = _prepare(image, mask)
    if not hole.any():
        return image.copy()
    _require_context(hole, "telea" if flag_name == "INPAINT_TELEA" else "ns")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    color = np.ascontiguousarray(_split_alpha(image))
    # Per-channel diffusion: RGB vs BGR order does not matter.
    out = cv2.inpaint(color, hole.astype(np.uint8), float(radius), getattr(cv2, flag_name))
    return _composite(image, hole, out.reshape(color.shape))


def telea(image: np.ndarray, mask: np.ndarray, radius: float = DEFAULT_RADIUS) -> np.ndarray:
    """OpenCV fast-marching inpainting (Telea 2004), ``cv2.INPAINT_TELEA``."""
    return _cv2_inpaint(image, mask, radius, "INPAINT_TELEA")


def navier_stokes(
    image: np.ndarray, mask: np.ndarray, radius: float = DEFAULT_RADIUS
) -> np.ndarray:
    """OpenCV Navier-Stokes inpainting (Bertalmio et al. 2001), ``cv2.INPAINT_NS``."""
    return _cv2_inpaint(image, mask, radius, "INPAINT_NS")


def biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """scikit-image biharmonic inpainting, rounded and clipped back to uint8.

    Cost grows with the hole area (one sparse solve over the hole pixels): ~30 ms for a
    64x64 hole, ~1.5 s for 256x256, and it gets impractical for much larger holes.
    """
    from skimage.restoration import inpaint_biharmonic

    image, hole = _prepare(image, mask)
    if not hole.any():
        return image.copy()
    _require_context(hole, "biharmonic")
    color = _split_alpha(image)
    out = inpaint_biharmonic(
        color.astype(np.float64) / 255.0, hole, split_into_regions=True, channel_axis=-1
    )
    return _composite(image, hole, to_uint8(out))


@functools.lru_cache(maxsize=1)
def _load_patchmatch() -> tuple[Callable[..., np.ndarray], Callable[[int], Any] | None] | None:
    """Return ``(inpaint, set_random_seed)`` from ``pypatchmatch``, or None if unusable."""
    try:
        module: ModuleType = importlib.import_module("patchmatch")
    except Exception:  # ImportError, or a broken native build raising at import time
        return None
    # pypatchmatch >= 2 exposes everything at the top level; 1.x in ``patch_match``.
    if not hasattr(module, "inpaint"):
        try:
            module = importlib.import_module("patchmatch.patch_match")
        except Exception:
            return None
    if not getattr(module, "patchmatch_available", True):
        return None  # installed, but its native library failed to load
    inpaint = getattr(module, "inpaint", None)
    if not callable(inpaint):
        return None
    seed = getattr(module, "set_random_seed", None)
    return inpaint, seed if callable(seed) else None


def patchmatch(
    image: np.ndarray,
    mask: np.ndarray,
    patch_size: int = DEFAULT_PATCH_SIZE,
    seed: int | None = 0,
) -> np.ndarray:
    """Exemplar-based PatchMatch inpainting via the optional ``pypatchmatch`` package.

    ``patch_size`` is the patch radius. ``seed`` makes the randomized search repeatable
    (``None`` leaves the library's global seed alone). Raises ``RuntimeError`` if
    ``pypatchmatch`` is not installed or its native library cannot be loaded.
    """
    image, hole = _prepare(image, mask)
    loaded = _load_patchmatch()
    if loaded is None:
        raise RuntimeError(f"PatchMatch is not available: {_PATCHMATCH_INSTALL_HINT}")
    if not hole.any():
        return image.copy()
    _require_context(hole, "patchmatch")
    pm_inpaint, pm_seed = loaded
    color = _split_alpha(image)
    rgb = np.ascontiguousarray(np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color)
    if seed is not None and pm_seed is not None:
        pm_seed(int(seed))
    mask_u8 = np.ascontiguousarray(hole.astype(np.uint8) * 255)
    out = np.asarray(pm_inpaint(rgb, mask_u8, patch_size=int(patch_size)), dtype=np.uint8)
    out = out.reshape(rgb.shape)
    if color.shape[2] == 1:
        out = out[..., :1]
    return _composite(image, hole, out)


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------
#: Method name -> inpainting callable ``(image, mask) -> image``.
BASELINES: dict[str, InpaintFn] = {
    "mean": mean_fill,
    "telea": telea,
    "ns": navier_stokes,
    "biharmonic": biharmonic,
    "patchmatch": patchmatch,
}


def _check_name(name: str) -> None:
    if name not in BASELINES:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(BASELINES)}")


def is_available(name: str) -> bool:
    """Whether baseline ``name`` can run here (only ``"patchmatch"`` is optional)."""
    _check_name(name)
    if name == "patchmatch":
        return _load_patchmatch() is not None
    return True


def available_baselines() -> list[str]:
    """Names of the baselines that can run in this environment, in registry order."""
    return [name for name in BASELINES if is_available(name)]


def get_baseline(name: str) -> InpaintFn:
    """The inpainting callable registered as ``name``.

    Raises ``ValueError`` for an unknown name. An optional method that is not installed
    is still returned; calling it raises ``RuntimeError`` with the install command.
    """
    _check_name(name)
    return BASELINES[name]
