"""The models a server may use: the one it was started with plus the shipped ones, each
loaded once on first use. Requests name models from this list only, never a path."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..checkpoint import list_pretrained, model_name, read_model_config
from ..config import ModelConfig
from ..errors import CheckpointError
from ..inference import AUTO, Inpainter, InpainterBase, load_inpainter
from .errors import ApiError

__all__ = ["ModelStore"]

logger = logging.getLogger(__name__)


def _shipped() -> list[str]:
    """The shipped model names (none when the package holds no weights folder)."""
    try:
        return list_pretrained()
    except OSError:
        return []




def _config_info(name: str, config: ModelConfig | None) -> dict[str, Any]:
    """What ``GET /api/v1/models`` says of a model (``None`` fields and no sketch input
    when its config cannot be read)."""
    return {"name": name, "task": config and config.task,
            "image_size": config and config.image_size,
            "bottleneck": config and config.bottleneck,
            "conv": config and config.conv, "guide": config and config.guide,
            "refine_width": config and config.refine_width,
            "sketch": config is not None and config.guide == "sketch"}


class ModelStore:
    """The startup model plus the shipped models, loaded once each on first use.

    Only these names are accepted from requests: a request can never make the server
    open a path of its choosing."""

    def __init__(self, model: str | None, device: str, adapt_steps: int = 0) -> None:
        self.device = device
        self.adapt_steps = adapt_steps
        auto_default = model == AUTO  # auto over the shipped model, named the default
        source = Inpainter.DEFAULT_MODEL if model is None or auto_default else model
        self.model = model_name(source)  # the server's model, auto's learned candidate
        # the default is what a burst of requests can afford: the model (auto costs
        # several methods per hole), unless auto was asked for
        self.default = AUTO if auto_default else self.model
        self._source: dict[str, str] = {n: n for n in _shipped()}
        self._source[self.model] = source
        self._loaded: dict[str, InpainterBase] = {}
        self._lock = threading.RLock()  # auto loads the model inside its own load
        self._info: dict[str, dict[str, Any]] = {}

    @property
    def names(self) -> list[str]:
        return [AUTO, self.model] + sorted(n for n in self._source if n != self.model)

    def check(self, name: str | None) -> str:
        """The model to use for a request's ``model`` field (400 when unknown)."""
        if name is None or name.strip() == "":
            return self.default
        if name != AUTO and name not in self._source:
            raise ApiError(400, f"unknown model {name!r}; this server has: "
                                f"{', '.join(self.names)}")
        return name

    def _load(self, name: str) -> InpainterBase:
        if name == AUTO:  # over the server's model as loaded: one copy of its weights
            return load_inpainter(AUTO, models=[self.get(self.model)],
                                  adapt_steps=self.adapt_steps)
        return load_inpainter(self._source[name], device=self.device)

    def get(self, name: str) -> InpainterBase:
        """The loaded inpainter (loads it on first use; call from a worker thread)."""
        inp = self._loaded.get(name)
        if inp is not None:
            return inp
        with self._lock:
            inp = self._loaded.get(name)
            if inp is None:
                t0 = time.perf_counter()
                inp = self._load(name)
                self._loaded[name] = inp
                logger.info("model %s loaded in %.2f s (%r)", name, time.perf_counter() - t0, inp)
        return inp

    def loaded(self) -> list[str]:
        return [n for n in self.names if n in self._loaded]

    def info(self, name: str) -> dict[str, Any]:
        if name == AUTO:
            out = {**_config_info(AUTO, None), "task": AUTO}
        else:
            if name not in self._info:
                try:  # the metadata alone, no weights read
                    config = read_model_config(self._source[name])
                except (CheckpointError, OSError) as e:
                    logger.warning("cannot read the config of model %s: %s", name, e)
                    config = None
                self._info[name] = _config_info(name, config)
            out = dict(self._info[name])
        out["loaded"] = name in self._loaded
        out["default"] = name == self.default
        return out

