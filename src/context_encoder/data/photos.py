"""Real photographs that need no download: crops of the photos scikit-image ships.

``skimage.data`` bundles a few photographs inside the installed package (others it would
download; those are not used). They are split by PHOTO, never by crop, into two disjoint
sets (:data:`PHOTO_SPLITS`):

``"tune"``   (choose defaults on these)
    camera, coffee, coins, retina, clock, page, immunohistochemistry, gravel
``"report"`` (report figures on these)
    astronaut, chelsea, rocket, moon, cell, text, stereo_motorcycle, hubble_deep_field,
    brick, grass

The whole-frame stationary textures (:data:`TEXTURES`: brick, grass, gravel) appear in
both splits (gravel to tune; brick and grass to report), so test-time adaptation can be
tuned and reported on textures. Left out: ``cat`` (the same photo as ``chelsea``),
``microaneurysms`` (102 px, smaller than a crop) and the synthetic images (checkerboard,
colorwheel, logo, horse, binary_blobs, shepp_logan_phantom).

Crops (:func:`photo_crops`, :func:`photo_images`): each photo becomes RGB (grayscale
repeated, alpha dropped) and is shrunk, never enlarged unless it is smaller than the crop,
so that its shorter side is at most ``2 * size`` (so a crop spans at least half of it);
then ``per_photo`` crops of ``size x size`` are drawn at positions from a Generator seeded
by ``(seed, photo name, size)``. Nearly flat crops (retina's black border, the empty sky
of hubble_deep_field) are redrawn, since every method fills them perfectly. A photo that
cannot be loaded here is skipped with a log line.
"""

from __future__ import annotations

import functools
import logging
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "PHOTO_SPLITS",
    "TEXTURES",
    "PhotoCrop",
    "available_photos",
    "load_photo",
    "photo_crops",
    "photo_images",
]

logger = logging.getLogger(__name__)

#: Photo names (``skimage.data`` function names) of each split; the splits are disjoint.
PHOTO_SPLITS: dict[str, tuple[str, ...]] = {
    "tune": ("camera", "coffee", "coins", "retina", "clock", "page",
             "immunohistochemistry", "gravel"),
    "report": ("astronaut", "chelsea", "rocket", "moon", "cell", "text", "stereo_motorcycle",
               "hubble_deep_field", "brick", "grass"),
}

#: Photos whose whole frame is one stationary texture.
TEXTURES: frozenset[str] = frozenset({"brick", "grass", "gravel"})

#: Crops per photo unless asked otherwise.
DEFAULT_PER_PHOTO = 4

#: The photo's shorter side is brought down to at most this many crop sides.
_SCALE_IN_CROPS = 2

#: A crop whose grey-level standard deviation (0..255) is below this is redrawn.
_MIN_STD = 6.0
_CROP_TRIES = 20


@dataclass(frozen=True)
class PhotoCrop:
    """One crop: the image (``HxWx3`` uint8), its photo and where it lies in the resized
    photo (``top``, ``left``, and ``scale``, the resize factor applied to the photo)."""

    image: np.ndarray
    photo: str
    index: int
    top: int
    left: int
    scale: float

    @property
    def texture(self) -> bool:
        return self.photo in TEXTURES


def _check_split(split: str) -> tuple[str, ...]:
    if split not in PHOTO_SPLITS:
        raise ValueError(f"unknown photo split {split!r}; choose from {', '.join(PHOTO_SPLITS)}")
    return PHOTO_SPLITS[split]


@functools.lru_cache(maxsize=32)
def _load(name: str) -> np.ndarray | None:
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None:
        logger.warning("photo %r: not in this scikit-image (%s); skipped", name,
                       getattr(skimage, "__version__", "?"))
        return None
    try:
        a = loader()
    except Exception as e:  # a download attempt without network, a missing optional package
        logger.warning("photo %r: cannot be loaded offline (%s); skipped", name, e)
        return None
    if isinstance(a, tuple):  # stereo_motorcycle: (left, right, disparity)
        a = a[0]
    a = np.asarray(a)
    if a.dtype != np.uint8:
        raise ValueError(f"photo {name!r} has dtype {a.dtype}, expected uint8")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    a = np.ascontiguousarray(a[..., :3])
    a.setflags(write=False)
    return a


def load_photo(name: str) -> np.ndarray:
    """The photo ``name`` as ``HxWx3`` uint8 RGB (read-only). Raises ``ValueError`` for a
    name in no split, ``RuntimeError`` when this scikit-image cannot load it offline."""
    known = [n for names in PHOTO_SPLITS.values() for n in names]
    if name not in known:
        raise ValueError(f"unknown photo {name!r}; choose from {', '.join(known)}")
    a = _load(name)
    if a is None:
        raise RuntimeError(f"photo {name!r} cannot be loaded offline with this scikit-image")
    return a


def available_photos(split: str = "report") -> list[str]:
    """The photos of ``split`` that load here, in split order (others are logged)."""
    return [n for n in _check_split(split) if _load(n) is not None]


def _resized(photo: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Shrink so the shorter side is ``_SCALE_IN_CROPS * size`` at most; enlarge only
    when it is shorter than ``size``."""
    short = min(photo.shape[:2])
    target = min(short, _SCALE_IN_CROPS * size) if short >= size else size
    if target == short:
        return photo, 1.0
    scale = target / short
    h, w = (max(size, round(n * scale)) for n in photo.shape[:2])
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(photo, (w, h), interpolation=interp), scale


def _photo_crops(name: str, size: int, per_photo: int, seed: int) -> list[PhotoCrop]:
    photo = _load(name)
    if photo is None:
        return []
    img, scale = _resized(photo, size)
    h, w = img.shape[:2]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode()), size])
    gray = img.mean(axis=2)
    crops = []
    for i in range(per_photo):
        for _ in range(_CROP_TRIES):  # the last draw is kept even if flat
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            if gray[top : top + size, left : left + size].std() >= _MIN_STD:
                break
        crop = np.ascontiguousarray(img[top : top + size, left : left + size])
        crops.append(PhotoCrop(crop, name, i, top, left, scale))
    return crops


def photo_crops(split: str = "report", size: int = 128, count: int | None = None, *,
                per_photo: int = DEFAULT_PER_PHOTO, seed: int = 0,
                textures: bool | None = None) -> list[PhotoCrop]:
    """Deterministic ``size x size`` crops of the photos of ``split``.

    Ordered crop-major (the first crop of every photo, then the second, ...), so that
    ``count`` (at most ``per_photo`` times the photos) keeps every photo represented.
    ``textures``: True keeps only :data:`TEXTURES`, False leaves them out, None keeps all.
    """
    names = _check_split(split)
    if size < 8:
        raise ValueError(f"crop size must be >= 8, got {size}")
    if per_photo < 1:
        raise ValueError(f"per_photo must be >= 1, got {per_photo}")
    if count is not None and count < 1:
        raise ValueError(f"count must be >= 1 or None, got {count}")
    if textures is not None:
        names = tuple(n for n in names if (n in TEXTURES) == textures)
    per = [_photo_crops(n, size, per_photo, seed) for n in names]
    ordered = [c for i in range(per_photo) for crops in per for c in crops[i : i + 1]]
    return ordered if count is None else ordered[:count]


def photo_images(split: str = "report", size: int = 128, count: int | None = None, *,
                 per_photo: int = DEFAULT_PER_PHOTO, seed: int = 0,
                 textures: bool | None = None) -> list[np.ndarray]:
    """The images of :func:`photo_crops` (``HxWx3`` uint8 RGB, ``size x size``)."""
    return [c.image for c in photo_crops(split, size, count, per_photo=per_photo, seed=seed,
                                         textures=textures)]
