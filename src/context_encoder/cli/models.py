"""``context-encoder models``: list the shipped models."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    m = sub.add_parser("models", help="list the shipped models")
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import list_pretrained, load_generator

    if not list_pretrained():
        print("no shipped models in this installation")
    for name in list_pretrained():
        _, info = load_generator(name)
        c = info["config"]
        options = (f" conv={c.conv} guide={c.guide} refine_width={c.refine_width}"
                   if c.task == "full" else "")
        print(f"{name}: task={c.task} size={c.image_size} bottleneck={c.bottleneck}{options} "
              f"step={info.get('step')}")
    return 0
