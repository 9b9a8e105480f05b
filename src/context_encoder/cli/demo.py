"""``context-encoder demo`` (``make demo``): the shipped models on validation facades."""

from __future__ import annotations

from typing import Any

from ..demo import DEMO_PHOTOS, run_demo

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="evaluate the shipped models on validation facades")
    p.add_argument("--out", default="out/demo")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--device", default="auto")
    p.add_argument("--photos", type=int, default=DEMO_PHOTOS,
                   help=f"photo crops per mask kind for auto (default {DEMO_PHOTOS}; 0 = none)")

    def run(args) -> int:
        run_demo(args.out, args.count, args.device, log=print, photos=args.photos)
        return 0

    p.set_defaults(func=run)
