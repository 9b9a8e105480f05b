"""``context-encoder export``: keep only the generator of a run, in one file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    e = sub.add_parser("export", help="keep only the generator of a run, in one file")
    e.add_argument("run", help="run folder or checkpoint folder")
    e.add_argument("-o", "--output", required=True,
                   help="the .safetensors file to write (an existing file is kept unless "
                        "--overwrite)")
    e.add_argument("--which", choices=["best", "last"], default="best")
    e.add_argument("--fp32", action="store_true", help="store fp32 (default fp16)")
    e.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import MODEL_SUFFIX, export_generator
    from ..errors import UsageError
    from ..io.files import check_output

    out = Path(args.output)
    if not out.is_dir() and out.suffix.lower() != MODEL_SUFFIX:  # a folder: check_output says so
        raise UsageError(f"output {args.output!r}: an exported model is a {MODEL_SUFFIX} file; "
                         f"name it NAME{MODEL_SUFFIX}")
    check_output(out, overwrite=args.overwrite)
    out = export_generator(args.run, args.output, half=not args.fp32, which=args.which)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
