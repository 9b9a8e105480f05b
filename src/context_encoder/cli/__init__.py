"""The ``context-encoder`` command: thin argument parsing over the library functions.

One module per command (:data:`COMMANDS`); each defines ``add_parser(subparsers)``, which
adds its sub-parser with ``func`` set to the function that runs it. The library raises
:class:`~context_encoder.errors.ContextEncoderError` (and ``ValueError`` / ``OSError``) for
bad input; :func:`main` prints those as one line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence

from ..errors import ContextEncoderError
from ..work import Progress, watched

__all__ = ["COMMANDS", "build_parser", "main"]

#: The subcommands, in the order ``--help`` lists them (each a module of this package).
COMMANDS: tuple[str, ...] = ("train", "export", "data", "models", "inpaint", "evaluate",
                             "features", "demo", "serve")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="context-encoder",
        description="Context Encoders (Pathak et al., CVPR 2016): train, inpaint, evaluate, "
                    "measure the learned features, serve.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).add_parser(sub)
    return p


#: A ``--box`` value that argparse would take for an option (it starts with ``-``).
_NEGATIVE_BOX = re.compile(r"-\d[\d\s,+-]*")


def _join_box_values(argv: Sequence[str]) -> list[str]:
    """``--box -10,10,40,40`` as ``--box=-10,10,40,40``: argparse reads a value that starts
    with ``-`` as an option, so the box check could not say what is wrong with it."""
    args = list(argv)
    i = 0
    while i < len(args) - 1 and args[i] != "--":
        if args[i] == "--box" and _NEGATIVE_BOX.fullmatch(args[i + 1]):
            args[i : i + 2] = [f"--box={args[i + 1]}"]
        i += 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_box_values(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        with watched(progress=Progress()):  # adaptation's and auto's long loops, on stderr
            return int(args.func(args) or 0)
    except (ContextEncoderError, ValueError, OSError) as e:
        print(f"context-encoder {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
