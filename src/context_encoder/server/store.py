"""The models a server may use: the one it was started with plus the shipped ones, each
loaded once on first use. Requests name models from this list only, never a path."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from ..checkpoint import list_pretrained, read_model_config
from ..config import ModelConfig
from ..errors import CheckpointError
from ..inference import Inpainter
from .errors import ApiError

__all__ = ["ModelStore"]

logger = logging.getLogger(__name__)


def _shipped() -> list[str]:
    """The shipped model names (none when the package holds no weights folder)."""
    try:
        return list_pretrained()
    except OSError:
        return []


def _public_name(model: str) -> str:
    """The name clients use for the startup model: a shipped name as is, a path by its
    file (or folder) name, never the full path."""
    if model in _shipped():
        return model
    p = Path(model)
    return p.name[: -len(".safetensors")] if p.name.endswith(".safetensors") else p.name


def _config_info(name: str, config: ModelConfig | None) -> dict[str, Any]:
    """What ``GET /api/v1/models`` says of a model."""
    return {"name": name, "task": config and config.task,
            "image_size": config and config.image_size,
            "bottleneck": config and config.bottleneck}


class ModelStore:
    """The startup model plus the shipped models, loaded once each on first use.

    Only these names are accepted from requests: a request can never make the server
    open a path of its choosing."""

    def __init__(self, model: str, device: str) -> None:
        self.device = device
        self.default = _public_name(model)
        self._source: dict[str, str] = {n: n for n in _shipped()}
        self._source[self.default] = model
        self._loaded: dict[str, Inpainter] = {}
        self._lock = threading.Lock()
        self._info: dict[str, dict[str, Any]] = {}

    @property
    def names(self) -> list[str]:
        return [self.default] + sorted(n for n in self._source if n != self.default)

    def check(self, name: str | None) -> str:
        """The model to use for a request's ``model`` field (400 when unknown)."""
        if name is None or name.strip() == "":
            return self.default
        if name not in self._source:
            raise ApiError(400, f"unknown model {name!r}; this server has: "
                                f"{', '.join(self.names)}")
        return name

    def get(self, name: str) -> Inpainter:
        """The loaded inpainter (loads it on first use; call from a worker thread)."""
        inp = self._loaded.get(name)
        if inp is not None:
            return inp
        with self._lock:
            inp = self._loaded.get(name)
            if inp is None:
                t0 = time.perf_counter()
                inp = Inpainter.from_pretrained(self._source[name], device=self.device)
                self._loaded[name] = inp
                logger.info("model %s loaded in %.2f s (%r)", name, time.perf_counter() - t0, inp)
        return inp

    def loaded(self) -> list[str]:
        return [n for n in self.names if n in self._loaded]

    def info(self, name: str) -> dict[str, Any]:
        inp = self._loaded.get(name)
        if inp is not None:
            out = _config_info(name, inp.config)
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

