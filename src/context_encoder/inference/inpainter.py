"""The inpainters: :class:`Inpainter` (a trained generator, images of any size) and
:class:`BaselineInpainter` (a classical method behind the same interface), with the type
handling they share in :class:`InpainterBase`.

One :class:`Inpainter` call runs four stages (:data:`STAGES`) over all images at once:
``prepare`` (group each image's holes into windows, place them, crop and resize them to
the model's input), ``generate`` (all windows through the generator in batches),
``paste`` (each prediction resized back into its holes) and ``feather`` (the seam blend).
``Inpainter.stage_hook`` times them. The pixel work runs on the host
(:mod:`.host_path`) or on the model's device (:mod:`.device_path`): ``pipeline``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..checkpoint import load_generator
from ..config import ModelConfig
from ..io.images import mask_array, pil_to_array
from ..models import Generator
from ..pixels import check_image, size_text, to_rgb01, to_uint8, write_hole
from ..runtime import resolve_device, resolve_precision
from .device_path import DevicePath
from .host_path import HostPath
from .windows import WindowGeometry

__all__ = ["COMPILE_MODES", "PIPELINES", "STAGES", "BaselineInpainter", "Inpainter",
           "InpainterBase", "StageHook"]

logger = logging.getLogger(__name__)

ImageLike = Any  # np.ndarray or PIL.Image.Image
MaskLike = Any
#: Called after each stage of an :class:`Inpainter` call with its name and wall-clock seconds.
StageHook = Callable[[str, float], None]
#: The stages of one :class:`Inpainter` call, in the order they run.
STAGES: tuple[str, ...] = ("prepare", "generate", "paste", "feather")
#: Where an :class:`Inpainter` does the pixel work around the generator (``pipeline``).
PIPELINES: tuple[str, ...] = ("auto", "device", "host")
#: The ``torch.compile`` modes an :class:`Inpainter` takes (``compile_mode``).
COMPILE_MODES: tuple[str, ...] = ("default", "reduce-overhead", "max-autotune",
                                  "max-autotune-no-cudagraphs")


class _StageTimer:
    """Times one stage for a :data:`StageHook` (reports only stages that complete)."""

    __slots__ = ("hook", "name", "start", "sync")

    def __init__(self, hook: StageHook, name: str, sync: Callable[[], None] | None) -> None:
        self.hook, self.name, self.start, self.sync = hook, name, 0.0, sync

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            if self.sync is not None:  # the device's work of this stage, not of the next
                self.sync()
            self.hook(self.name, time.perf_counter() - self.start)


_UNTIMED = contextlib.nullcontext()


# ---------------------------------------------------------------------------------------
# The shared interface: PIL or numpy, one image or a list
# ---------------------------------------------------------------------------------------
def _per_image(value: Any, n: int, what: str) -> list[Any]:
    """One ``value`` per image: a list of ``n``, or the same one for all."""
    if not isinstance(value, (list, tuple)):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"got {n} images but {len(value)} {what}")
    return list(value)


class InpainterBase:
    """Type handling shared by the model and the baselines: PIL or numpy, one or a list.
    Subclasses implement :meth:`_fill` (and, where :attr:`takes_sketch`, take
    ``_fill(images, masks, sketches)``)."""

    #: Whether the method follows a sketch (a sketch-guided model).
    takes_sketch: bool = False

    def __call__(self, image: ImageLike | Sequence[ImageLike],
                 mask: MaskLike | Sequence[MaskLike],
                 sketch: MaskLike | Sequence[MaskLike] | None = None) -> Any:
        """Inpaint ``image`` where ``mask`` is non-zero.

        ``image``: a PIL image or a numpy array (``HxW``, ``HxWx1``, ``HxWx3`` or ``HxWx4``;
        uint8, uint16 or float in [0, 1]), or a list of them. ``mask``: a PIL image or an
        array of the image's height and width, non-zero = hole (a multi-channel mask is a
        hole wherever any colour channel is non-zero); with a list of images, a list of
        masks or one mask for all. Returns the same type(s): PIL in, PIL out with the same
        mode; numpy in, numpy out with the same dtype and shape. Pixels outside the hole are
        unchanged, and so is an alpha channel. An empty mask returns the image unchanged
        with a warning; a mask covering the whole image raises ``ValueError``.

        ``sketch`` (only for a model that :attr:`takes_sketch`; ``ValueError`` otherwise):
        the lines wanted inside the hole, like a mask: a PIL image or an array of the
        image's size, non-zero = a stroke; strokes outside the hole are ignored. With a
        list of images, a list of sketches (None for an image without one) or one for all.
        """
        if isinstance(image, (list, tuple)):
            images = list(image)
            masks = _per_image(mask, len(images), "masks")
            return self._call_many(images, masks, _per_image(sketch, len(images), "sketches"))
        return self._call_many([image], [mask], [sketch])[0]

    def _call_many(self, images: list[ImageLike], masks: list[MaskLike],
                   sketches: list[MaskLike | None] | None = None) -> list[Any]:
        arrays, back = [], []
        for img in images:
            if isinstance(img, Image.Image):
                a, restore = pil_to_array(img)
                arrays.append(a)
                back.append(restore)
            else:
                arrays.append(img)
                back.append(None)
        results = self.inpaint_arrays(arrays, masks, sketches)
        return [r if f is None else f(r) for r, f in zip(results, back, strict=True)]

    def inpaint_array(self, image: np.ndarray, mask: np.ndarray,
                      sketch: MaskLike | None = None) -> np.ndarray:
        """Inpaint one numpy image (see :meth:`__call__` for the conventions)."""
        return self.inpaint_arrays([image], [mask], [sketch])[0]

    def check_sketch(self) -> None:
        """``ValueError`` unless this method takes a sketch."""
        if not self.takes_sketch:
            what = getattr(self, "name", None) or type(self).__name__
            raise ValueError(f"{what!r} has no sketch input: inpaint without a sketch, or use "
                             "a sketch-guided model (trained with --guide sketch)")

    def inpaint_arrays(self, images: Sequence[np.ndarray], masks: Sequence[MaskLike],
                       sketches: Sequence[MaskLike | None] | None = None) -> list[np.ndarray]:
        """Inpaint several numpy images (batched where the method allows it); ``sketches``:
        one per image (None for an image without one), or None."""
        if len(images) != len(masks):
            raise ValueError(f"got {len(images)} images but {len(masks)} masks")
        sketches = list(sketches) if sketches is not None else [None] * len(images)
        if len(sketches) != len(images):
            raise ValueError(f"got {len(images)} images but {len(sketches)} sketches")
        if any(s is not None for s in sketches):
            self.check_sketch()
        checked, strokes = [], []
        for i, (img, m, sketch) in enumerate(zip(images, masks, sketches, strict=True)):
            img = check_image(img)
            what = "mask" if len(images) == 1 else f"mask {i}"
            hole = mask_array(m, img.shape[:2], what)
            if hole.all():
                raise ValueError(
                    f"{what} covers the whole {size_text(img.shape[1], img.shape[0])} image: "
                    "there is no context to inpaint from"
                )
            checked.append((img, hole))
            if sketch is not None:  # strokes outside the hole are ignored
                sketch = mask_array(sketch, img.shape[:2], what.replace("mask", "sketch")) & hole
            strokes.append(sketch)
        todo = [i for i, (_, hole) in enumerate(checked) if hole.any()]
        if len(todo) < len(checked):
            warnings.warn("the mask is empty: nothing to inpaint, the image is returned unchanged",
                          UserWarning, stacklevel=3)
        done = set(todo)  # these get write_hole's copy below
        results = [img if i in done else img.copy() for i, (img, _) in enumerate(checked)]
        if todo:
            args = [[checked[i][0] for i in todo], [checked[i][1] for i in todo]]
            if any(strokes[i] is not None for i in todo):
                args.append([strokes[i] for i in todo])
            filled = self._fill(*args)
            for i, rgb in zip(todo, filled, strict=True):
                img, hole = checked[i]
                results[i] = write_hole(img, hole, rgb)
        return results

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        """Float ``HxWx3`` predictions in [0, 1], valid in the hole pixels."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# The trained model
# ---------------------------------------------------------------------------------------
class Inpainter(InpainterBase):
    """Fill holes with a trained generator, in images of any size.

    Mask convention: non-zero = hole (to fill); the mask has the image's height and width.
    Any number of holes of any shape, anywhere (also touching the border) is fine; a
    center-region model serves any hole as well (through the window mapping described in
    :mod:`context_encoder.inference`). Pixels outside the hole are returned bit-identical.

    ``device``: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``.
    ``precision``: ``"auto"`` (bf16 where the hardware runs it fast), ``"fp32"``, ``"bf16"``,
    ``"fp16"`` or an autocast dtype. ``feather``: width in px of the seam blend inside the
    hole (0 = none). ``batch_size``: windows per generator call. ``stage_hook``: called as
    ``hook(stage, seconds)`` after each stage of a call (:data:`STAGES`; on a GPU each
    stage then ends by waiting for the device, so it includes the device's work); None (the
    default) times nothing. It is an attribute and can be set later.

    ``pipeline``: where the pixel work around the generator runs (window crops and
    resampling, model inputs, pasting, feathering): ``"device"``, as batched torch
    operations on the model's device for all windows of a call at once, one copy to the
    device and one back (:mod:`.device_path`); ``"host"``, with OpenCV and NumPy on the
    host, image by image on threads (:mod:`.host_path`); ``"auto"`` (the default): the
    host on the CPU, where OpenCV is faster, the device elsewhere. Both give the same
    pixels to float rounding. ``compile_mode``: None (the default, eager) or a
    ``torch.compile`` mode for the generator (``"reduce-overhead"`` captures CUDA graphs),
    with each batch padded to :meth:`static_batch` windows so that few shapes are compiled.

    The inpainter takes arrays and PIL images, not files: read files with
    :func:`context_encoder.io.images.load_image` (``max_pixels``, default 40 megapixels,
    checked from the header before decoding; ``None`` for no limit) and
    :func:`~context_encoder.io.images.load_mask`.

    Example::

        inp = Inpainter.from_pretrained("facades-freeform-128")
        out = inp(photo, mask)  # PIL images (out: PIL) or arrays (out: an array)
    """

    DEFAULT_MODEL = "facades-freeform-128"

    def __init__(self, generator: Generator, config: ModelConfig, *,
                 device: str | torch.device, precision: str | torch.dtype | None = "auto",
                 feather: int = 2, name: str | None = None, batch_size: int = 64,
                 stage_hook: StageHook | None = None, pipeline: str = "auto",
                 compile_mode: str | None = None) -> None:
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
        self.stage_hook = stage_hook
        self.geometry = WindowGeometry(config)
        if pipeline not in PIPELINES:
            raise ValueError(f"pipeline must be one of {', '.join(PIPELINES)}, got {pipeline!r}")
        if pipeline == "auto":
            pipeline = "host" if self.device.type == "cpu" else "device"
        self.pipeline = pipeline
        path = HostPath if pipeline == "host" else DevicePath
        self._path = path(config, self.geometry, self.device, self._run_generator)
        if compile_mode is not None and compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile_mode must be None or one of {', '.join(COMPILE_MODES)}, "
                             f"got {compile_mode!r}")
        self.compile_mode = compile_mode
        self._compiled: Callable[..., torch.Tensor] | None = None

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

    @property
    def takes_sketch(self) -> bool:  # type: ignore[override]
        """Whether the model has a sketch input (trained with ``--guide sketch``)."""
        return self.config.guide == "sketch"

    def __repr__(self) -> str:
        dtype = str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "fp32"
        return (f"Inpainter(name={self.name!r}, task={self.config.task!r}, "
                f"size={self.config.image_size}, device={str(self.device)!r}, precision={dtype!r})")

    # -- the stages of a call ---------------------------------------------------------
    def _stage(self, name: str) -> Any:
        """A context that reports the time of stage ``name`` to :attr:`stage_hook`."""
        if self.stage_hook is None:
            return _UNTIMED
        sync = (lambda: torch.cuda.synchronize(self.device)) if self.device.type == "cuda" \
            else None
        return _StageTimer(self.stage_hook, name, sync)

    def _run_generator(self, x: torch.Tensor, hole: torch.Tensor | None = None,
                       sketch: torch.Tensor | None = None) -> torch.Tensor:
        """The generator over model inputs ``x`` (N, S, S, 3) in [-1, 1] (and, for the full
        task, the holes and sketches (N, S, S) at model scale), in batches of
        :attr:`batch_size`: predictions (N, S', S', 3) in [0, 1], float32 on the device."""
        dtype = self.amp_dtype or torch.float32
        outs = []
        for i in range(0, len(x), self.batch_size):
            xb = x[i : i + self.batch_size].to(self.device, dtype).permute(0, 3, 1, 2)
            args = [xb.contiguous(memory_format=torch.channels_last)]  # (B, 3, S, S)
            if hole is not None:
                args.append(hole[i : i + self.batch_size, None].to(self.device, dtype))
                if sketch is not None:
                    args.append(sketch[i : i + self.batch_size, None].to(self.device, dtype))
            y = self._forward(*args)
            outs.append(((y.float().clamp(-1, 1) + 1.0) * 0.5).permute(0, 2, 3, 1))
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    def static_batch(self, n: int) -> int:
        """The batch a chunk of ``n`` windows is padded to when compiled: the next power of
        two, at most :attr:`batch_size`, so that few shapes are ever compiled or captured."""
        return min(self.batch_size, 1 << max(n - 1, 0).bit_length())

    def _forward(self, *args: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            if self.compile_mode is None:
                return self.generator(*args)
            if self._compiled is None:
                self._compiled = torch.compile(self.generator, mode=self.compile_mode,
                                               dynamic=False)
            n = args[0].shape[0]
            pad = self.static_batch(n) - n
            if pad:
                args = tuple(torch.cat([a, a.new_zeros(pad, *a.shape[1:])]) for a in args)
                args = (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
            return self._compiled(*args)[:n]

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray],
              sketches: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
        rgbs = [to_rgb01(img) for img in images]
        sketches = sketches or [None] * len(images)
        return self._path.run(rgbs, masks, sketches, self._stage, self.feather)


# ---------------------------------------------------------------------------------------
# Classical methods
# ---------------------------------------------------------------------------------------
class BaselineInpainter(InpainterBase):
    """A classical method (``"mean"``, ``"telea"``, ``"ns"``, ``"biharmonic"``,
    ``"patchmatch"`` from :mod:`context_encoder.baselines`, or any
    ``fn(uint8 HxWx3, bool HxW) -> uint8 HxWx3``) behind the :class:`Inpainter` interface.
    Images are handed to the method as 8-bit RGB and converted back."""

    def __init__(self, method: str | Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        if isinstance(method, str):
            from ..baselines import get_baseline

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
            u8 = to_uint8(to_rgb01(img))
            res = np.asarray(self.method(u8, mask))
            if res.shape != u8.shape:
                raise ValueError(f"method {self.name!r} returned shape {res.shape}, "
                                 f"expected {u8.shape}")
            out.append(res.astype(np.float32) / 255.0)
        return out
