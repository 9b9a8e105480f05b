"""Checkpoints: self-describing, versioned, written atomically, loaded without pickle.

The format, on one screen:

* A training checkpoint is a folder ``RUN/checkpoints/step-00001000/`` holding
  ``generator.safetensors`` and ``discriminator.safetensors`` (weights), ``config.json``
  (``{"format", "version", "step", "model": ModelConfig, "train": TrainConfig}``: the
  :class:`RunConfig`) and ``state.pt`` (:func:`train_state`: optimizers, step, RNG state;
  read back with ``torch.load(weights_only=True)``). It is filled in a temporary folder
  ``.step-00001000.*`` and renamed into place; ``RUN/last.json`` and ``RUN/best.json``
  (``{"step", "path"}``) name the newest and best checkpoints, each replaced atomically
  after its folder is complete.
* An exported model is one ``.safetensors`` file: the generator's weights, with the run
  config in its metadata (:meth:`RunConfig.metadata`), so the file alone rebuilds the model.

Weights holding NaN or infinite values are refused on load: such a file is corrupt.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import shutil
import socket
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .config import ModelConfig, TrainConfig
from .errors import CheckpointError, ConfigError
from .io.files import atomic_dir, atomic_path, atomic_write_text
from .models import Generator

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MODEL_SUFFIX",
    "CheckpointError",
    "RunConfig",
    "clean_stale_temporaries",
    "export_generator",
    "find_checkpoint",
    "list_pretrained",
    "load_generator",
    "model_name",
    "read_checkpoint",
    "read_generator_weights",
    "read_model_config",
    "resolve_model_path",
    "restore_train_state",
    "save_checkpoint",
    "save_generator",
    "state_mismatch",
    "train_state",
]

logger = logging.getLogger(__name__)

FORMAT = "context-encoder"
FORMAT_VERSION = 1
GENERATOR_FILE = "generator.safetensors"
DISCRIMINATOR_FILE = "discriminator.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "state.pt"
MODEL_SUFFIX = ".safetensors"
#: Inside a temporary checkpoint folder while it is filled: ``HOST PID`` of its writer.
WRITER_FILE = ".writer"
#: A temporary checkpoint folder that names no writer on this machine is stale after this.
STALE_AFTER_S = 15 * 60


# ---------------------------------------------------------------------------------------
# The run config and the train state
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunConfig:
    """What a run was trained with: the model config (rebuilds the networks) and the
    training options as saved (a mapping, so that older runs' options stay readable)."""

    model: ModelConfig
    train: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: TrainConfig) -> RunConfig:
        return cls(cfg.model_config(), asdict(cfg))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), "train": dict(self.train)}

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str) -> RunConfig:
        try:
            return cls(ModelConfig.from_dict(d["model"]), dict(d.get("train") or {}))
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{source}: not a valid run config ({e})") from e

    @classmethod
    def read(cls, ckpt_dir: str | Path) -> tuple[RunConfig, int]:
        """(run config, step) of a checkpoint folder."""
        path = Path(ckpt_dir) / CONFIG_FILE
        try:
            d = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise CheckpointError(f"checkpoint {str(ckpt_dir)!r} is unreadable: {e}") from e
        return cls.from_dict(d, repr(str(path))), int(d.get("step", 0))

    def options(self) -> dict[str, Any]:
        """The training options a ``--resume`` starts from (the progress bar is not one)."""
        return {k: v for k, v in self.train.items() if k != "progress"}

    def metadata(self, step: int) -> dict[str, str]:
        """The safetensors metadata of an exported model."""
        return {"format": FORMAT, "version": str(FORMAT_VERSION), "step": str(step),
                "model_config": json.dumps(self.model.to_dict()),
                "train_config": json.dumps(self.train)}

    @classmethod
    def from_metadata(cls, meta: dict[str, str], source: str) -> tuple[RunConfig, int]:
        if meta.get("format") != FORMAT or "model_config" not in meta:
            raise CheckpointError(
                f"{source} is not a context-encoder model (no model config in its metadata)")
        try:
            d = {"model": json.loads(meta["model_config"]),
                 "train": json.loads(meta.get("train_config", "{}"))}
        except ValueError as e:
            raise CheckpointError(f"{source}: corrupt metadata ({e})") from e
        return cls.from_dict(d, source), int(meta.get("step", 0))


def train_state(step: int, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler, best_psnr: float) -> dict[str, Any]:
    """``state.pt``: everything but the weights that a resumed run needs to continue as if
    it had not stopped. :func:`restore_train_state` reads the same keys."""
    return {
        "step": step,
        "opt_g": opt_g.state_dict(),
        "opt_d": opt_d.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else {},
        "torch_rng": torch.get_rng_state(),
        "best_psnr": best_psnr,
    }


def restore_train_state(state: dict[str, Any], opt_g: torch.optim.Optimizer,
                        opt_d: torch.optim.Optimizer,
                        scaler: torch.amp.GradScaler) -> tuple[int, float]:
    """Load :func:`train_state`'s keys back; returns ``(step, best_psnr)``."""
    opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])
    if state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["torch_rng"].cpu())
    return int(state["step"]), float(state.get("best_psnr", -math.inf))


# ---------------------------------------------------------------------------------------
# Training checkpoints
# ---------------------------------------------------------------------------------------
def _cpu_state(module: torch.nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in module.state_dict().items():
        v = v.detach().to("cpu")
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        out[k] = v.contiguous()
    return out


def _load_weights(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; corrupt files (unreadable, or with NaN or
    infinite values) raise :class:`CheckpointError` naming the file and the tensor."""
    try:
        weights = load_file(str(path), device=str(device))
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"model file {str(path)!r} is corrupt or truncated: {e}") from e
    for name, t in weights.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"model file {str(path)!r} is corrupt: tensor {name!r} "
                                  "holds NaN or infinite values")
    return weights


def save_checkpoint(run_dir: str | Path, step: int, *, generator: torch.nn.Module,
                    discriminator: torch.nn.Module, state: dict[str, Any], config: RunConfig,
                    keep_last: int = 3, is_best: bool = False) -> Path:
    """Write ``RUN/checkpoints/step-XXXXXXXX`` through a temporary folder and a rename,
    then point ``last.json`` (and ``best.json`` if ``is_best``) at it; prune to the newest
    ``keep_last`` checkpoints (never the best one)."""
    run_dir = Path(run_dir)
    name = f"step-{step:08d}"
    final = run_dir / "checkpoints" / name
    with atomic_dir(final) as tmp:
        (tmp / WRITER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}")
        meta = {"format": FORMAT, "version": str(FORMAT_VERSION), "step": str(step)}
        save_file(_cpu_state(generator), str(tmp / GENERATOR_FILE), metadata=meta)
        save_file(_cpu_state(discriminator), str(tmp / DISCRIMINATOR_FILE), metadata=meta)
        torch.save(state, tmp / STATE_FILE)
        cfg = {"format": FORMAT, "version": FORMAT_VERSION, "step": step, **config.to_dict()}
        (tmp / CONFIG_FILE).write_text(json.dumps(cfg, indent=2))
        (tmp / WRITER_FILE).unlink()
    pointer = json.dumps({"step": step, "path": f"checkpoints/{name}"})
    atomic_write_text(run_dir / "last.json", pointer)
    if is_best:
        atomic_write_text(run_dir / "best.json", pointer)
    _prune(run_dir, keep_last)
    return final


def read_checkpoint(ckpt_dir: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``config`` (a :class:`RunConfig`), ``step``, ``generator`` and ``discriminator``
    weights and the train ``state`` of a checkpoint folder (no pickle)."""
    ckpt_dir = Path(ckpt_dir)
    config, step = RunConfig.read(ckpt_dir)
    out: dict[str, Any] = {"config": config, "step": step}
    out["generator"] = _load_weights(ckpt_dir / GENERATOR_FILE, map_location)
    out["discriminator"] = _load_weights(ckpt_dir / DISCRIMINATOR_FILE, map_location)
    try:
        out["state"] = torch.load(ckpt_dir / STATE_FILE, map_location=map_location,
                                  weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise CheckpointError(f"checkpoint {str(ckpt_dir)!r} is unreadable: {e}") from e
    return out


def _writer_alive(tmp: Path) -> bool:
    """Whether the process filling temporary checkpoint folder ``tmp`` may still be
    running: its recorded writer on this machine is alive, or (no writer recorded, or one
    on another machine) the folder changed in the last :data:`STALE_AFTER_S` seconds."""
    try:
        host, pid = (tmp / WRITER_FILE).read_text().split()
        if host == socket.gethostname():
            os.kill(int(pid), 0)  # signal 0: only checks that the process exists
            return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except (OSError, ValueError):
        pass
    try:
        return time.time() - tmp.stat().st_mtime < STALE_AFTER_S
    except OSError:
        return False


def clean_stale_temporaries(run_dir: str | Path) -> list[Path]:
    """Remove the temporary checkpoint folders (``checkpoints/.step-*``) that a killed
    writer left behind; never one that a live process is still filling."""
    removed = []
    for tmp in sorted(Path(run_dir).glob("checkpoints/.step-*")):
        if tmp.is_dir() and not _writer_alive(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
            logger.info("removed %s, left by an interrupted checkpoint write", tmp)
            removed.append(tmp)
    return removed


def _pointer(run_dir: Path, which: str) -> Path | None:
    p = run_dir / f"{which}.json"
    if not p.exists():
        return None
    try:
        return run_dir / json.loads(p.read_text())["path"]
    except (json.JSONDecodeError, KeyError) as e:
        raise CheckpointError(f"{str(p)!r} is corrupt: {e}") from e


def _prune(run_dir: Path, keep_last: int) -> None:
    if keep_last <= 0:
        return
    steps = sorted((run_dir / "checkpoints").glob("step-*"))
    protected = {_pointer(run_dir, "best"), _pointer(run_dir, "last")}
    for old in steps[:-keep_last]:
        if old not in protected:
            shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(path: str | Path, which: str = "last") -> Path:
    """A checkpoint folder from a run folder (its ``last`` or ``best``) or a step folder."""
    path = Path(path)
    if (path / GENERATOR_FILE).exists():
        return path
    if not path.exists():
        raise CheckpointError(f"{str(path)!r} does not exist")
    ckpt = _pointer(path, which) or _pointer(path, "last")
    if ckpt is None or not (ckpt / GENERATOR_FILE).exists():
        raise CheckpointError(f"no checkpoint in {str(path)!r} (expected last.json or a step folder)")
    return ckpt


# ---------------------------------------------------------------------------------------
# Exported models
# ---------------------------------------------------------------------------------------
def _write_exported(weights: dict[str, torch.Tensor], run: RunConfig, step: int,
                    out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() != MODEL_SUFFIX:
        raise CheckpointError(f"model file {str(out)!r}: the name must end in {MODEL_SUFFIX}")
    if out.is_dir():
        raise CheckpointError(f"model file {str(out)!r} is a folder; name the file to write")
    with atomic_path(out) as tmp:
        save_file({k: v.contiguous() for k, v in weights.items()}, str(tmp),
                  metadata=run.metadata(step))
    return out


def save_generator(
    generator: Generator, out: str | Path, *, half: bool = True, step: int = 0,
    train_config: dict[str, Any] | None = None,
) -> Path:
    """Write a generator as one self-describing ``.safetensors`` file (atomically)."""
    weights = _cpu_state(generator, torch.float16 if half else None)
    return _write_exported(weights, RunConfig(generator.config, train_config or {}), step, out)


def export_generator(src: str | Path, out: str | Path, *, half: bool = True, which: str = "best") -> Path:
    """Keep only the generator of a run or checkpoint folder, with its run config in the
    safetensors metadata (fp16 storage when ``half``)."""
    ckpt = find_checkpoint(src, which)
    run, step = RunConfig.read(ckpt)
    weights = _load_weights(ckpt / GENERATOR_FILE)
    if half:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    return _write_exported(weights, run, step, out)


def list_pretrained() -> list[str]:
    """Names of the models shipped inside the package."""
    root = resources.files("context_encoder") / "weights"
    if not root.is_dir():
        return []
    return sorted(p.name[: -len(MODEL_SUFFIX)] for p in root.iterdir()
                  if p.name.endswith(MODEL_SUFFIX))


def model_name(name_or_path: str | os.PathLike) -> str:
    """The name a model goes by wherever it is shown (a listing, a column, a header, a
    candidate of ``auto``): a shipped name as it is; an exported file by its name without
    ``.safetensors``; a run folder or checkpoint by its folder name. Never the whole path."""
    s = str(name_or_path)
    if s in list_pretrained():
        return s
    name = Path(s).name
    for suffix in (MODEL_SUFFIX, ".onnx"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def resolve_model_path(name_or_path: str | Path) -> Path:
    """A shipped model's name, or a path to an exported file, run folder or checkpoint."""
    s = str(name_or_path)
    if s in list_pretrained():
        return Path(str(resources.files("context_encoder") / "weights" / f"{s}{MODEL_SUFFIX}"))
    p = Path(s)
    if p.exists():
        return p
    raise CheckpointError(
        f"unknown model {s!r}: not a shipped model ({', '.join(list_pretrained()) or 'none'}) "
        "and no such file or folder"
    )


def _model_source(path: Path, which: str) -> tuple[RunConfig, int, Path]:
    """(run config, step, weights file) of an exported file or a run / checkpoint folder."""
    if path.is_dir():
        ckpt = find_checkpoint(path, which)
        return (*RunConfig.read(ckpt), ckpt / GENERATOR_FILE)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"model file {str(path)!r} is corrupt or truncated: {e}") from e
    return (*RunConfig.from_metadata(meta, repr(str(path))), path)


def read_model_config(name_or_path: str | Path, which: str = "best") -> ModelConfig:
    """The model config of a shipped name, an exported file (``.safetensors`` or ``.onnx``)
    or a run folder (no weights read)."""
    path = resolve_model_path(name_or_path)
    if path.suffix.lower() == ".onnx":
        return RunConfig.from_metadata(_onnx_metadata(path), repr(str(path)))[0].model
    return _model_source(path, which)[0].model


def _onnx_metadata(path: Path) -> dict[str, str]:
    """The metadata of an ONNX file: read with ``onnx`` when installed, else by ONNX Runtime."""
    try:
        try:
            import onnx
        except ImportError:
            import onnxruntime as ort

            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            return dict(session.get_modelmeta().custom_metadata_map)
        proto = onnx.load(str(path), load_external_data=False)
        return {p.key: p.value for p in proto.metadata_props}
    except ImportError as e:
        raise CheckpointError(f"{str(path)!r}: reading an ONNX model needs onnxruntime") from e
    except Exception as e:  # a corrupt or foreign file
        raise CheckpointError(f"model file {str(path)!r} is not a readable ONNX model: "
                              f"{str(e).splitlines()[0][:200]}") from e


def load_generator(
    name_or_path: str | Path, device: str | torch.device = "cpu", which: str = "best"
) -> tuple[Generator, dict[str, Any]]:
    """Rebuild a generator from a shipped name, an exported file or a run/checkpoint folder.

    Returns ``(generator in eval mode, info)``; info holds ``config``, ``step`` and ``source``.
    """
    weights, info = read_generator_weights(name_or_path, which)
    try:
        gen = Generator(info["config"])
    except (ConfigError, ValueError, TypeError) as e:
        raise CheckpointError(f"{info['source']!r} does not match its model config: {e}") from e
    try:
        gen.load_state_dict(weights)
    except RuntimeError as e:  # PyTorch lists every key: say what differs, in one line
        raise CheckpointError(f"{info['source']!r} does not match its model config: "
                              f"{state_mismatch(gen.state_dict(), weights)}") from e
    return gen.to(device).eval(), info


def state_mismatch(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> str:
    """How ``got`` differs from ``expected`` (two state dicts), in one short line: how many
    tensors are missing, unexpected or of another shape, with one example of each."""
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    shapes = [k for k in expected if k in got and expected[k].shape != got[k].shape]
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensor(s) missing (e.g. {missing[0]!r})")
    if extra:
        parts.append(f"{len(extra)} unexpected (e.g. {extra[0]!r})")
    if shapes:
        k = shapes[0]
        parts.append(f"{len(shapes)} of another shape (e.g. {k!r}: "
                     f"{tuple(got[k].shape)} where {tuple(expected[k].shape)} is expected)")
    return "; ".join(parts) or "the weights do not load"


def read_generator_weights(name_or_path: str | Path, which: str = "best"
                           ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A generator's state dict (fp32 on the CPU) from a shipped name, an exported file or
    a run/checkpoint folder, and info (``config``, ``step``, ``source``), without building
    the model: for a caller that takes a part of it (``features.Encoder``)."""
    path = resolve_model_path(name_or_path)
    run, step, weights_file = _model_source(path, which)
    weights = {k: v.float() if v.is_floating_point() else v
               for k, v in _load_weights(weights_file).items()}
    return weights, {"source": str(path), "step": step, "config": run.model}
