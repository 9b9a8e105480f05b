""":class:`Inpainter`: a trained generator filling holes in images of any size.

One :class:`Inpainter` call runs four stages (:data:`STAGES`) over all images at once:
``prepare`` (group each image's holes into windows, place them, crop and resize them to
the model's input), ``generate`` (all windows through the generator in batches),
``paste`` (each prediction resized back into its holes) and ``feather`` (the seam blend).
``Inpainter.stage_hook`` times them. The pixel work runs on the host
(:mod:`.pipeline.host`) or on the model's device (:mod:`.pipeline.device`): ``pipeline``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..checkpoint import load_generator, model_name, resolve_model_path
from ..config import ModelConfig
from ..models import Generator
from ..onnx_model import ONNX_SUFFIX, OnnxGenerator
from ..pixels import to_rgb01
from ..runtime import resolve_device, resolve_precision
from .base import InpainterBase
from .pipeline import DevicePipeline, HostPipeline
from .windows import MAX_FEATHER, WindowGeometry

__all__ = ["COMPILE_MODES", "PIPELINES", "STAGES", "Inpainter", "StageHook"]

logger = logging.getLogger(__name__)

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
    device and one back (:mod:`.pipeline.device`); ``"host"``, with OpenCV and NumPy on the
    host, image by image on threads (:mod:`.pipeline.host`); ``"auto"`` (the default): the
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
        if isinstance(generator, OnnxGenerator):  # ONNX Runtime computes in fp32 on the CPU
            if compile_mode is not None:
                raise ValueError("compile_mode is for PyTorch generators, not an ONNX model")
            self.device, precision = torch.device("cpu"), None
        if isinstance(precision, str):
            self.amp_dtype = resolve_precision(precision, self.device)
        else:
            self.amp_dtype = precision
        if not 0 <= feather <= MAX_FEATHER:
            raise ValueError(f"feather must be in 0..{MAX_FEATHER} px, got {feather}")
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
        self.name = name or ""
        self.batch_size = int(batch_size)
        self.stage_hook = stage_hook
        self.geometry = WindowGeometry(config)
        if pipeline not in PIPELINES:
            raise ValueError(f"pipeline must be one of {', '.join(PIPELINES)}, got {pipeline!r}")
        if pipeline == "auto":
            pipeline = "host" if self.device.type == "cpu" else "device"
        self.pipeline = pipeline
        path = HostPipeline if pipeline == "host" else DevicePipeline
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
        if str(name_or_path).lower().endswith(ONNX_SUFFIX):  # ONNX Runtime, on the CPU
            onnx_gen = OnnxGenerator(resolve_model_path(name_or_path))
            return cls(onnx_gen, onnx_gen.config, device="cpu", precision=None,
                       name=model_name(name_or_path), **kwargs)
        dev = resolve_device(device) if isinstance(device, str) else torch.device(device)
        gen, info = load_generator(name_or_path, device=dev)
        logger.info("loaded %s (%s model, %d px) on %s", info.get("source"),
                    info["config"].task, info["config"].image_size, dev)
        return cls(gen, info["config"], device=dev, precision=precision,
                   name=model_name(name_or_path), **kwargs)

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
