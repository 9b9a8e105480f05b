"""Hole-mask generators: the paper's center and random-region masks plus modern variants.

Every generator is a pure function ``gen(size, rng, **options) -> np.ndarray`` returning a
boolean ``(H, W)`` array where ``True`` marks the hole. ``size`` is ``(H, W)`` or an int for a
square; all randomness comes from the explicit :class:`numpy.random.Generator` passed in, so
the same seed gives the same masks. Draw one mask per sample (:func:`batch_masks`), never one
mask for the whole batch.

Kinds (:data:`MASK_KINDS`):

* ``"center"``: the paper's central hole (Pathak et al., CVPR 2016). The network predicts the
  central ``H/2 x W/2`` patch, but only its inner ``(H/2 - 2*overlap) x (W/2 - 2*overlap)``
  square (56x56 at 128 px) is blanked in the input; :func:`center_loss_weights` gives the
  matching L2 weight map (the ``overlap`` ring that overlaps the visible context weighted 10x).
* ``"block"``: 1-4 random axis-aligned rectangles.
* ``"region"``: the paper's "random region" masks: thresholded bicubic-upsampled noise (blobs),
  a random window chosen so that the hole covers 20-30 % of the image.
* ``"freeform"``: DeepFill v2 free-form brush strokes (Yu et al., ICCV 2019) plus a box.
* ``"thin"``, ``"medium"``, ``"thick"``: the three LaMa evaluation settings (Suvorov et al.,
  WACV 2022), specified at 256 px and scaled to the requested size; at most 50 % hole.
* ``"mixed"``: a per-call weighted random choice among the others (:data:`DEFAULT_MIXED_WEIGHTS`).

``"none"`` (:data:`NO_HOLE`) is not a kind of hole but a training mode, the absence of one:
the full-image model then reconstructs its whole input (the paper's autoencoder baseline for
feature learning). It is a ``train --mask`` choice and :func:`get_mask_generator` takes it;
:data:`MASK_KINDS` does not list it.

Use :func:`get_mask_generator` to bind options from a config into a ``gen(size, rng)`` callable.
"""

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import Size, _as_size, _check_rng
from .shapes import block_mask, center_box, center_mask, center_span, region_mask
from .strokes import freeform_mask, medium_mask, thick_mask, thin_mask

__all__ = [
    "DEFAULT_MIXED_WEIGHTS",
    "EVAL_MASK_KINDS",
    "MASK_KINDS",
    "TRAIN_MASK_KINDS",
    "MaskGenerator",
    "MaskKind",
    "NO_HOLE",
    "Size",
    "batch_masks",
    "block_mask",
    "center_box",
    "center_mask",
    "center_span",
    "composite",
    "freeform_mask",
    "get_mask_generator",
    "hole_fraction",
    "medium_mask",
    "mixed_mask",
    "no_mask",
    "region_mask",
    "thick_mask",
    "thin_mask",
]

MaskGenerator = Callable[[Size, np.random.Generator], np.ndarray]

#: Default mixture for :func:`mixed_mask`: mostly free-form strokes, some rectangles and
#: the paper's blob regions, a few large LaMa "thick" masks.
DEFAULT_MIXED_WEIGHTS: dict[str, float] = {
    "freeform": 0.5,
    "block": 0.2,
    "region": 0.2,
    "thick": 0.1,
}


# --------------------------------------------------------------------------------------------
# mixture, registry, batches


def _normalised_weights(weights: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    names = list(weights)
    for name in names:
        if name == "mixed" or name not in _REGISTRY:
            allowed = ", ".join(k for k in MASK_KINDS if k != "mixed")
            raise ValueError(f"unknown mask kind {name!r} in mixed weights; choose from {allowed}")
    probs = np.array([float(weights[k]) for k in names], dtype=np.float64)
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or probs.sum() <= 0:
        raise ValueError(
            f"mixed weights must be finite, >= 0 and not all zero, got {dict(weights)}"
        )
    return names, probs / probs.sum()


def mixed_mask(
    size: Size, rng: np.random.Generator, *, weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """A mask from a generator chosen at random (with ``rng``, per call) by ``weights``.

    ``weights`` maps kind names (any of :data:`MASK_KINDS` but ``"mixed"``) to non-negative
    weights, normalised to sum to 1; each chosen generator runs with its default options.
    Default :data:`DEFAULT_MIXED_WEIGHTS`: freeform 0.5, block 0.2, region 0.2, thick 0.1.
    """
    rng = _check_rng(rng)
    names, probs = _normalised_weights(DEFAULT_MIXED_WEIGHTS if weights is None else weights)
    choice = names[int(rng.choice(len(names), p=probs))]
    return _REGISTRY[choice].generate(size, rng)


def no_mask(size: Size, rng: np.random.Generator) -> np.ndarray:
    """No hole: an all-``False`` mask (the autoencoder's)."""
    _check_rng(rng)
    return np.zeros(_as_size(size), dtype=bool)


@dataclass(frozen=True)
class MaskKind:
    """A registered mask kind: its generator and where it may be used."""

    generate: Callable[..., np.ndarray]
    train: bool  # a ``context-encoder train --mask`` choice
    evaluate: bool  # a ``context-encoder evaluate --mask`` choice


#: The one registry of mask kinds; every list of kinds below derives from it.
_REGISTRY: dict[str, MaskKind] = {
    "center": MaskKind(center_mask, train=True, evaluate=True),
    "block": MaskKind(block_mask, train=True, evaluate=True),
    "region": MaskKind(region_mask, train=True, evaluate=True),
    "freeform": MaskKind(freeform_mask, train=True, evaluate=True),
    "thin": MaskKind(thin_mask, train=False, evaluate=True),
    "medium": MaskKind(medium_mask, train=False, evaluate=True),
    "thick": MaskKind(thick_mask, train=False, evaluate=True),
    "mixed": MaskKind(mixed_mask, train=True, evaluate=False),
}

#: Every mask kind understood by :func:`get_mask_generator`.
MASK_KINDS: tuple[str, ...] = tuple(_REGISTRY)
#: The training mode without a hole (the autoencoder): not a mask kind, a ``--mask`` choice.
NO_HOLE = "none"
#: What a model can be trained on (``center`` trains the paper's center model, ``none`` the
#: autoencoder).
TRAIN_MASK_KINDS: tuple[str, ...] = (*(k for k, v in _REGISTRY.items() if v.train), NO_HOLE)
#: Kinds the evaluation draws (deterministic per image index).
EVAL_MASK_KINDS: tuple[str, ...] = tuple(k for k, v in _REGISTRY.items() if v.evaluate)


def get_mask_generator(kind: str, **options: object) -> MaskGenerator:
    """A ``gen(size, rng) -> bool mask`` callable for ``kind`` with ``options`` bound.

    Raises ``ValueError`` for an unknown kind and ``TypeError`` for an option the kind does not
    take (option values are checked when the generator is called). ``mixed`` weights are
    checked here.
    """
    if kind == NO_HOLE:
        if options:
            raise TypeError(f"mask {NO_HOLE!r} (no hole) takes no options")
        return no_mask
    if kind not in _REGISTRY:
        raise ValueError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")
    func = _REGISTRY[kind].generate
    accepted = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for mask kind {kind!r}; "
            f"it accepts: {', '.join(accepted) if accepted else '(no options)'}"
        )
    if kind == "mixed" and options.get("weights") is not None:
        _normalised_weights(options["weights"])  # type: ignore[arg-type]
    return functools.partial(func, **options) if options else func


def batch_masks(gen: MaskGenerator, n: int, size: Size, rng: np.random.Generator) -> np.ndarray:
    """``(n, H, W)`` bool array of ``n`` independent draws of ``gen`` (one per sample)."""
    h, w = _as_size(size)
    rng = _check_rng(rng)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = np.empty((n, h, w), dtype=bool)
    for i in range(n):
        mask = gen((h, w), rng)
        if mask.shape != (h, w):
            raise ValueError(f"mask generator returned shape {mask.shape}, expected {(h, w)}")
        out[i] = mask
    return out


def hole_fraction(mask: np.ndarray) -> float:
    """Fraction of hole (``True``) pixels in ``mask`` (any shape, any truthy dtype)."""
    arr = np.asarray(mask)
    if arr.size == 0:
        raise ValueError("hole_fraction of an empty mask array is undefined")
    return float(np.count_nonzero(arr) / arr.size)


def composite(predicted: Any, image: Any, hole: Any) -> Any:
    """The inpainted image: the prediction inside the hole, the image everywhere else.

    Works on numpy arrays and torch tensors alike; ``hole`` is 1 (or True) in the hole and
    broadcasts over the channels."""
    return hole * predicted + (1 - hole) * image
