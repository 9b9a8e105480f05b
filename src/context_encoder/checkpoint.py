"""Checkpoints: self-describing, versioned, written atomically, loaded without pickle.

A training checkpoint is a folder ``RUN/checkpoints/step-00001000/`` holding
``generator.safetensors``, ``discriminator.safetensors``, ``config.json`` (model and
training config) and ``state.pt`` (optimizers, step, RNG states; read back with
``torch.load(weights_only=True)``). ``RUN/last.json`` and ``RUN/best.json`` name the newest
and best checkpoints; each is replaced atomically after its folder is complete.

An exported model is one ``.safetensors`` file with the generator's weights and the model
config in its metadata, so the file alone rebuilds the model.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import ModelConfig
from .errors import CheckpointError
from .models import Generator

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "export_generator",
    "find_checkpoint",
    "list_pretrained",
    "load_generator",
    "read_checkpoint",
    "resolve_model_path",
    "save_checkpoint",
    "save_generator",
]

logger = logging.getLogger(__name__)

FORMAT = "context-encoder"
FORMAT_VERSION = 1


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _public(path: str | Path, directory: bool = False) -> None:
    """Give a temporary file or folder the mode a plain ``open`` / ``mkdir`` would."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        _public(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cpu_state(module: torch.nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in module.state_dict().items():
        v = v.detach().to("cpu")
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        out[k] = v.contiguous()
    return out


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    *,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    state: dict[str, Any],
    config: dict[str, Any],
    keep_last: int = 3,
    is_best: bool = False,
) -> Path:
    """Write ``RUN/checkpoints/step-XXXXXXXX`` through a temporary folder and a rename,
    then point ``last.json`` (and ``best.json`` if ``is_best``) at it; prune to the newest
    ``keep_last`` checkpoints (never the best one)."""
    run_dir = Path(run_dir)
    ckpt_root = run_dir / "checkpoints"
    ckpt_root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    final = ckpt_root / name
    tmp = Path(tempfile.mkdtemp(dir=ckpt_root, prefix=f".{name}."))
    try:
        meta = {"format": FORMAT, "version": str(FORMAT_VERSION), "step": str(step)}
        save_file(_cpu_state(generator), str(tmp / "generator.safetensors"), metadata=meta)
        save_file(_cpu_state(discriminator), str(tmp / "discriminator.safetensors"), metadata=meta)
        torch.save(state, tmp / "state.pt")
        cfg = {"format": FORMAT, "version": FORMAT_VERSION, "step": step, **config}
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2))
        if final.exists():
            shutil.rmtree(final)
        _public(tmp, directory=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = json.dumps({"step": step, "path": f"checkpoints/{name}"})
    _atomic_write_text(run_dir / "last.json", pointer)
    if is_best:
        _atomic_write_text(run_dir / "best.json", pointer)
    _prune(run_dir, keep_last)
    return final


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
    if (path / "generator.safetensors").exists():
        return path
    if not path.exists():
        raise CheckpointError(f"{str(path)!r} does not exist")
    ckpt = _pointer(path, which) or _pointer(path, "last")
    if ckpt is None or not (ckpt / "generator.safetensors").exists():
        raise CheckpointError(f"no checkpoint in {str(path)!r} (expected last.json or a step folder)")
    return ckpt


def read_checkpoint(ckpt_dir: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Config, weights and training state of a checkpoint folder (no pickle)."""
    ckpt_dir = Path(ckpt_dir)
    out: dict[str, Any] = {}
    try:
        out["config"] = json.loads((ckpt_dir / "config.json").read_text())
        out["generator"] = load_file(str(ckpt_dir / "generator.safetensors"), device=str(map_location))
        out["discriminator"] = load_file(
            str(ckpt_dir / "discriminator.safetensors"), device=str(map_location)
        )
        out["state"] = torch.load(ckpt_dir / "state.pt", map_location=map_location, weights_only=True)
    except (OSError, json.JSONDecodeError, SafetensorError, RuntimeError, EOFError,
            pickle.UnpicklingError) as e:
        raise CheckpointError(f"checkpoint {str(ckpt_dir)!r} is unreadable: {e}") from e
    return out


def save_generator(
    generator: Generator, out: str | Path, *, half: bool = True, step: int = 0,
    train_config: dict[str, Any] | None = None,
) -> Path:
    """Write a generator as one self-describing ``.safetensors`` file (atomically)."""
    weights = _cpu_state(generator, torch.float16 if half else None)
    return _write_exported(weights, generator.config.to_dict(), out, step, train_config or {})


def _write_exported(weights: dict[str, torch.Tensor], model_cfg: dict[str, Any], out: str | Path,
                    step: int, train_cfg: dict[str, Any]) -> Path:
    meta = {
        "format": FORMAT,
        "version": str(FORMAT_VERSION),
        "model_config": json.dumps(model_cfg),
        "step": str(step),
        "train_config": json.dumps(train_cfg),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.contiguous() for k, v in weights.items()}, tmp, metadata=meta)
        _public(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _read_generator_dir(ckpt: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(run config, generator weights) of a checkpoint folder."""
    try:
        cfg = json.loads((ckpt / "config.json").read_text())
        return cfg, load_file(str(ckpt / "generator.safetensors"))
    except (OSError, json.JSONDecodeError, SafetensorError) as e:
        raise CheckpointError(f"checkpoint {str(ckpt)!r} is unreadable: {e}") from e


def export_generator(src: str | Path, out: str | Path, *, half: bool = True, which: str = "best") -> Path:
    """Keep only the generator of a run or checkpoint folder, with its model config in the
    safetensors metadata (fp16 storage when ``half``)."""
    cfg, weights = _read_generator_dir(find_checkpoint(src, which))
    if half:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    return _write_exported(weights, cfg["model"], out, int(cfg.get("step", 0)),
                           cfg.get("train", {}))


def list_pretrained() -> list[str]:
    """Names of the models shipped inside the package."""
    root = resources.files("context_encoder") / "weights"
    if not root.is_dir():
        return []
    return sorted(p.name[: -len(".safetensors")] for p in root.iterdir()
                  if p.name.endswith(".safetensors"))


def resolve_model_path(name_or_path: str | Path) -> Path:
    """A shipped model's name, or a path to an exported file, run folder or checkpoint."""
    s = str(name_or_path)
    if s in list_pretrained():
        return Path(str(resources.files("context_encoder") / "weights" / f"{s}.safetensors"))
    p = Path(s)
    if p.exists():
        return p
    raise CheckpointError(
        f"unknown model {s!r}: not a shipped model ({', '.join(list_pretrained()) or 'none'}) "
        "and no such file or folder"
    )


def load_generator(
    name_or_path: str | Path, device: str | torch.device = "cpu", which: str = "best"
) -> tuple[Generator, dict[str, Any]]:
    """Rebuild a generator from a shipped name, an exported file or a run/checkpoint folder.

    Returns ``(generator in eval mode, info)``; info holds ``config`` and ``source``.
    """
    path = resolve_model_path(name_or_path)
    info: dict[str, Any] = {"source": str(path)}
    if path.is_dir():
        cfg, weights = _read_generator_dir(find_checkpoint(path, which))
        model_cfg = cfg["model"]
        info["step"] = cfg.get("step")
    else:
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
            if meta.get("format") != FORMAT or "model_config" not in meta:
                raise CheckpointError(
                    f"{str(path)!r} is not a context-encoder model (no model config in its metadata)"
                )
            model_cfg = json.loads(meta["model_config"])
            weights = load_file(str(path))
        except (OSError, json.JSONDecodeError, SafetensorError) as e:
            raise CheckpointError(f"model file {str(path)!r} is corrupt or truncated: {e}") from e
        info["step"] = int(meta.get("step", 0))
    try:
        config = ModelConfig.from_dict(model_cfg)
        gen = Generator(config)
        weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
        gen.load_state_dict(weights)
    except (ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{str(path)!r} does not match its model config: {e}") from e
    info["config"] = config
    return gen.to(device).eval(), info
