"""``auto`` as an inpainter: :class:`AutoInpainter` fills each group of holes with whichever
method fills holes like it best on this photo (the procedure: :mod:`context_encoder.inference.auto`).

For each image it groups the holes as the model does (:func:`~..windows.group_holes`: a group
is the holes one context window fills together), and for each group :func:`.choose_filler`
cuts probe holes of the group's shape into known pixels nearby, fills them with every
candidate (the classical methods first: Telea, Navier-Stokes, biharmonic, PatchMatch when
installed; then the loaded models; then, with ``adapt_steps > 0``, each model fine-tuned on
the photo by :func:`~..adapt.adapt_generator`), and the mix of candidates closest to the
known truth there fills the group (:func:`.blend_weights`: one candidate when it is far
ahead, else a weighted mean of a few fills). Without room for a probe, Telea fills it.

What was chosen comes back with each image (:meth:`~..base.InpainterBase.fill`: one
:class:`~..base.GroupChoice` per group, and ``method``, e.g. ``"ns+telea (2 holes),
facades-freeform-128 (1 hole)"``: a name joined by ``+`` is a blend of those fills,
heaviest first). Each image's probes are placed by a Generator seeded by ``seed`` alone, so
an image gets the same choice in any batch. Pixels outside the hole are returned
bit-identical, as with every inpainter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from ...checkpoint import model_name
from ...config import ModelConfig
from ...pixels import to_rgb01
from ...runtime import usable_cores
from ...work import tick
from ..adapt import adapted_inpainter, check_adaptable
from ..base import GroupChoice, InpainterBase, describe
from ..inpainter import Inpainter
from ..windows import WindowGeometry, group_holes
from .candidates import FillFn, classical_candidates, inpainter_filler
from .choose import DETAIL_SUFFIX, choose_filler, high_pass
from .settings import ProbeSettings
from .units import around, class_settings, probe_pad, probe_units, union

__all__ = ["AUTO", "AUTO_CLOSEST", "AUTO_METHODS", "AutoInpainter"]

logger = logging.getLogger(__name__)

#: The name of the automatic choice wherever a method or model is named.
AUTO = "auto"
#: ``auto`` without the detail: the blend closest to the truth on the probes alone
#: (``ProbeSettings(detail_budget_db=0)``), smoother, a little closer (docs/auto.md).
AUTO_CLOSEST = "auto-closest"
#: The automatic choices by name, with their probe settings.
AUTO_METHODS: dict[str, ProbeSettings] = {AUTO: ProbeSettings(),
                                          AUTO_CLOSEST: ProbeSettings(detail_budget_db=0.0)}
_DEFAULT_METHOD = "telea"  # the incumbent of the choice (see the module docstring)


class AutoInpainter(InpainterBase):
    """Fill each group of holes with the best of several methods, tested on the photo.

    ``models``: the learned candidates: shipped model names or paths (loaded with
    :meth:`Inpainter.from_pretrained`) or models already loaded (:class:`Inpainter`, named
    by their ``name``); ``methods``: classical methods (default: every one of
    :data:`~.candidates.CLASSICAL_CANDIDATES` installed here); ``adapt_steps``: also try
    each model fine-tuned for this many steps on the photo (0 = no adaptation); ``seed``:
    places the probes and drives the adaptation. ``device``, ``precision`` and ``feather``
    and ``model_options`` (``batch_size``, ``pipeline``, ...) go to the models loaded by
    name. ``probes``: the probing settings.

    Attributes: :attr:`inpainters` (candidate name -> :class:`Inpainter`), :attr:`methods`,
    :attr:`adapt_steps`, :attr:`seed`. It holds no state between calls, so several threads
    may call it at once.
    """

    name = AUTO
    chooses = True

    def __init__(self, models: Sequence[str | Inpainter] = (Inpainter.DEFAULT_MODEL,),
                 methods: Sequence[str] | None = None, adapt_steps: int = 0, seed: int = 0,
                 device: str | torch.device = "auto", precision: str | None = "auto",
                 feather: int = 2, probes: ProbeSettings | None = None,
                 **model_options: Any) -> None:
        if isinstance(models, (str, Inpainter)):
            models = (models,)
        if int(adapt_steps) < 0:
            raise ValueError(f"adapt_steps must be >= 0, got {adapt_steps}")
        if adapt_steps and not models:
            raise ValueError("adapt_steps needs a model to adapt; none was given")
        self.inpainters: dict[str, Inpainter] = {}
        for i, m in enumerate(models):
            inp = m if isinstance(m, Inpainter) else Inpainter.from_pretrained(
                m, device=device, precision=precision, feather=feather, **model_options)
            key = model_name(inp.name) if inp.name else f"model{i + 1}"
            if key in self.inpainters:
                raise ValueError(f"two models are named {key!r}; give them distinct names")
            self.inpainters[key] = inp
        self.methods = list(classical_candidates(methods)) if methods is None else list(methods)
        classical_candidates(self.methods)  # unknown names fail here, not at the first image
        if not self.methods and not self.inpainters:
            raise ValueError("auto needs at least one model or classical method")
        self.adapt_steps = int(adapt_steps)
        if self.adapt_steps:
            for inp in self.inpainters.values():
                check_adaptable(inp)
        self.seed = int(seed)
        self.probes = probes or ProbeSettings()
        first = next(iter(self.inpainters.values()), None)
        # holes are grouped as the (first) model groups them; a full-image model's windows
        # when there is no model
        self.geometry = WindowGeometry(first.config if first else ModelConfig(task="full"))

    def __repr__(self) -> str:
        return (f"AutoInpainter(models={list(self.inpainters)!r}, methods={self.methods!r}, "
                f"adapt_steps={self.adapt_steps}, seed={self.seed})")

    # -- the fill -------------------------------------------------------------------------
    def _candidates(self, rgb: np.ndarray, mask: np.ndarray) -> tuple[dict[str, FillFn], set[str]]:
        """The candidates, classical methods first (Telea, the default, leading), then
        models, then the models fine-tuned on this photo (``"<model>+adapt"``); and the
        names of the learned ones."""
        cands = classical_candidates(self.methods, hole_pixels=int(np.count_nonzero(mask)))
        learned = {k: inpainter_filler(inp) for k, inp in self.inpainters.items()}
        if self.adapt_steps:
            learned.update({f"{key}+adapt": inpainter_filler(
                                adapted_inpainter(inp, rgb, mask, self.adapt_steps, self.seed))
                            for key, inp in self.inpainters.items()})
        cands.update(learned)
        if not cands:  # every classical method was too slow for this size and no model
            cands = classical_candidates([_DEFAULT_METHOD])
        return cands, set(learned)

    def _fill_one(self, rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, list[GroupChoice]]:
        """Choose and fill on the crop around the holes (:mod:`.units`): time and memory
        follow the holes and their context, not the photo. The prediction comes back in a
        zeroed photo-sized array of which only the hole pixels are written (the pages of a
        fresh ``np.zeros`` are not committed until touched)."""
        labels, groups = group_holes(mask, self.geometry)
        sides = [max(g.box[2] - g.box[0], g.box[3] - g.box[1]) for g in groups]
        y0, x0, y1, x1 = around(union(g.box for g in groups),
                                max(self.geometry.size, 2 * max(sides)), mask.shape)
        crop, hole, labels = to_rgb01(rgb[y0:y1, x0:x1]), mask[y0:y1, x0:x1], labels[y0:y1, x0:x1]
        boxes = [(g.box[0] - y0, g.box[1] - x0, g.box[2] - y0, g.box[3] - x0) for g in groups]
        group_of = np.zeros(int(labels.max()) + 1, np.int64)
        for j, g in enumerate(groups):
            group_of[g.labels] = j
        ys, xs = np.nonzero(hole)
        pixel_group = group_of[labels[ys, xs]]
        pixels = np.bincount(pixel_group, minlength=len(groups))

        cands, learned = self._candidates(crop, hole)
        default = _DEFAULT_METHOD if _DEFAULT_METHOD in cands else None
        models = [k for k in cands if k in learned]
        rng = np.random.default_rng(self.seed)
        choices: list[GroupChoice] = [None] * len(groups)  # type: ignore[list-item]
        units = probe_units(pixels, sides, self.probes.units)
        for done, (rep, members) in enumerate(units):
            tick("auto: probing (groups of holes)", done, len(units))
            s = self.probes if len(members) == 1 else class_settings(
                self.probes, int(pixels[rep]), sides[rep])
            cy0, cx0, cy1, cx1 = around(boxes[rep], probe_pad(sides[rep], s), hole.shape)
            c = choose_filler(crop[cy0:cy1, cx0:cx1],
                              np.isin(labels[cy0:cy1, cx0:cx1], groups[rep].labels), cands, rng,
                              unknown=hole[cy0:cy1, cx0:cx1], default=default, probes=s,
                              models=models)
            for i in members:
                choices[i] = GroupChoice(groups[i].box, len(groups[i].labels), int(pixels[i]),
                                         c.method, dict(c.scores),
                                         c.reason if i == rep else f"{c.reason}, shared",
                                         dict(c.weights))
        # one call per method with any weight, every hole unknown, side by side on threads
        # (OpenCV and torch release the GIL); each hole pixel takes its group's mix, plus
        # the detail of a method where its group adds it
        tick("auto: probing (groups of holes)", len(units), len(units))
        keys = list(dict.fromkeys(m for c in choices for m in c.weights))
        methods = list(dict.fromkeys(k.removesuffix(DETAIL_SUFFIX) for k in keys))
        weight = np.array([[c.weights.get(k, 0.0) for k in keys] for c in choices])
        with ThreadPoolExecutor(max_workers=max(1, min(len(methods), usable_cores()))) as pool:
            fills = dict(zip(methods, pool.map(lambda m: cands[m](crop, hole), methods),
                             strict=True))
        mix = np.zeros((ys.size, 3), np.float64)
        for k, key in enumerate(keys):  # summed in a fixed order
            base = key.removesuffix(DETAIL_SUFFIX)
            result = fills[base] if key == base else high_pass(fills[base], self.probes.detail_sigma)
            mix += weight[pixel_group, k][:, None] * np.asarray(result)[ys, xs].astype(np.float64)
        out = np.zeros((*mask.shape, 3), np.float32)
        out[ys + y0, xs + x0] = mix
        logger.info("auto: %s", describe(choices))
        return out, choices

    def _fill_with_choices(self, images: list[np.ndarray], masks: list[np.ndarray]
                           ) -> list[tuple[np.ndarray, list[GroupChoice]]]:
        return [self._fill_one(img, mask) for img, mask in zip(images, masks, strict=True)]
