"""``context-encoder train``: training options generated from
:class:`~context_encoder.config.TrainConfig` (one flag per field)."""

from __future__ import annotations

import argparse
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import UsageError

__all__ = ["add_parser", "train_flags"]


def train_flags() -> list[tuple[str, dict[str, Any]]]:
    """``(flag, argparse keywords)`` for every command-line field of ``TrainConfig``."""
    hints = typing.get_type_hints(TrainConfig)
    out = []
    for f in fields(TrainConfig):
        if not f.metadata.get("cli", True):
            continue
        kinds = [t for t in (typing.get_args(hints[f.name]) or (hints[f.name],))
                 if t is not type(None)]
        kw: dict[str, Any] = {"type": kinds[0]} if kinds[0] in (int, float) else {}
        choices = TrainConfig.choices(f.name)
        if choices is not None:
            kw["choices"] = list(choices)
        default = f.default if f.default is not MISSING else None
        kw["help"] = " ".join(x for x in (f.metadata.get("help", ""),
                                         f"(default {default})") if x)
        out.append((f"--{f.name.replace('_', '-')}", kw))
    return out


def add_parser(sub: Any) -> None:
    t = sub.add_parser("train", help="train a model (the paper's recipe by default)")
    for flag, kw in train_flags():
        t.add_argument(flag, default=None, **kw)
    t.add_argument("--out", default=None, help="run folder (default runs/context-encoder)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint, with its saved "
                        "options (options given here override them)")
    t.add_argument("--config", help="YAML or TOML file with the same keys as the options")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=run)


def _saved_options(out: str) -> dict[str, Any]:
    """The training options of the checkpoint a ``--resume`` continues (not the run
    folder's config.json, which a later start may have rewritten)."""
    from ..checkpoint import CheckpointError, RunConfig, find_checkpoint

    try:
        ckpt = find_checkpoint(Path(out))
    except CheckpointError:
        return {}  # the Trainer reports the missing checkpoint
    return RunConfig.read(ckpt)[0].options()


def options(args: argparse.Namespace) -> TrainConfig:
    """The run's options: a resumed run's, then the config file's, then the flags'."""
    if args.steps is not None and args.epochs is not None:
        raise UsageError("give --steps or --epochs, not both")
    if args.resume and args.init is not None:
        raise UsageError("--init starts a new run from a model; --resume continues the run in "
                         "--out from its last checkpoint: give one of them")
    values: dict[str, Any] = _saved_options(args.out or TrainConfig.out) if args.resume else {}
    source = "options"
    if args.config:
        from ..config import read_config_file

        values.update(read_config_file(args.config))
        source = args.config
    for flag, _ in train_flags():
        key = flag[2:].replace("-", "_")
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.steps is not None:
        values["epochs"] = None  # an explicit --steps wins over a saved --epochs
    if args.out is not None:
        values["out"] = args.out
    if args.no_progress:
        values["progress"] = False
    return TrainConfig.from_dict(values, source=source)


def run(args: argparse.Namespace) -> int:
    from ..runtime import dtype_name
    from ..training import Trainer

    cfg = options(args)
    trainer = Trainer(cfg, resume=args.resume)
    if trainer.is_main:
        start = f" from {cfg.init}" if cfg.init and not args.resume else ""
        kind = "".join((", gated" if cfg.conv == "gated" else "",
                        ", sketch-guided" if cfg.guide == "sketch" else "",
                        f", refinement stage {cfg.refine_width} wide" if cfg.refine_width else ""))
        print(f"training {cfg.mask} model ({cfg.bottleneck} bottleneck{kind}){start} on {cfg.data} "
              f"for {trainer.total_steps} steps on {trainer.device} "
              f"({dtype_name(trainer.amp_dtype)}); run folder {cfg.out}")
    result = trainer.fit()
    if trainer.is_main:
        val = result["val"]
        print(f"done: step {result['step']} in {result['seconds']:.0f} s; validation "
              + ", ".join(f"{k} {v:.4f}" for k, v in val.items()))
        print(f"checkpoints in {Path(cfg.out) / 'checkpoints'}; samples in "
              f"{Path(cfg.out) / 'samples'}")
    return 0
