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

import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from .checkpoint import load_generator
from .config import MEAN_RGB, ModelConfig
from .io.images import box_mask, load_image, load_mask, mask_array, pil_to_array, save_image
from .io.images import size_text as _wh_text
from .models import Generator
from .runtime import resolve_device, resolve_precision, usable_cores

__all__ = [
    "BaselineInpainter",
    "Inpainter",
    "box_mask",
    "load_image",
    "load_mask",
    "save_image",
    "load_image",
    "load_mask",
    "save_image",
]

logger = logging.getLogger(__name__)

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
        self.a, self.b = config.blank_span  # the blanked square [a, b) of a center model
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
                a, restore = pil_to_array(img)
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
            hole = mask_array(m, img.shape[:2], what)
            if hole.all():
                raise ValueError(
                    f"{what} covers the whole {_wh_text(img.shape[1], img.shape[0])} image: there is no "
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
        c0, c1 = self.config.center_span
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
                    full[c0:c1, c0:c1] = pred
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
