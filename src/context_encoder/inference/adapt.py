"""Test-time adaptation: the paper's objective on the user's own photo.

:func:`adapt_generator` fine-tunes a COPY of a trained generator for a few Adam steps on
windows of the one photo being inpainted, the way the model was trained (Pathak et al.,
CVPR 2016: L2 reconstruction of a hidden region from its context), but with truth taken
from the photo itself (as Self2Self and internal-learning inpainting do):

* Windows are the model's input size ``S``, cut from the photo at the scale the inpainter
  will use for this hole (:func:`inference_window_sides`: the window side the inpainter
  picks for each hole component, resized to ``S``), so the model adapts to the texture
  scale it will see.
* Holes of the model's training kind are placed in each window: for a ``task="full"``
  model, masks from :mod:`context_encoder.masks` (``mask_kind``, default ``"mixed"``, the
  shipped model's training masks); for a ``task="center"`` model the blanked center square
  of :class:`~context_encoder.config.ModelConfig`.
* Pixels of the real hole carry no truth. They are set to the mean colour before anything
  else (so what the caller's array holds there never matters), shown to the model as hole,
  and weighted 0 in the loss; a window whose hidden region is mostly real hole is redrawn.
* The loss is the training L2 with its weights (hole 1, context ``context_weight`` for a
  full model; the 10x overlap ring for a center model), on known pixels only. Each window
  is flipped / rotated by 90 degrees at random (the 8 symmetries of the square).
* BatchNorm layers keep their trained statistics (a batch of a few windows of one photo
  would make poor statistics); Adam with ``beta1 = 0.5`` as in training; bf16 autocast
  where the hardware runs it fast (:func:`~context_encoder.training.resolve_precision`).

Everything random comes from ``seed``; the same call gives the same weights.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..config import MEAN_RGB, ModelConfig
from ..errors import UsageError
from ..losses import center_loss_weights, full_loss_weights, weighted_l2
from ..masks import get_mask_generator
from ..models import Generator, model_input
from ..pixels import check_rgb01, reflect_index, to_rgb01
from ..runtime import resolve_precision
from ..work import tick
from .base import InpainterBase
from .inpainter import Inpainter
from .windows import WindowGeometry

__all__ = [
    "MAX_STEPS",
    "check_adaptable",
    "AdaptedInpainter",
    "DEFAULT_BATCH",
    "DEFAULT_LR",
    "DEFAULT_STEPS",
    "AdaptBatch",
    "ScaledPhoto",
    "adapt_generator",
    "adapted_inpainter",
    "inference_window_sides",
    "sample_batch",
    "scale_photo",
]

logger = logging.getLogger(__name__)

#: Adam steps by default: about 10 s for a 1-megapixel photo on the 2-core CPU (the
#: measurements behind this and the learning rate are in docs/auto.md).
DEFAULT_STEPS = 30
#: Learning rate by default (5x the shipped models' training rate: more gain in 30 steps).
DEFAULT_LR = 1e-3
#: Windows per step.
DEFAULT_BATCH = 8
#: Loss weight of the known context pixels of a full-image model (as in training).
DEFAULT_CONTEXT_WEIGHT = 0.1
#: A window is redrawn (up to ``_TRIES`` times) when less than this share of the region
#: it hides is known truth.
_MIN_KNOWN = 0.5
_TRIES = 10
_MAX_SCALES = 4  # distinct window sides kept (those of the largest hole components)


def inference_window_sides(config: ModelConfig, hole: np.ndarray) -> list[int]:
    """The window side (px of the photo) the inpainter uses around each component of
    ``hole``, largest component first (at most four): twice the component for a full-image
    model (capped at the photo, at least ``S``), the blanked square's ratio for a center
    model. Components that the inpainter groups share a larger window; this is a bound."""
    hole = np.asarray(hole) != 0
    n, _, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    if n < 2:
        raise ValueError("the hole is empty: there is no window scale to adapt to")
    order = 1 + np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable")[:_MAX_SCALES]
    sides = np.maximum(stats[order, cv2.CC_STAT_WIDTH], stats[order, cv2.CC_STAT_HEIGHT])
    return [int(v) for v in WindowGeometry(config).side(sides, max(hole.shape))]


# ---------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------
@dataclass
class ScaledPhoto:
    """The photo resized so that a window of the inpainter's side becomes ``S`` px."""

    rgb: np.ndarray  # h x w x 3 in [0, 1], real hole at the mean colour
    known: np.ndarray  # h x w bool: pixels whose value is truth
    pattern: np.ndarray  # the real hole's pixel pattern (its bounding box) at this scale


def scale_photo(rgb01: np.ndarray, known: np.ndarray, side: int, size: int) -> ScaledPhoto:
    """``rgb01`` resized by ``size / side``; ``known`` (pixels with truth) shrinks to the
    pixels whose whole footprint is known."""
    f = size / side
    if f == 1.0:
        return ScaledPhoto(rgb01, known, _pattern(~known))
    dsize = (max(1, round(rgb01.shape[1] * f)), max(1, round(rgb01.shape[0] * f)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    rgb = np.clip(cv2.resize(rgb01, dsize, interpolation=interp), 0.0, 1.0)
    # a pixel is known only where its whole footprint (and the cubic kernel) is known
    unknown = cv2.resize((~known).astype(np.float32), dsize, interpolation=cv2.INTER_AREA)
    if f > 1:
        unknown = cv2.dilate(unknown, np.ones((5, 5), np.uint8))
    return ScaledPhoto(rgb.astype(np.float32), unknown <= 0, _pattern(unknown > 0))


def _pattern(unknown: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(unknown)
    return unknown[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _pattern_mask(pattern: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """The hole's pattern, flipped at random, at a random place in a ``size`` square (cut
    where it is larger)."""
    p = pattern[:: rng.choice([-1, 1]), :: rng.choice([-1, 1])][:size, :size]
    top = int(rng.integers(0, size - p.shape[0] + 1))
    left = int(rng.integers(0, size - p.shape[1] + 1))
    out = np.zeros((size, size), dtype=bool)
    out[top : top + p.shape[0], left : left + p.shape[1]] = p
    return out




def _window(sc: ScaledPhoto, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random ``size`` square of the scaled photo (reflected past its edges when the
    photo is smaller): (rgb, known)."""
    h, w = sc.known.shape
    top = int(rng.integers(min(0, h - size), max(0, h - size) + 1))
    left = int(rng.integers(min(0, w - size), max(0, w - size) + 1))
    rows = reflect_index(np.arange(top, top + size), h)[:, None]
    cols = reflect_index(np.arange(left, left + size), w)[None, :]
    return sc.rgb[rows, cols], sc.known[rows, cols]


def _symmetry(k: int, *arrays: np.ndarray) -> list[np.ndarray]:
    """The ``k``-th of the 8 symmetries of the square, applied to each array."""
    out = [np.rot90(a, k % 4) for a in arrays]
    return [np.ascontiguousarray(a[:, ::-1] if k >= 4 else a) for a in out]


@dataclass
class AdaptBatch:
    """One step's tensors: model input ``x`` (B, 3, S, S) in [-1, 1], the hole channel
    ``hole`` (B, 1, S, S; full task, else None), ``target`` and loss ``weights`` (zero on
    pixels without truth)."""

    x: torch.Tensor
    hole: torch.Tensor | None
    target: torch.Tensor
    weights: torch.Tensor


def _sample(config: ModelConfig, sc: ScaledPhoto, rng: np.random.Generator,
            gen: object, hole_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window rgb, known, hidden) for one sample; ``hidden`` is the region the model must
    predict: a drawn mask or the hole's own pattern (full task), or the blanked center
    (center task)."""
    size = config.image_size
    for _ in range(_TRIES):
        rgb, known = _window(sc, size, rng)
        if gen is not None and rng.random() < hole_share:
            hidden = _pattern_mask(sc.pattern, size, rng)
        elif gen is not None:
            hidden = np.asarray(gen((size, size), rng), dtype=bool)  # type: ignore[operator]
        else:
            hidden = np.zeros((size, size), dtype=bool)
            a, b = config.blank_span
            hidden[a:b, a:b] = True
        if known[hidden].mean() >= _MIN_KNOWN:
            break
    # the center square is symmetric, so it stays where the center model expects it
    rgb, known, hidden = _symmetry(int(rng.integers(8)), rgb, known, hidden)
    return rgb, known, hidden


def sample_batch(config: ModelConfig, scaled: Sequence[ScaledPhoto], batch: int,
                 rng: np.random.Generator, *, mask_kind: str = "mixed",
                 hole_share: float = 0.0,
                 context_weight: float = DEFAULT_CONTEXT_WEIGHT) -> AdaptBatch:
    """``batch`` training samples from the scaled photos (one scale drawn per sample);
    a share ``hole_share`` of a full model's holes copy the real hole's pattern."""
    a, b = config.center_span
    gen = get_mask_generator(mask_kind) if config.task == "full" else None
    samples = [_sample(config, scaled[int(rng.integers(len(scaled)))], rng, gen, hole_share)
               for _ in range(batch)]
    rgb = np.stack([s[0] for s in samples]) * 2.0 - 1.0  # (B, S, S, 3)
    known = np.stack([s[1] for s in samples])  # (B, S, S)
    blank = np.stack([s[2] for s in samples]) | ~known  # hidden region and real hole
    x = model_input(rgb, config, blank.astype(np.float32))  # hidden region, real hole: mean

    def tensor(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        return t.permute(0, 3, 1, 2) if t.ndim == 4 else t[:, None]

    if gen is None:  # center: predict the central half, overlap ring weighted as in training
        target, known_t = tensor(rgb[:, a:b, a:b]), tensor(known[:, a:b, a:b])
        weights = center_loss_weights(config) * known_t
        return AdaptBatch(tensor(x), None, target, weights)
    hidden = tensor(np.stack([s[2] for s in samples]))
    weights = full_loss_weights(hidden, context_weight) * tensor(known)
    return AdaptBatch(tensor(x), tensor(blank), tensor(rgb), weights)


# ---------------------------------------------------------------------------------------
# Adaptation
# ---------------------------------------------------------------------------------------
def _check(generator: Generator, config: ModelConfig, rgb01: np.ndarray, hole: np.ndarray,
           steps: int, lr: float, batch: int) -> np.ndarray:
    if not isinstance(generator, torch.nn.Module):
        raise TypeError(f"generator must be a torch module, got {type(generator).__name__}")
    hole = check_rgb01(rgb01, hole)
    if steps < 0 or batch < 1 or not lr > 0:
        raise ValueError(f"need steps >= 0, batch >= 1 and lr > 0; got steps={steps}, "
                         f"batch={batch}, lr={lr}")
    return hole


def _freeze_norms(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


def adapt_generator(generator: Generator, config: ModelConfig, rgb01: np.ndarray,
                    hole: np.ndarray, *, steps: int = DEFAULT_STEPS, lr: float = DEFAULT_LR,
                    seed: int = 0, batch: int = DEFAULT_BATCH, mask_kind: str = "mixed",
                    hole_share: float = 0.0,
                    context_weight: float = DEFAULT_CONTEXT_WEIGHT,
                    window: int | Sequence[int] | None = None,
                    precision: str = "auto") -> Generator:
    """A copy of ``generator`` fine-tuned on the photo ``rgb01`` (float ``HxWx3`` in
    [0, 1]) around ``hole`` (``HxW``, non-zero = unknown); ``generator`` is left as it was.

    ``window``: the inpainter's window side(s) in photo px (default
    :func:`inference_window_sides`). ``mask_kind``: training holes of a full-image model.
    The copy is returned in eval mode on the generator's device. See the module docstring.
    """
    hole = _check(generator, config, rgb01, hole, steps, lr, batch)
    sides = inference_window_sides(config, hole) if window is None else (
        [int(window)] if isinstance(window, (int, np.integer)) else [int(w) for w in window])
    known = ~hole
    rgb = np.where(hole[..., None], np.asarray(MEAN_RGB, np.float32) / 255.0,
                   np.clip(rgb01, 0.0, 1.0)).astype(np.float32)
    scaled = [scale_photo(rgb, known, side, config.image_size) for side in dict.fromkeys(sides)]
    device = next(generator.parameters()).device
    amp = resolve_precision(precision, device)
    model = copy.deepcopy(generator).train()
    _freeze_norms(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    rng = np.random.default_rng([seed, 2016])
    t0 = time.perf_counter()
    for step in range(steps):
        b = sample_batch(config, scaled, batch, rng, mask_kind=mask_kind,
                         hole_share=hole_share, context_weight=context_weight)
        ctx = torch.autocast(device.type, dtype=amp) if amp else contextlib.nullcontext()
        with ctx:
            hole_t = None if b.hole is None else b.hole.to(device)
            pred = model(b.x.to(device), hole_t) if hole_t is not None else model(b.x.to(device))
        loss = weighted_l2(pred, b.target.to(device), b.weights.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tick("adapting the model (steps)", step + 1, steps)
        if step == 0 or step == steps - 1:
            logger.debug("adapt step %d/%d: loss %.5f", step + 1, steps, loss.item())
    logger.info("adapted %s model for %d steps (windows %s px) in %.1f s", config.task, steps,
                sorted(set(sides)), time.perf_counter() - t0)
    return model.eval()


# ---------------------------------------------------------------------------------------
# As an inpainter
# ---------------------------------------------------------------------------------------
def check_adaptable(inpainter: Inpainter) -> None:
    """``UsageError`` for a model whose weights cannot be trained here (an ONNX model)."""
    if not any(True for _ in inpainter.generator.parameters()):
        raise UsageError(f"{inpainter.name or 'this model'!r} has no trainable weights here (an "
                         "ONNX model): adaptation needs the model's .safetensors file")


def adapted_inpainter(inpainter: Inpainter, rgb01: np.ndarray, hole: np.ndarray, steps: int,
                      seed: int = 0) -> Inpainter:
    """``inpainter``'s model fine-tuned on the photo ``rgb01`` around ``hole``
    (:func:`adapt_generator`, from fp32 weights), as an inpainter named
    ``"<name>+adapt"``."""
    base = copy.deepcopy(inpainter.generator).float().to(memory_format=torch.contiguous_format)
    gen = adapt_generator(base, inpainter.config, rgb01, hole, steps=steps, seed=seed)
    return Inpainter(gen, inpainter.config, device=inpainter.device,
                     precision=inpainter.amp_dtype, feather=inpainter.feather,
                     name=f"{inpainter.name}+adapt", batch_size=inpainter.batch_size,
                     pipeline=inpainter.pipeline, compile_mode=inpainter.compile_mode)


#: The most adaptation steps a call may ask for: far past where the fill stops improving
#: (docs/auto.md), and a few minutes on a 2-core CPU for a photo of a megapixel.
MAX_STEPS = 1000


def check_steps(steps: int, name: str = "adaptation steps") -> int:
    """``steps`` as an int; ``UsageError`` naming ``name`` outside 0 .. :data:`MAX_STEPS`."""
    steps = int(steps)
    if not 0 <= steps <= MAX_STEPS:
        raise UsageError(f"{name} must be in 0..{MAX_STEPS}, got {steps}")
    return steps


class AdaptedInpainter(InpainterBase):
    """A model fine-tuned on each photo before it fills the photo's holes (``--adapt``
    with ``--model``): ``steps`` Adam steps of :func:`adapt_generator` from the weights of
    ``inpainter``, which stay as they were."""

    def __init__(self, inpainter: Inpainter, steps: int, seed: int = 0) -> None:
        if int(steps) < 1:
            raise ValueError(f"adaptation needs steps >= 1, got {steps}")
        check_adaptable(inpainter)
        self.inpainter, self.steps, self.seed = inpainter, int(steps), int(seed)
        self.name = f"{inpainter.name or 'model'}+adapt"

    def __repr__(self) -> str:
        return f"AdaptedInpainter({self.inpainter!r}, steps={self.steps}, seed={self.seed})"

    def check_sketch(self) -> None:
        """Adaptation fine-tunes and fills without a sketch, whatever the model takes."""
        raise ValueError(f"{self.name!r}: adaptation (--adapt) fills without a sketch; give "
                         "--adapt 0 to follow the sketch, or leave the sketch out")

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, mask in zip(images, masks, strict=True):
            rgb = to_rgb01(img)
            tuned = adapted_inpainter(self.inpainter, rgb, mask, self.steps, self.seed)
            out.append(tuned.inpaint_array(rgb, mask))
        return out
