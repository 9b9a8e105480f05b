"""The ``context-encoder`` command: thin argument parsing over the library functions."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


class CLIError(Exception):
    """An error to print as one line and exit non-zero."""


# -- train ---------------------------------------------------------------------------------
_TRAIN_OPTS: list[tuple[str, dict]] = [
    ("--data", {"help": "'facades' (the embedded procedural dataset) or an image folder"}),
    ("--val-data", {"help": "validation images (default: the facades val split, or --data)"}),
    ("--mask", {"choices": ["center", "block", "region", "freeform", "mixed"],
                "help": "hole kind; center = the paper's center model, others train the "
                        "full-image model"}),
    ("--image-size", {"type": int, "choices": [64, 128, 256]}),
    ("--load-size", {"type": int, "help": "shorter side before the random crop (image folders)"}),
    ("--bottleneck", {"choices": ["fc", "conv", "channelwise"]}),
    ("--bottleneck-dim", {"type": int}),
    ("--width", {"type": int, "help": "base channel width (paper: 64)"}),
    ("--batch-size", {"type": int}),
    ("--steps", {"type": int}),
    ("--epochs", {"type": float}),
    ("--lr", {"type": float}),
    ("--g-lr-mult", {"type": float, "help": "generator learning rate multiplier (paper: 10)"}),
    ("--beta1", {"type": float}),
    ("--lambda-rec", {"type": float}),
    ("--lambda-adv", {"type": float}),
    ("--overlap-weight", {"type": float}),
    ("--precision", {"choices": ["auto", "fp32", "bf16", "fp16"]}),
    ("--device", {"help": "auto, cpu, cuda or mps"}),
    ("--workers", {"type": int, "help": "data-loading processes (default: on CUDA up to 8, "
                                        "one core left per rank; else 1)"}),
    ("--seed", {"type": int}),
    ("--log-every", {"type": int}),
    ("--val-every", {"type": int}),
    ("--ckpt-every", {"type": int}),
    ("--sample-every", {"type": int}),
    ("--keep-last", {"type": int}),
    ("--val-count", {"type": int}),
]


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import TrainConfig, Trainer, TrainingError, load_train_config

    values: dict = {}
    if args.steps is not None and args.epochs is not None:
        raise CLIError("give --steps or --epochs, not both")
    if args.resume:
        # Continue with the options of the checkpoint being resumed (not the run folder's
        # config.json, which a later start may have rewritten); a config file or an option
        # given here overrides them (a changed model config is then refused by the Trainer).
        from .checkpoint import CheckpointError, find_checkpoint

        try:
            saved = find_checkpoint(Path(args.out or TrainConfig.out)) / "config.json"
        except CheckpointError:
            saved = None  # the Trainer reports the missing checkpoint
        if saved is not None:
            try:
                values.update(json.loads(saved.read_text()).get("train", {}))
            except (OSError, ValueError) as e:
                raise CLIError(f"{saved}: unreadable run config ({e})") from e
            values.pop("progress", None)
    if args.config:
        try:
            values.update(load_train_config(args.config))
        except (OSError, ValueError) as e:
            raise CLIError(str(e)) from e
    for flag, _ in _TRAIN_OPTS:
        key = flag[2:].replace("-", "_")
        v = getattr(args, key)
        if v is not None:
            values[key] = v
    if args.steps is not None:
        values["epochs"] = None  # an explicit --steps wins over a saved --epochs
    if args.out is not None:
        values["out"] = args.out
    if args.no_progress:
        values["progress"] = False
    try:
        cfg = TrainConfig.from_dict(values, source=args.config or "options")
        trainer = Trainer(cfg, resume=args.resume)
    except (ValueError, FileNotFoundError, TrainingError) as e:
        raise CLIError(str(e)) from e
    if trainer.is_main:
        dtype = str(trainer.amp_dtype).replace("torch.", "") if trainer.amp_dtype else "fp32"
        print(f"training {cfg.mask} model ({cfg.bottleneck} bottleneck) on {cfg.data} for "
              f"{trainer.total_steps} steps on {trainer.device} ({dtype}); run folder {cfg.out}")
    try:
        result = trainer.fit()
    except TrainingError as e:
        raise CLIError(str(e)) from e
    if trainer.is_main:
        val = result["val"]
        print(f"done: step {result['step']} in {result['seconds']:.0f} s; validation "
              + ", ".join(f"{k} {v:.4f}" for k, v in val.items()))
        print(f"checkpoints in {Path(cfg.out) / 'checkpoints'}; samples in "
              f"{Path(cfg.out) / 'samples'}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .checkpoint import CheckpointError, export_generator

    try:
        out = export_generator(args.run, args.output, half=not args.fp32, which=args.which)
    except (CheckpointError, OSError) as e:
        raise CLIError(str(e)) from e
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from PIL import Image

    from .data import render_facade

    if args.count < 1:
        raise CLIError("--count must be >= 1")
    if args.start < 0:
        raise CLIError("--start must be >= 0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.start, args.start + args.count):
        Image.fromarray(render_facade(args.split, i, args.size)).save(
            out / f"facade-{args.split}-{i:06d}.png")
    print(f"wrote {args.count} {args.split} facades ({args.size}x{args.size}) to {out}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .checkpoint import list_pretrained, load_generator

    if not list_pretrained():
        print("no shipped models in this installation")
    for name in list_pretrained():
        _, info = load_generator(name)
        c = info["config"]
        print(f"{name}: task={c.task} size={c.image_size} bottleneck={c.bottleneck} "
              f"step={info.get('step')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="context-encoder",
        description="Context Encoders (Pathak et al., CVPR 2016): train, inpaint, evaluate, serve.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model (the paper's recipe by default)")
    for flag, kw in _TRAIN_OPTS:
        t.add_argument(flag, default=None, **kw)
    t.add_argument("--out", default=None, help="run folder (default runs/context-encoder)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint, with its saved "
                        "options (options given here override them)")
    t.add_argument("--config", help="YAML or TOML file with the same keys as the options")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("export", help="keep only the generator of a run, in one file")
    e.add_argument("run", help="run folder or checkpoint folder")
    e.add_argument("-o", "--output", required=True, help="the .safetensors file to write")
    e.add_argument("--which", choices=["best", "last"], default="best")
    e.add_argument("--fp32", action="store_true", help="store fp32 (default fp16)")
    e.set_defaults(func=_cmd_export)

    d = sub.add_parser("data", help="write dataset images")
    dsub = d.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    f = dsub.add_parser("facades", help="the procedural facades")
    f.add_argument("--split", choices=["train", "val"], default="val")
    f.add_argument("--count", type=int, default=16)
    f.add_argument("--start", type=int, default=0, help="first index")
    f.add_argument("--size", type=int, default=128, choices=[64, 128, 256])
    f.add_argument("--out", required=True)
    f.set_defaults(func=_cmd_data)

    m = sub.add_parser("models", help="list the shipped models")
    m.set_defaults(func=_cmd_models)

    _add_optional_commands(sub)
    return p


def _add_optional_commands(sub) -> None:
    """Commands defined beside their library modules."""
    from . import demo, evaluation, inference, server

    for mod in (inference, evaluation, demo, server):
        mod.add_cli(sub, CLIError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except CLIError as e:
        print(f"context-encoder {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
