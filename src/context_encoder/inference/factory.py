"""One way to build an inpainter from a name: :func:`load_inpainter`, which the command
line, the server, evaluation and the demo all call."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from ..baselines import BASELINES
from .adapt import AdaptedInpainter, check_steps
from .auto import AUTO, AUTO_METHODS, AutoInpainter
from .base import InpainterBase
from .classical import BaselineInpainter
from .inpainter import Inpainter

__all__ = ["METHODS", "load_inpainter"]

#: The methods named by a word alone: ``auto`` and the classical methods.
METHODS: tuple[str, ...] = (*AUTO_METHODS, *BASELINES)


def load_inpainter(name: str | os.PathLike = AUTO, *,
                   models: Sequence[str | Inpainter] | None = None, adapt_steps: int = 0,
                   seed: int = 0, device: str | torch.device = "auto",
                   precision: str | None = "auto", feather: int = 2,
                   **model_options: Any) -> InpainterBase:
    """The inpainter ``name`` stands for:

    * ``"auto"`` (the default): :class:`~.auto.AutoInpainter` over ``models`` (default: the
      shipped free-form model) and the classical methods, also trying each model
      fine-tuned on the photo for ``adapt_steps`` steps; ``"auto-closest"`` the same
      without the detail auto adds to its blend (``ProbeSettings(detail_budget_db=0)``);
    * a classical method (``"mean"``, ``"telea"``, ``"ns"``, ``"biharmonic"``,
      ``"patchmatch"``): :class:`~.classical.BaselineInpainter` (``adapt_steps`` must be 0);
    * anything else is a model: a shipped name, an exported ``.safetensors`` file or a
      training run folder (:meth:`Inpainter.from_pretrained`), fine-tuned on each photo
      first when ``adapt_steps > 0`` (:class:`~.adapt.AdaptedInpainter`).

    ``seed``: auto's probes and the adaptation; ``device``, ``precision``, ``feather`` and
    ``model_options`` (``batch_size``, ``pipeline``, ``compile_mode``, ...) go to the
    models. The inpainter's ``name`` is what results call it (a model by
    :func:`~context_encoder.checkpoint.model_name`). Unknown names and unreadable models
    raise ``ValueError`` (:class:`~context_encoder.errors.CheckpointError` for models).
    """
    check_steps(adapt_steps)
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    name = os.fspath(name)
    if name in AUTO_METHODS:
        return AutoInpainter((Inpainter.DEFAULT_MODEL,) if models is None else models,
                             adapt_steps=adapt_steps, seed=seed, device=device,
                             precision=precision, feather=feather,
                             probes=AUTO_METHODS[name], **model_options)
    if name in BASELINES:
        if adapt_steps:
            raise ValueError(f"adaptation fine-tunes a model; {name!r} is a classical method")
        return BaselineInpainter(name)
    model = Inpainter.from_pretrained(name, device=device, precision=precision,
                                      feather=feather, **model_options)
    return AdaptedInpainter(model, adapt_steps, seed) if adapt_steps else model
