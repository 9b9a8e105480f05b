"""Fill holes in images of any size with a trained Context Encoder.

The generator works on a fixed ``S x S`` window (64, 128 or 256 px), so an image of any
size is inpainted hole by hole:

1. The mask (non-zero = hole) is split into connected components (8-connectivity);
   nearby components whose context windows would not grow by merging are grouped.
2. Each group gets a square context window around its bounding box, with the ratio of
   hole to context the model was trained with:

   * ``task="full"`` models: window side ``2 * bbox side``, at most the image's longer
     side (or S if larger) and at least ``min(S, longer image side)``, shifted to stay
     inside the image where it fits; an image of at most S px is thus seen whole, at its
     own scale, as in training;
   * ``task="center"`` models: the bbox is centered and must map inside the blanked
     square (``S/2 - 2*overlap`` px at model scale), so the side is
     ``ceil(bbox side * S / (S/2 - 2*overlap))``, at least ``min(S/2, longer image side)``.

   A window that reaches past the image is filled by reflection (replication for a
   one-pixel-wide image). The window is resized to ``S x S`` (area when shrinking,
   cubic when growing), the model input is built exactly as in training (mean colour in
   the hole; for a center model the whole blanked square), all windows of all images of
   one call run through the generator in batches, and each prediction is resized back.
3. Only hole pixels are written. Within ``feather`` px of the hole's edge the prediction
   is blended (weight 0.5 at the edge up to 1) with a local smooth estimate of the known
   colours around it, which hides the seam. Pixels outside the hole are bit-identical to
   the input, always.

8- and 16-bit images, grayscale (the mean of the RGB prediction is used), RGB and RGBA
(alpha is kept unchanged, in the hole as well) are supported. :func:`load_image` and
:func:`save_image` read and write files keeping mode and bit depth; :func:`load_mask` and
:func:`box_mask` build masks. :func:`add_cli` adds the ``context-encoder inpaint``
command.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .checkpoint import CheckpointError, load_generator
from .config import MEAN_RGB, ModelConfig
from .models import Generator

__all__ = [
    "OUTPUT_FORMATS",
    "BaselineInpainter",
    "Inpainter",
    "add_cli",
    "box_mask",
    "load_image",
    "load_mask",
    "save_image",
]

logger = logging.getLogger(__name__)

#: File extensions :func:`save_image` writes, and their PIL format names.
OUTPUT_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
_SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
_READ_ERRORS = (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError)

ImageLike = Any  # np.ndarray or PIL.Image.Image
MaskLike = Any


# ---------------------------------------------------------------------------------------
# Arrays: validation and conversion to / from float RGB in [0, 1]
# ---------------------------------------------------------------------------------------
def _check_image(image: np.ndarray) -> np.ndarray:
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
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def _to_rgb01(image: np.ndarray) -> np.ndarray:
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


def _write_hole(image: np.ndarray, mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
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


def _size_text(h: int, w: int) -> str:
    return f"{w}x{h}"


def _mask_array(mask: MaskLike, shape: tuple[int, int], what: str = "mask") -> np.ndarray:
    """A boolean ``HxW`` hole mask (non-zero = hole) from a PIL image or an array."""
    if isinstance(mask, Image.Image):
        m = _pil_mask(mask)
    else:
        m = np.asarray(mask)
        if m.ndim == 3 and m.shape[2] in (1, 3, 4):
            m = m[..., :3].any(axis=2) if m.shape[2] > 1 else m[..., 0] != 0
        elif m.ndim != 2:
            raise ValueError(f"{what} must be HxW (or HxWx1/3/4), got shape {m.shape}")
        m = m != 0
    if m.shape != tuple(shape):
        raise ValueError(
            f"{what} size {_size_text(*m.shape)} does not match the image size "
            f"{_size_text(*shape)} (width x height)"
        )
    return m


def _pil_mask(img: Image.Image) -> np.ndarray:
    """Non-zero in any colour channel = hole; an alpha channel is ignored."""
    if img.mode == "P":
        img = img.convert("RGB")
    elif img.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "I;16", "I;16L", "I;16B", "F"):
        img = img.convert("RGB")
    a = np.asarray(img)
    if img.mode == "LA":
        a = a[..., 0]
    elif a.ndim == 3:
        a = a[..., :3].any(axis=2)
    return a != 0


# ---------------------------------------------------------------------------------------
# PIL <-> arrays
# ---------------------------------------------------------------------------------------
def _pil_to_array(img: Image.Image) -> tuple[np.ndarray, Callable[[np.ndarray], Image.Image]]:
    """An array for the pipeline and the function that turns the result back into an
    image of the same mode (P, CMYK and other modes come back as RGB / RGBA)."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA"):
        return np.asarray(img), Image.fromarray
    if mode in ("I;16", "I;16L", "I;16B"):
        return np.asarray(img).astype(np.uint16), Image.fromarray
    if mode == "I":
        a = np.asarray(img)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError("mode 'I' images must hold values in 0..65535")
        return a.astype(np.uint16), lambda r: Image.fromarray(r.astype(np.int32))
    if mode == "F":
        a = np.asarray(img)
        if a.size and (a.min() < 0 or a.max() > 1):
            raise ValueError("mode 'F' images must hold values in 0..1")
        return a.astype(np.float32), Image.fromarray
    if mode == "1":
        return np.asarray(img.convert("L")), lambda r: Image.fromarray(r).convert("1")
    if mode == "LA":
        return np.asarray(img.convert("RGBA")), lambda r: Image.fromarray(r).convert("LA")
    has_alpha = "A" in mode or "transparency" in img.info
    target = "RGBA" if has_alpha else "RGB"
    return np.asarray(img.convert(target)), Image.fromarray


# ---------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Hole components filled from one context window."""

    labels: list[int]
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive) of the union
    top: int = 0
    left: int = 0
    side: int = 0


@dataclass
class _Job:
    """One window to run: which image, which group, the model input."""

    image: int
    group: _Group
    x: np.ndarray  # S x S x 3 in [-1, 1]
    hole: np.ndarray | None  # S x S float, 1 = hole (full task only)
    context: np.ndarray  # S x S x 3 in [0, 1], the resized window


def _reflect_index(idx: np.ndarray, n: int) -> np.ndarray:
    """Indices into ``0..n-1`` reflected about the edges (edge pixel not repeated);
    a length-1 axis is replicated."""
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)
    r = np.mod(idx, period)
    return np.where(r >= n, period - r, r)


def _window(a: np.ndarray, g: _Group) -> np.ndarray:
    """The ``g.side`` square of ``a`` at (``g.top``, ``g.left``), reflected past the edges."""
    rows = _reflect_index(np.arange(g.top, g.top + g.side), a.shape[0])
    cols = _reflect_index(np.arange(g.left, g.left + g.side), a.shape[1])
    return a[rows[:, None], cols[None, :]]


def _resize(a: np.ndarray, size: int, *, smooth_up: bool = True) -> np.ndarray:
    """Square ``a`` to ``size x size``: area when shrinking, cubic (or linear) growing."""
    n = a.shape[0]
    if n == size:
        return a
    if n > size:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_CUBIC if smooth_up else cv2.INTER_LINEAR
    return cv2.resize(a, (size, size), interpolation=interp)


class _Geometry:
    """Window sizes and positions for one model configuration."""

    def __init__(self, config: ModelConfig) -> None:
        self.S = config.image_size
        self.task = config.task
        self.a = config.image_size // 4 + config.overlap  # blanked square [a, b)
        self.b = 3 * config.image_size // 4 - config.overlap
        self.min_side = self.S if self.task == "full" else self.S // 2

    def side(self, s: np.ndarray | int, longest: int) -> np.ndarray:
        """Window side for bbox side(s) ``s`` in an image whose longer side is ``longest``."""
        s = np.asarray(s, dtype=np.int64)
        lo = max(2, min(self.min_side, longest))
        if self.task == "full":
            # twice the hole, but never past the image: a model trained on whole images
            # with masks at native scale sees an image up to S px exactly as in training
            need = np.minimum(2 * s, max(longest, self.S))
        else:
            need = -(-s * self.S // (self.b - self.a))  # ceil
        return np.maximum(need, lo)

    def _inside_blank(self, i0: int, i1: int, side: int) -> bool:
        # window pixels [i0, i1) cover model pixels [i0*S/side, i1*S/side)
        return i0 * self.S >= self.a * side and i1 * self.S <= self.b * side

    def place(self, g: _Group, h_img: int, w_img: int) -> None:
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
                if self._inside_blank(y0 - top, y1 - top, side) and self._inside_blank(
                    x0 - left, x1 - left, side
                ):
                    break
                side += 1
        g.top, g.left, g.side = top, left, side


def _clamp_window(start: int, side: int, n: int) -> int:
    """Keep a window inside ``0..n`` when it fits, else make it cover the whole axis."""
    if side <= n:
        return min(max(start, 0), n - side)
    return min(max(start, n - side), 0)


def _group_components(mask: np.ndarray, geo: _Geometry) -> tuple[np.ndarray, list[_Group]]:
    """Label the hole's connected components and group those that share a window."""
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
    groups = [_Group(m, tuple(int(v) for v in gbox[j])) for j, m in enumerate(members)]
    return labels, groups


def _smooth_fill(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
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


def _feather(rgb: np.ndarray, mask: np.ndarray, pred: np.ndarray, feather: int) -> np.ndarray:
    """Blend the outer ``feather`` px of the hole towards a smooth estimate of the known
    colours around it (weight of the prediction: 0.5 at the edge, 1 from ``feather`` px
    in). Only hole pixels change."""
    if feather <= 0:
        return pred
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    alpha = np.clip(0.5 + 0.5 * (dist - 1.0) / feather, 0.5, 1.0)
    band = mask & (alpha < 1.0)
    if not band.any():
        return pred
    ys, xs = np.nonzero(band)
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
    a = alpha[ys[ok], xs[ok]][:, None]
    out = pred.copy()
    out[ys[ok], xs[ok]] = a * pred[ys[ok], xs[ok]] + (1.0 - a) * est
    return out


class _Serial:
    """Stands in for a thread pool where one thread is all there is to use."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def map(fn: Callable[..., Any], *its: Any) -> Iterator[Any]:
        return map(fn, *its)


def _host_pool(n_items: int) -> Any:
    """Threads for per-image CPU work: up to one per core (at most 8), none for one item."""
    from .training import usable_cores

    workers = min(n_items, usable_cores(), 8)
    return ThreadPoolExecutor(workers) if workers > 1 else _Serial()


# ---------------------------------------------------------------------------------------
# Inpainters
# ---------------------------------------------------------------------------------------
class _InpainterBase:
    """Type handling shared by the model and the baselines: PIL or numpy, one or a list."""

    def __call__(self, image: ImageLike | Sequence[ImageLike],
                 mask: MaskLike | Sequence[MaskLike]) -> Any:
        """Inpaint ``image`` where ``mask`` is non-zero.

        ``image``: a PIL image or a numpy array (``HxW``, ``HxWx1``, ``HxWx3`` or ``HxWx4``;
        uint8, uint16 or float in [0, 1]), or a list of them. ``mask``: a PIL image or an
        array of the image's height and width, non-zero = hole (a multi-channel mask is a
        hole wherever any colour channel is non-zero); with a list of images, a list of
        masks or one mask for all. Returns the same type(s): PIL in, PIL out with the same
        mode; numpy in, numpy out with the same dtype and shape. Pixels outside the hole are
        unchanged, and so is an alpha channel. An empty mask returns the image unchanged
        with a warning; a mask covering the whole image raises ``ValueError``.
        """
        if isinstance(image, (list, tuple)):
            images = list(image)
            if isinstance(mask, (list, tuple)):
                masks = list(mask)
                if len(masks) != len(images):
                    raise ValueError(f"got {len(images)} images but {len(masks)} masks")
            else:
                masks = [mask] * len(images)
            return self._call_many(images, masks)
        return self._call_many([image], [mask])[0]

    def _call_many(self, images: list[ImageLike], masks: list[MaskLike]) -> list[Any]:
        arrays, back = [], []
        for img in images:
            if isinstance(img, Image.Image):
                a, restore = _pil_to_array(img)
                arrays.append(a)
                back.append(restore)
            else:
                arrays.append(img)
                back.append(None)
        results = self.inpaint_arrays(arrays, masks)
        return [r if f is None else f(r) for r, f in zip(results, back, strict=True)]

    def inpaint_array(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Inpaint one numpy image (see :meth:`__call__` for the conventions)."""
        return self.inpaint_arrays([image], [mask])[0]

    def inpaint_arrays(self, images: Sequence[np.ndarray],
                       masks: Sequence[MaskLike]) -> list[np.ndarray]:
        """Inpaint several numpy images (batched where the method allows it)."""
        if len(images) != len(masks):
            raise ValueError(f"got {len(images)} images but {len(masks)} masks")
        checked = []
        for i, (img, m) in enumerate(zip(images, masks, strict=True)):
            img = _check_image(img)
            what = "mask" if len(images) == 1 else f"mask {i}"
            hole = _mask_array(m, img.shape[:2], what)
            if hole.all():
                raise ValueError(
                    f"{what} covers the whole {_size_text(*img.shape[:2])} image: there is no "
                    "context to inpaint from"
                )
            checked.append((img, hole))
        todo = [i for i, (_, hole) in enumerate(checked) if hole.any()]
        if len(todo) < len(checked):
            warnings.warn("the mask is empty: nothing to inpaint, the image is returned unchanged",
                          UserWarning, stacklevel=3)
        results = [img.copy() for img, _ in checked]
        if todo:
            filled = self._fill([checked[i][0] for i in todo], [checked[i][1] for i in todo])
            for i, rgb in zip(todo, filled, strict=True):
                img, hole = checked[i]
                results[i] = _write_hole(img, hole, rgb)
        return results

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        """Float ``HxWx3`` predictions in [0, 1], valid in the hole pixels."""
        raise NotImplementedError


class Inpainter(_InpainterBase):
    """Fill holes with a trained generator, in images of any size.

    Mask convention: non-zero = hole (to fill); the mask has the image's height and width.
    Any number of holes of any shape, anywhere (also touching the border) is fine; a
    center-region model serves any hole as well (through the window mapping described in
    the module docstring). Pixels outside the hole are returned bit-identical.

    ``device``: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``.
    ``precision``: ``"auto"`` (bf16 where the hardware runs it fast), ``"fp32"``, ``"bf16"``,
    ``"fp16"`` or an autocast dtype. ``feather``: width in px of the seam blend inside the
    hole (0 = none). ``batch_size``: windows per generator call.

    Example::

        inp = Inpainter.from_pretrained("facades-freeform-128")
        out = inp(Image.open("photo.jpg"), Image.open("mask.png"))
    """

    DEFAULT_MODEL = "facades-freeform-128"

    def __init__(self, generator: Generator, config: ModelConfig, *,
                 device: str | torch.device, precision: str | torch.dtype | None = "auto",
                 feather: int = 2, name: str | None = None, batch_size: int = 64) -> None:
        from .training import resolve_device, resolve_precision

        self.device = resolve_device(device) if isinstance(device, str) else torch.device(device)
        if isinstance(precision, str):
            self.amp_dtype = resolve_precision(precision, self.device)
        else:
            self.amp_dtype = precision
        if feather < 0:
            raise ValueError(f"feather must be >= 0, got {feather}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        # Inference keeps the weights in the compute dtype (no per-call casts, which dominate
        # at small batches for the 4000-wide bottleneck) and uses channels-last convolutions.
        self.generator = generator.to(self.device).eval()
        if self.amp_dtype is not None:
            self.generator = self.generator.to(self.amp_dtype)
        self.generator = self.generator.to(memory_format=torch.channels_last)
        self.config = config
        self.feather = int(feather)
        self.name = name
        self.batch_size = int(batch_size)
        self._geo = _Geometry(config)
        self._fill01 = np.array(MEAN_RGB, dtype=np.float32) / 255.0

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike = DEFAULT_MODEL,
                        device: str | torch.device = "auto",
                        precision: str | torch.dtype | None = "auto", **kwargs: Any) -> Inpainter:
        """Load a shipped model by name, an exported ``.safetensors`` file or a training run
        folder. Raises :class:`~context_encoder.checkpoint.CheckpointError` (a
        ``ValueError``) for unknown names and corrupt files."""
        from .training import resolve_device

        dev = resolve_device(device) if isinstance(device, str) else torch.device(device)
        gen, info = load_generator(name_or_path, device=dev)
        logger.info("loaded %s (%s model, %d px) on %s", info.get("source"),
                    info["config"].task, info["config"].image_size, dev)
        return cls(gen, info["config"], device=dev, precision=precision,
                   name=str(name_or_path), **kwargs)

    def __repr__(self) -> str:
        dtype = str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "fp32"
        return (f"Inpainter(name={self.name!r}, task={self.config.task!r}, "
                f"size={self.config.image_size}, device={str(self.device)!r}, precision={dtype!r})")

    # -- internals --------------------------------------------------------------------
    def _make_job(self, index: int, base: np.ndarray, mask: np.ndarray, g: _Group) -> _Job:
        """Crop (reflecting past the image), resize to S and build the model input."""
        S, geo = self.config.image_size, self._geo
        context = np.clip(_resize(_window(base, g), S), 0.0, 1.0)
        fill = np.asarray(self._fill01 * 2.0 - 1.0, dtype=np.float32)
        x = context * 2.0 - 1.0
        if self.config.task == "full":
            m = _resize(_window(mask, g).astype(np.float32), S, smooth_up=False)
            # Any overlap with the hole is hole. Area shrinking gives exactly 0 where a model
            # pixel's footprint holds no hole pixel; linear enlarging leaves rounding dust.
            m = (m > (0.0 if g.side >= S else 1e-3)).astype(np.float32)
            x = x * (1.0 - m[..., None]) + fill * m[..., None]
            return _Job(index, g, x.astype(np.float32), m, context)
        x[geo.a : geo.b, geo.a : geo.b] = fill
        return _Job(index, g, x.astype(np.float32), None, context)

    def _run(self, jobs: list[_Job]) -> list[np.ndarray]:
        """Generator outputs as ``S x S x 3`` arrays in [0, 1] (whole window)."""
        S, q = self.config.image_size, self.config.image_size // 4
        out: list[np.ndarray] = []
        for i in range(0, len(jobs), self.batch_size):
            chunk = jobs[i : i + self.batch_size]
            x = torch.from_numpy(np.stack([j.x for j in chunk])).permute(0, 3, 1, 2)
            dtype = self.amp_dtype or torch.float32
            x = x.to(self.device, dtype).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                if self.config.task == "full":
                    m = torch.from_numpy(np.stack([j.hole for j in chunk]))[:, None]
                    y = self.generator(x, m.to(self.device, dtype))
                else:
                    y = self.generator(x)
            y = ((y.float().clamp(-1, 1) + 1.0) * 0.5).permute(0, 2, 3, 1).cpu().numpy()
            for j, pred in zip(chunk, y, strict=True):
                if j.hole is not None:  # full task: prediction in the hole, context around
                    m = j.hole[..., None]
                    out.append(pred * m + j.context * (1.0 - m))
                else:  # center task: the predicted center pasted into the context
                    full = j.context.copy()
                    full[q : S - q, q : S - q] = pred
                    out.append(full)
        return out

    def _needs_smooth_context(self, mask: np.ndarray, g: _Group) -> bool:
        """Whether hole pixels can reach the model input of window ``g`` as context.

        The full-task model blanks every model pixel that a hole pixel touches; the
        center-task model blanks its central square, so there only hole pixels mapped
        outside that square (other holes, reflections) are context. Area shrinking (window
        at least S px) keeps each pixel's footprint, so this holds after resampling too;
        cubic enlarging (smaller windows) spreads pixels into their neighbours and always
        gets the smooth fill."""
        if g.side < self.config.image_size:
            return True
        if self.config.task == "full":
            return False
        win = _window(mask, g)
        ys, xs = np.flatnonzero(win.any(axis=1)), np.flatnonzero(win.any(axis=0))
        inside = self._geo._inside_blank(int(ys[0]), int(ys[-1]) + 1, g.side) and \
            self._geo._inside_blank(int(xs[0]), int(xs[-1]) + 1, g.side)
        return not inside

    def _prepare(self, k: int, rgb: np.ndarray, mask: np.ndarray
                 ) -> tuple[np.ndarray, list[_Job]]:
        """Group one image's holes into windows and build their model inputs."""
        labels, groups = _group_components(mask, self._geo)
        for g in groups:
            self._geo.place(g, *mask.shape)
        # The push-pull fill only matters where hole pixels are seen as context; skipping it
        # elsewhere changes no output pixel (tests/test_inference.py checks this).
        smooth = any(self._needs_smooth_context(mask, g) for g in groups)
        base = _smooth_fill(rgb, mask) if smooth else rgb
        logger.debug("image %d: %d hole groups, windows %s", k, len(groups),
                     [g.side for g in groups])
        return labels, [self._make_job(k, base, mask, g) for g in groups]

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        rgbs = [_to_rgb01(img) for img in images]
        # The per-image work before and after the generator (OpenCV and NumPy, which release
        # the GIL) runs on threads, so that a batch's host work uses several CPU cores.
        with _host_pool(len(images)) as pool:
            prepared = list(pool.map(self._prepare, range(len(rgbs)), rgbs, masks))
            labels_of = [labels for labels, _ in prepared]
            jobs = [job for _, image_jobs in prepared for job in image_jobs]
            preds = [np.zeros_like(rgb) for rgb in rgbs]

            def paste(job: _Job, out: np.ndarray) -> None:
                g = job.group
                back = _resize(out, g.side)
                y0, x0, y1, x1 = g.box
                sel = np.isin(labels_of[job.image][y0:y1, x0:x1], g.labels)
                win = back[y0 - g.top : y1 - g.top, x0 - g.left : x1 - g.left]
                preds[job.image][y0:y1, x0:x1][sel] = win[sel]  # groups of an image are disjoint

            list(pool.map(paste, jobs, self._run(jobs)))
            return list(pool.map(
                lambda rgb, mask, p: _feather(rgb, mask, np.clip(p, 0.0, 1.0), self.feather),
                rgbs, masks, preds))


class BaselineInpainter(_InpainterBase):
    """A classical method (``"mean"``, ``"telea"``, ``"ns"``, ``"biharmonic"``,
    ``"patchmatch"`` from :mod:`context_encoder.baselines`, or any
    ``fn(uint8 HxWx3, bool HxW) -> uint8 HxWx3``) behind the :class:`Inpainter` interface.
    Images are handed to the method as 8-bit RGB and converted back."""

    def __init__(self, method: str | Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        if isinstance(method, str):
            from .baselines import get_baseline

            self.name = method
            self.method = get_baseline(method)
        else:
            self.name = getattr(method, "__name__", "custom")
            self.method = method

    def __repr__(self) -> str:
        return f"BaselineInpainter({self.name!r})"

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, mask in zip(images, masks, strict=True):
            u8 = np.rint(_to_rgb01(img) * 255.0).astype(np.uint8)
            res = np.asarray(self.method(u8, mask))
            if res.shape != u8.shape:
                raise ValueError(f"method {self.name!r} returned shape {res.shape}, "
                                 f"expected {u8.shape}")
            out.append(res.astype(np.float32) / 255.0)
        return out


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------
_ORIENT = {  # EXIF orientation -> numpy transform (same as PIL.ImageOps.exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def apply_exif_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an ``HxW[xC]`` array (as ``ImageOps.exif_transpose``)."""
    f = _ORIENT.get(orientation)
    return np.ascontiguousarray(f(a)) if f else a


def _read_16bit_colour(data: bytes, orientation: int) -> np.ndarray | None:
    """16-bit RGB(A) PNG / TIFF through OpenCV (PIL reduces them to 8 bits)."""
    a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16 or a.ndim != 3 or a.shape[2] not in (3, 4):
        return None
    a = cv2.cvtColor(a, cv2.COLOR_BGR2RGB if a.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    a = apply_exif_orientation(a, orientation)
    return np.ascontiguousarray(a)


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """Read an image file as an array, keeping its bit depth and channels.

    Returns ``(array, info)``: ``HxW`` (grayscale), ``HxWx3`` (RGB) or ``HxWx4`` (RGBA),
    uint8 or uint16 (16-bit PNG / TIFF); EXIF orientation applied. Palette images become
    RGB(A), LA becomes RGBA (written back as LA by :func:`save_image`). ``info`` holds
    ``mode``, ``format``, ``bits`` and, when present, ``icc_profile`` and ``dpi``.
    Raises ``ValueError("cannot read image 'PATH': ...")``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as raw:
            fmt = raw.format
            orientation = int(raw.getexif().get(0x0112, 1) or 1)
            img = ImageOps.exif_transpose(raw)
            img.load()
    except IsADirectoryError as e:
        raise ValueError(f"cannot read image {str(path)!r}: it is a folder") from e
    except _READ_ERRORS as e:
        raise ValueError(f"cannot read image {str(path)!r}: {e}") from e
    info: dict[str, Any] = {"format": fmt, "bits": 8, "mode": img.mode}
    for key in ("icc_profile", "dpi"):
        if img.info.get(key):
            info[key] = img.info[key]
    try:
        if fmt in _SIXTEEN_BIT_FORMATS and img.mode in ("RGB", "RGBA"):
            a16 = _read_16bit_colour(data, orientation)
            if a16 is not None:
                info.update(bits=16, mode="RGB" if a16.shape[2] == 3 else "RGBA")
                return a16, info
        mode = img.mode
        if mode in ("L", "RGB", "RGBA"):
            a = np.asarray(img)
        elif mode.startswith("I;16") or mode == "I":
            a = np.asarray(img)
            if a.size and (a.min() < 0 or a.max() > 65535):
                raise ValueError(f"{mode} values outside 0..65535")
            a = a.astype(np.uint16)
            info.update(bits=16, mode="I;16")
        elif mode == "1":
            a = np.asarray(img.convert("L"))
        elif mode == "LA":
            a = np.asarray(img.convert("RGBA"))
        elif mode == "F":
            raise ValueError("floating-point images are not supported")
        else:
            target = "RGBA" if ("A" in mode or "transparency" in img.info) else "RGB"
            a = np.asarray(img.convert(target))
            info["mode"] = target
    except _READ_ERRORS as e:
        raise ValueError(f"cannot read image {str(path)!r}: {e}") from e
    return np.ascontiguousarray(a), info


_UMASK: int | None = None


def _file_mode() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(arr: np.ndarray, fmt: str, info: dict[str, Any], path: Path) -> bytes:
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        arr = np.rint(np.clip(arr, 0, 1) * 255.0).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype == np.uint16 and fmt not in _SIXTEEN_BIT_FORMATS:
        logger.info("%s: %s stores 8 bits per channel; converting from 16", path, fmt)
        arr = np.rint(arr / 257.0).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 4 and fmt in ("JPEG", "BMP"):
        warnings.warn(f"{str(path)!r}: {fmt} has no alpha channel; the alpha is dropped",
                      UserWarning, stacklevel=3)
        arr = arr[..., :3]
    if arr.dtype == np.uint16 and arr.ndim == 3:
        code = cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        ok, enc = cv2.imencode(".png" if fmt == "PNG" else ".tiff", cv2.cvtColor(arr, code))
        if not ok:
            raise ValueError("OpenCV could not encode the image")
        return enc.tobytes()
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot store dtype {arr.dtype}")
    img = Image.fromarray(np.ascontiguousarray(arr))
    mode = info.get("mode")
    if mode == "LA" and img.mode == "RGBA":
        img = img.convert("LA")
    elif mode == "1" and img.mode == "L" and fmt != "JPEG":
        img = img.convert("1")
    kwargs: dict[str, Any] = {}
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = 95
    for key in ("icc_profile", "dpi"):
        if info.get(key) and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
            kwargs[key] = info[key]
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def save_image(array: np.ndarray, path: str | os.PathLike,
               info: dict[str, Any] | None = None) -> Path:
    """Write ``array`` to ``path`` atomically (temporary file + rename: no partial file is
    left behind on error); the format follows the extension (.png, .jpg/.jpeg, .webp, .bmp,
    .tif/.tiff). 16-bit data is kept in PNG and TIFF and reduced to 8 bits elsewhere; an
    alpha channel is dropped (with a warning) for JPEG and BMP. ``info`` from
    :func:`load_image` restores LA / 1-bit modes, the ICC profile and the DPI."""
    path = Path(path)
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot write image {str(path)!r}: unknown extension {path.suffix!r} "
            f"(use one of {', '.join(OUTPUT_FORMATS)})"
        )
    arr = np.asarray(array)
    try:
        _check_image(arr)
        data = _encode(arr, fmt, info or {}, path)
        _atomic_write_bytes(path, data)
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"cannot write image {str(path)!r}: {e}") from e
    return path


def load_mask(path: str | os.PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean ``HxW`` hole mask from an image file: a pixel is a hole where any of its
    colour channels is non-zero (an alpha channel is ignored; EXIF orientation applied).
    ``shape`` is the image's shape (``H, W[, C]``); another size raises ``ValueError``
    naming the file and both sizes."""
    path = Path(path)
    try:
        with Image.open(path) as raw:
            img = ImageOps.exif_transpose(raw)
            img.load()
            m = _pil_mask(img)
    except IsADirectoryError as e:
        raise ValueError(f"cannot read mask {str(path)!r}: it is a folder") from e
    except _READ_ERRORS as e:
        raise ValueError(f"cannot read mask {str(path)!r}: {e}") from e
    h, w = int(shape[0]), int(shape[1])
    if m.shape != (h, w):
        raise ValueError(
            f"mask {str(path)!r} is {_size_text(*m.shape)} but the image is "
            f"{_size_text(h, w)} (width x height)"
        )
    return m


def box_mask(shape: tuple[int, ...], box: str | Sequence[int]) -> np.ndarray:
    """A boolean ``HxW`` mask with the rectangle ``"X,Y,W,H"`` (left, top, width, height
    in pixels) as the hole. Raises ``ValueError`` for a malformed box or one that is not
    entirely inside the image (naming the edge that is outside)."""
    h, w = int(shape[0]), int(shape[1])
    if isinstance(box, str):
        parts = [p.strip() for p in box.split(",")]
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            vals = []
        if len(parts) != 4 or len(vals) != 4:
            raise ValueError(f"box {box!r} is malformed: expected X,Y,W,H as four integers")
    else:
        vals = [int(v) for v in box]
        if len(vals) != 4:
            raise ValueError(f"box {tuple(box)!r} is malformed: expected (X, Y, W, H)")
    x, y, bw, bh = vals
    text = f"box {x},{y},{bw},{bh}"
    if bw <= 0 or bh <= 0:
        raise ValueError(f"{text}: width and height must be positive")
    size = f"{_size_text(h, w)} image"
    if x < 0:
        raise ValueError(f"{text}: left edge x={x} is outside the {size}")
    if y < 0:
        raise ValueError(f"{text}: top edge y={y} is outside the {size}")
    if x + bw > w:
        raise ValueError(f"{text}: right edge x+w={x + bw} is outside the {size}")
    if y + bh > h:
        raise ValueError(f"{text}: bottom edge y+h={y + bh} is outside the {size}")
    m = np.zeros((h, w), dtype=bool)
    m[y : y + bh, x : x + bw] = True
    return m


# ---------------------------------------------------------------------------------------
# CLI: context-encoder inpaint
# ---------------------------------------------------------------------------------------
def add_cli(subparsers: Any, CLIError: type[Exception]) -> None:  # noqa: N803
    """Add the ``inpaint`` subcommand to the ``context-encoder`` parser."""
    p = subparsers.add_parser(
        "inpaint",
        help="fill holes in images with a trained model (or a classical method)",
        description="Fill the holes of an image (or a folder of images) given as a mask "
                    "(non-zero = hole) or a box. Pixels outside the hole are kept exactly.",
    )
    p.add_argument("image", metavar="IMAGE", help="an image file, or a folder (recursive)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (a folder when IMAGE is a folder)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--mask", metavar="MASK",
                     help="mask image (non-zero = hole), or a folder of masks paired with "
                          "the images by file name (stem)")
    src.add_argument("--box", metavar="X,Y,W,H", help="a rectangular hole, in pixels")
    p.add_argument("--model", default=Inpainter.DEFAULT_MODEL, metavar="NAME|PATH",
                   help="shipped model name, exported .safetensors file or run folder "
                        f"(default {Inpainter.DEFAULT_MODEL})")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--method", metavar="NAME",
                   help="a classical method instead of the model: mean, telea, ns, "
                        "biharmonic, patchmatch")
    p.add_argument("--ext", metavar="EXT",
                   help="output format in folder mode, e.g. png (default: the input's)")
    p.add_argument("--feather", type=int, default=2, help="seam blending width in px (default 2)")
    p.set_defaults(func=lambda args: _cmd_inpaint(args, CLIError))


def _make_inpainter(args: argparse.Namespace, CLIError: type[Exception]) -> _InpainterBase:  # noqa: N803
    if args.method:
        try:
            return BaselineInpainter(args.method)
        except ImportError as e:
            raise CLIError(f"--method {args.method}: the baselines are unavailable ({e})") from e
        except ValueError as e:
            raise CLIError(str(e)) from e
    try:
        return Inpainter.from_pretrained(args.model, device=args.device, precision=args.precision,
                                         feather=args.feather)
    except (CheckpointError, ValueError, RuntimeError, OSError) as e:
        raise CLIError(str(e)) from e


def _is_under(p: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        p.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


class _MaskSource:
    """Where the mask of each image comes from: a box, one file, or a folder by stem."""

    def __init__(self, args: argparse.Namespace, CLIError: type[Exception]) -> None:  # noqa: N803
        self.box: str | None = args.box
        self.file: Path | None = None
        self.folder: Path | None = None
        self.by_rel: dict[Path, Path] = {}
        self.by_stem: dict[str, list[Path]] = {}
        if args.mask is None:
            return
        mp = Path(args.mask)
        if not mp.exists():
            raise CLIError(f"mask {str(mp)!r} does not exist")
        if mp.is_dir():
            self.folder = mp
            for f in sorted(mp.rglob("*")):
                if f.is_file() and f.suffix.lower() in OUTPUT_FORMATS:
                    self.by_rel.setdefault(f.relative_to(mp).with_suffix(""), f)
                    self.by_stem.setdefault(f.stem, []).append(f)
        else:
            self.file = mp

    def get(self, image_path: Path, rel: Path, shape: tuple[int, ...]) -> np.ndarray:
        if self.box is not None:
            try:
                return box_mask(shape, self.box)
            except ValueError as e:
                raise ValueError(f"{e} {str(image_path)!r}") from e
        if self.file is not None:
            return load_mask(self.file, shape)
        mask = self.by_rel.get(rel.with_suffix(""))
        if mask is None:
            cands = self.by_stem.get(rel.stem, [])
            if len(cands) != 1:
                how = "no" if not cands else "an ambiguous"
                raise ValueError(f"{how} mask for {str(image_path)!r} in {str(self.folder)!r}")
            mask = cands[0]
        return load_mask(mask, shape)


def _inpaint_file(inpainter: _InpainterBase, src: Path, rel: Path, out: Path,
                  masks: _MaskSource,
                  loaded: tuple[np.ndarray, dict[str, Any], np.ndarray] | None = None) -> None:
    """Read (unless ``loaded``), inpaint and write one image; ``ValueError`` / ``OSError``
    naming the file on failure, and no output file then."""
    if loaded is None:
        image, info = load_image(src)
        mask = masks.get(src, rel, image.shape)
    else:
        image, info, mask = loaded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = inpainter.inpaint_array(image, mask)
        except (ValueError, RuntimeError) as e:  # RuntimeError: e.g. a missing optional baseline
            raise ValueError(f"{str(src)!r}: {e}") from e
        save_image(result, out, info)
    for w in caught:
        print(f"context-encoder inpaint: warning: {str(src)!r}: {w.message}", file=sys.stderr)


def _cmd_inpaint(args: argparse.Namespace, CLIError: type[Exception]) -> int:  # noqa: N803
    src = Path(args.image)
    if not src.exists():
        raise CLIError(f"cannot read image {str(src)!r}: no such file or folder")
    if args.feather < 0:
        raise CLIError(f"--feather must be >= 0, got {args.feather}")
    ext = None
    if args.ext:
        ext = args.ext.lower() if args.ext.startswith(".") else f".{args.ext.lower()}"
        if ext not in OUTPUT_FORMATS:
            raise CLIError(f"--ext {args.ext!r} is not one of {', '.join(OUTPUT_FORMATS)}")
    masks = _MaskSource(args, CLIError)

    if not src.is_dir():
        out = Path(args.output)
        if out.is_dir():
            out = out / (src.stem + (ext or src.suffix))
        if out.suffix.lower() not in OUTPUT_FORMATS:
            raise CLIError(f"cannot write image {str(out)!r}: unknown extension "
                           f"{out.suffix!r} (use one of {', '.join(OUTPUT_FORMATS)})")
        try:  # read the inputs before the (slower) model so that bad inputs fail fast
            image, info = load_image(src)
            mask = masks.get(src, Path(src.name), image.shape)
        except ValueError as e:
            raise CLIError(str(e)) from e
        inpainter = _make_inpainter(args, CLIError)
        try:
            _inpaint_file(inpainter, src, Path(src.name), out, masks, (image, info, mask))
        except (ValueError, OSError) as e:
            raise CLIError(str(e)) from e
        print(f"wrote {out}")
        return 0

    from .data.folder import IMAGE_EXTENSIONS

    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"{str(out_dir)!r} is a file; with a folder of images OUT must be a folder")
    files = sorted(
        f for f in src.rglob("*")
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
        and not _is_under(f, out_dir) and not _is_under(f, masks.folder)
    )
    if not files:
        raise CLIError(f"no images in {str(src)!r} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    inpainter = _make_inpainter(args, CLIError)
    failed = 0
    for f in files:
        rel = f.relative_to(src)
        out = out_dir / rel.with_suffix(ext or f.suffix.lower())
        try:
            _inpaint_file(inpainter, f, rel, out, masks)
        except (ValueError, OSError) as e:
            failed += 1
            print(f"context-encoder inpaint: error: {e}", file=sys.stderr)
            continue
        print(f"wrote {out}")
    if failed:
        print(f"context-encoder inpaint: {failed} of {len(files)} images failed", file=sys.stderr)
        return 1
    return 0
