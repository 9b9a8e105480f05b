"""``context-encoder data facades``: write the procedural facades as image files.
``context-encoder data debian``: build the wider photo and texture sets from Debian packages
(:mod:`context_encoder.data.debian`)."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import IMAGE_SIZES
from ..errors import UsageError
from ..io.files import check_output_dir

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    from ..data.debian import PACKAGE_NAMES

    d = sub.add_parser("data", help="write dataset images")
    dsub = d.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    f = dsub.add_parser("facades", help="the procedural facades")
    f.add_argument("--split", choices=["train", "val"], default="val")
    f.add_argument("--count", type=int, default=16)
    f.add_argument("--start", type=int, default=0, help="first index")
    f.add_argument("--size", type=int, default=128, choices=list(IMAGE_SIZES))
    f.add_argument("--out", required=True)
    f.set_defaults(func=run)
    d = dsub.add_parser("debian", help="crops of photographs and photographic textures from "
                        "Debian packages (fetch them first: apt-get download "
                        f"{' '.join(PACKAGE_NAMES)})")
    d.add_argument("--debs", required=True, help="the folder holding the .deb files")
    d.add_argument("--out", required=True, help="a new folder for the crop folders")
    d.set_defaults(func=run_debian)


def run(args: argparse.Namespace) -> int:
    from ..data import render_facade
    from ..io.images import save_image

    if args.count < 1:
        raise UsageError("--count must be >= 1")
    if args.start < 0:
        raise UsageError("--start must be >= 0")
    out = check_output_dir(args.out, "facades folder")
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.start, args.start + args.count):
        save_image(render_facade(args.split, i, args.size),
                   out / f"facade-{args.split}-{i:06d}.png")
    print(f"wrote {args.count} {args.split} facades ({args.size}x{args.size}) to {out}")
    return 0


def run_debian(args: argparse.Namespace) -> int:
    from ..data.debian import build_debian_sets

    out = check_output_dir(args.out, "crops folder")
    counts = build_debian_sets(args.debs, out)
    for folder, n in counts.items():
        print(f"{n:5d} crops in {out / folder}")
    return 0
