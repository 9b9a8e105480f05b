"""``auto``: fill each hole with whichever method fills holes like it best on this photo.

:class:`AutoInpainter` has the :class:`~context_encoder.inference.Inpainter` interface. For
each image it groups the holes as the model does (:func:`~.windows.group_holes`: a group is
the holes one context window fills together), and for each group
:func:`context_encoder.selection.choose_filler` cuts probe holes of the group's shape into
known pixels nearby, fills them with every candidate (the classical methods first: Telea,
Navier-Stokes, biharmonic, PatchMatch when installed; then the loaded models; then, with
``adapt_steps > 0``, each model fine-tuned on the photo by
:func:`context_encoder.adapt.adapt_generator`), and the mix of candidates closest to the
known truth there fills the group (:func:`context_encoder.selection.blend_weights`: one
candidate when it is far ahead, else a weighted mean of a few fills). Without room for a
probe, Telea fills it.

What was chosen is kept in :attr:`AutoInpainter.last_choices` (one list of
:class:`GroupChoice` per image of the last call) and summarised by :func:`describe`
("ns+telea (2 holes), facades-freeform-128 (1 hole)"; a name joined by ``+`` is a
blend of those fills, heaviest first). Each image's probes are placed by a
Generator seeded by ``seed`` alone, so an image gets the same choice in any batch.
Pixels outside the hole are returned bit-identical, as with every inpainter.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import ModelConfig
from ..io.images import mask_array
from ..pixels import check_image, to_rgb01
from ..runtime import usable_cores
from ..selection import (
    FillFn,
    ProbeSettings,
    choose_filler,
    classical_candidates,
    inpainter_filler,
)
from .inpainter import Inpainter, InpainterBase
from .windows import WindowGeometry, group_holes

__all__ = ["AUTO", "AdaptedInpainter", "AutoInpainter", "GroupChoice", "describe"]

logger = logging.getLogger(__name__)

#: The name of the automatic choice wherever a method or model is named.
AUTO = "auto"
_DEFAULT_METHOD = "telea"  # the incumbent of the choice (see the module docstring)


@dataclass(frozen=True)
class GroupChoice:
    """The filler chosen for one group of holes.

    ``box``: the group's bounding box ``(y0, x0, y1, x1)`` (end exclusive); ``holes``: its
    connected components; ``pixels``: its hole pixels; ``method``: what filled it (a
    candidate's name, or for a blend the names joined by ``+``, heaviest first);
    ``weights``: each candidate's share of the fill; ``scores``: PSNR (dB) over the probes
    per candidate (empty when no probe fitted); ``reason``: ``"probes"`` or why the
    default was taken.
    """

    box: tuple[int, int, int, int]
    holes: int
    pixels: int
    method: str
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = "probes"
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.weights:
            object.__setattr__(self, "weights", {self.method: 1.0})

    def to_json(self) -> dict[str, Any]:
        return {"box": list(self.box), "holes": self.holes, "pixels": self.pixels,
                "method": self.method, "weights": {k: round(v, 3) for k, v in self.weights.items()},
                "scores": {k: round(v, 3) for k, v in self.scores.items()},
                "reason": self.reason}


def describe(choices: Sequence[GroupChoice]) -> str:
    """One line: each method chosen with its count of holes, most holes first, e.g.
    ``"telea (2 holes), facades-freeform-128 (1 hole)"``; ``"nothing to fill"`` for none."""
    holes: dict[str, int] = {}
    for c in choices:
        holes[c.method] = holes.get(c.method, 0) + c.holes
    if not holes:
        return "nothing to fill"
    order = sorted(holes, key=lambda m: -holes[m])  # stable: first chosen first among equals
    return ", ".join(f"{m} ({holes[m]} hole{'s' if holes[m] != 1 else ''})" for m in order)


def _model_name(name: str | None, index: int) -> str:
    """A model's candidate name: a shipped name as is, a file or folder by its stem."""
    if not name:
        return f"model{index + 1}"
    return Path(name).stem if (Path(name).suffix or "/" in name or "\\" in name) else name


def adapted_inpainter(inpainter: Inpainter, rgb01: np.ndarray, hole: np.ndarray, steps: int,
                      seed: int = 0) -> Inpainter:
    """``inpainter``'s model fine-tuned on the photo ``rgb01`` around ``hole``
    (:func:`context_encoder.adapt.adapt_generator`, from fp32 weights), as an inpainter."""
    from ..adapt import adapt_generator

    base = copy.deepcopy(inpainter.generator).float().to(memory_format=torch.contiguous_format)
    gen = adapt_generator(base, inpainter.config, rgb01, hole, steps=steps, seed=seed)
    return Inpainter(gen, inpainter.config, device=inpainter.device,
                     precision=inpainter.amp_dtype, feather=inpainter.feather,
                     name=f"{inpainter.name}+adapt", batch_size=inpainter.batch_size,
                     pipeline=inpainter.pipeline, compile_mode=inpainter.compile_mode)


class AdaptedInpainter(InpainterBase):
    """A model fine-tuned on each photo before it fills the photo's holes (``--adapt``
    with ``--model``): ``steps`` Adam steps of :func:`context_encoder.adapt.adapt_generator`
    from the weights of ``inpainter``, which stay as they were."""

    def __init__(self, inpainter: Inpainter, steps: int, seed: int = 0) -> None:
        if int(steps) < 1:
            raise ValueError(f"adaptation needs steps >= 1, got {steps}")
        self.inpainter, self.steps, self.seed = inpainter, int(steps), int(seed)
        self.name = f"{_model_name(inpainter.name, 0)}+adapt"

    def __repr__(self) -> str:
        return f"AdaptedInpainter({self.inpainter!r}, steps={self.steps}, seed={self.seed})"

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, mask in zip(images, masks, strict=True):
            rgb = to_rgb01(img)
            tuned = adapted_inpainter(self.inpainter, rgb, mask, self.steps, self.seed)
            out.append(tuned.inpaint_array(rgb, mask))
        return out


class AutoInpainter(InpainterBase):
    """Fill each group of holes with the best of several methods, tested on the photo.

    ``models``: shipped model names or paths (loaded with :meth:`Inpainter.from_pretrained`);
    ``methods``: classical methods (default: every one of
    :data:`~context_encoder.selection.CLASSICAL_CANDIDATES` installed here); ``adapt_steps``:
    also try each model fine-tuned for this many steps on the photo (0 = no adaptation);
    ``seed``: places the probes and drives the adaptation. ``device``, ``precision`` and
    ``feather`` go to the models. ``probes``: the probing settings.

    Attributes: :attr:`inpainters` (candidate name -> :class:`Inpainter`), :attr:`methods`,
    :attr:`adapt_steps`, :attr:`seed`, :attr:`last_choices` (per image of the last call, a
    list of :class:`GroupChoice`). Use :meth:`inpaint_with_choices` from several threads.
    """

    name = AUTO

    def __init__(self, models: Sequence[str] = (Inpainter.DEFAULT_MODEL,),
                 methods: Sequence[str] | None = None, adapt_steps: int = 0, seed: int = 0,
                 device: str | torch.device = "auto", precision: str | None = "auto",
                 feather: int = 2, probes: ProbeSettings | None = None) -> None:
        if isinstance(models, str):
            models = (models,)
        loaded = [Inpainter.from_pretrained(m, device=device, precision=precision,
                                            feather=feather) for m in models]
        self._setup(loaded, methods, adapt_steps, seed, probes)

    @classmethod
    def from_inpainters(cls, inpainters: Sequence[Inpainter], methods: Sequence[str] | None = None,
                        adapt_steps: int = 0, seed: int = 0,
                        probes: ProbeSettings | None = None) -> AutoInpainter:
        """An :class:`AutoInpainter` over models already loaded (named by their ``name``)."""
        self = cls.__new__(cls)
        self._setup(list(inpainters), methods, adapt_steps, seed, probes)
        return self

    def _setup(self, inpainters: list[Inpainter], methods: Sequence[str] | None,
               adapt_steps: int, seed: int, probes: ProbeSettings | None) -> None:
        if int(adapt_steps) < 0:
            raise ValueError(f"adapt_steps must be >= 0, got {adapt_steps}")
        if adapt_steps and not inpainters:
            raise ValueError("adapt_steps needs a model to adapt; none was given")
        self.inpainters: dict[str, Inpainter] = {}
        for i, inp in enumerate(inpainters):
            key = _model_name(inp.name, i)
            if key in self.inpainters:
                raise ValueError(f"two models are named {key!r}; give them distinct names")
            self.inpainters[key] = inp
        self.methods = list(classical_candidates(methods)) if methods is None else list(methods)
        classical_candidates(self.methods)  # unknown names fail here, not at the first image
        if not self.methods and not self.inpainters:
            raise ValueError("auto needs at least one model or classical method")
        self.adapt_steps = int(adapt_steps)
        self.seed = int(seed)
        self.probes = probes or ProbeSettings()
        first = next(iter(self.inpainters.values()), None)
        # holes are grouped as the (first) model groups them; a full-image model's windows
        # when there is no model
        self.geometry = WindowGeometry(first.config if first else ModelConfig(task="full"))
        self.last_choices: list[list[GroupChoice]] = []
        self._lock = threading.RLock()  # inpaint_with_choices holds it around a call

    def __repr__(self) -> str:
        return (f"AutoInpainter(models={list(self.inpainters)!r}, methods={self.methods!r}, "
                f"adapt_steps={self.adapt_steps}, seed={self.seed})")

    def describe(self, choices: Sequence[GroupChoice] | None = None) -> str:
        """:func:`describe` of ``choices`` (default: every group of the last call)."""
        if choices is None:
            choices = [c for image in self.last_choices for c in image]
        return describe(choices)

    # -- calls ----------------------------------------------------------------------------
    def inpaint_arrays(self, images: Sequence[np.ndarray], masks: Sequence[Any],
                       sketches: Sequence[Any] | None = None) -> list[np.ndarray]:
        with self._lock:
            self._choices: list[list[GroupChoice]] = []
            results = super().inpaint_arrays(images, masks, sketches)
            filled = iter(self._choices)
            # images with an empty mask were not filled: no groups for them
            self.last_choices = [
                next(filled) if mask_array(m, check_image(img).shape[:2]).any() else []
                for img, m in zip(images, masks, strict=True)]
            return results

    def inpaint_with_choices(self, image: np.ndarray, mask: Any
                             ) -> tuple[np.ndarray, list[GroupChoice]]:
        """Inpaint one numpy image and return it with its choices (thread-safe)."""
        with self._lock:
            out = self.inpaint_array(image, mask)
            return out, self.last_choices[0]

    # -- the fill -------------------------------------------------------------------------
    def _adapted(self, rgb: np.ndarray, mask: np.ndarray) -> dict[str, FillFn]:
        """Each model fine-tuned on this photo, as candidates named ``"<model>+adapt"``."""
        return {f"{key}+adapt": inpainter_filler(
                    adapted_inpainter(inp, rgb, mask, self.adapt_steps, self.seed))
                for key, inp in self.inpainters.items()}

    def _candidates(self, rgb: np.ndarray, mask: np.ndarray) -> dict[str, FillFn]:
        """Classical methods first (Telea, the default, leading), then models, then
        the adapted models."""
        cands = classical_candidates(self.methods, hole_pixels=int(np.count_nonzero(mask)),
                                     image_pixels=mask.size)
        cands.update({k: inpainter_filler(inp) for k, inp in self.inpainters.items()})
        if self.adapt_steps:
            cands.update(self._adapted(rgb, mask))
        if not cands:  # every classical method was too slow for this size and no model
            cands = classical_candidates([_DEFAULT_METHOD])
        return cands

    def _fill_one(self, rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, list[GroupChoice]]:
        cands = self._candidates(rgb, mask)
        default = _DEFAULT_METHOD if _DEFAULT_METHOD in cands else None
        models = [k for k in cands if k in self.inpainters or k.endswith("+adapt")]
        rng = np.random.default_rng(self.seed)
        labels, groups = group_holes(mask, self.geometry)
        chosen: list[tuple[np.ndarray, GroupChoice]] = []
        for g in groups:
            y0, x0, y1, x1 = g.box
            sel = np.zeros_like(mask)
            sel[y0:y1, x0:x1] = np.isin(labels[y0:y1, x0:x1], g.labels)
            c = choose_filler(rgb, sel, cands, rng, unknown=mask, default=default,
                              probes=self.probes, models=models)
            chosen.append((sel, GroupChoice(g.box, len(g.labels), int(np.count_nonzero(sel)),
                                            c.method, dict(c.scores), c.reason,
                                            dict(c.weights))))
        out = rgb.copy()
        mix = np.zeros_like(rgb, dtype=np.float64)
        # one call per method with any weight, with every hole unknown, side by side on
        # threads (OpenCV and torch release the GIL); each group takes its share of each
        # fill in its own pixels, summed in a fixed order
        methods = list(dict.fromkeys(m for _, gc in chosen for m in gc.weights))
        with ThreadPoolExecutor(max_workers=max(1, min(len(methods), usable_cores()))) as pool:
            fills = list(pool.map(lambda m: cands[m](rgb, mask), methods))
        for method, result in zip(methods, fills, strict=True):
            filled = np.asarray(result, np.float64)
            for sel, gc in chosen:
                if method in gc.weights:
                    mix[sel] += gc.weights[method] * filled[sel]
        for sel, _ in chosen:
            out[sel] = mix[sel]
        choices = [gc for _, gc in chosen]
        logger.info("auto: %s", describe(choices))
        return out, choices

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for img, mask in zip(images, masks, strict=True):
            filled, choices = self._fill_one(to_rgb01(img), mask)
            out.append(filled)
            self._choices.append(choices)
        return out
