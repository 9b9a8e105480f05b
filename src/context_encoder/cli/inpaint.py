"""``context-encoder inpaint``: fill the holes of an image, or of a folder of images.

Which filler: ``--method auto`` (the default) fills each group of holes with a mix of the
model (``--model``, default the shipped free-form model) and the classical methods, weighted
by how well each fills test holes cut into the photo
(:class:`~context_encoder.inference.AutoInpainter`), and prints what it used for each
image; ``--model NAME`` alone fills with that model only; ``--method NAME`` with a
classical method. ``--adapt STEPS`` fine-tunes the model on each photo first (with auto, the
adapted model is one more candidate; with ``--model``, it fills the holes).

The work is :func:`context_encoder.inference.inpaint_files`; this module parses the options
and prints what happened to each file.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from ..errors import UsageError
from ..inference import (
    AUTO,
    AUTO_METHODS,
    METHODS,
    FileResult,
    Inpainter,
    InpainterBase,
    inpaint_files,
    load_inpainter,
)
from ..inference.adapt import check_steps
from ..inference.files import check_max_pixels
from ..inference.windows import MAX_FEATHER
from ..io.images import DEFAULT_MAX_PIXELS

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "inpaint",
        help="fill holes in images with a trained model (or a classical method)",
        description="Fill the holes of an image (or a folder of images) given as a mask "
                    "(non-zero = hole) or a box. Pixels outside the hole are kept exactly. "
                    "An input is never overwritten; an existing output needs --overwrite.",
    )
    p.add_argument("image", metavar="IMAGE", help="an image file, or a folder (recursive)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (a folder when IMAGE is a folder)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--mask", metavar="MASK",
                     help="mask image (non-zero = hole), or a folder of masks paired with "
                          "the images by file name (stem)")
    src.add_argument("--box", metavar="X,Y,W,H", help="a rectangular hole, in pixels")
    p.add_argument("--sketch", metavar="SKETCH",
                   help="lines to follow inside the hole (non-zero = a stroke, the image's "
                        "size), or a folder of sketches paired by stem as masks are; for a "
                        "sketch-guided model (trained with --guide sketch)")
    p.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="shipped model name, exported .safetensors or .onnx file or run folder: alone, "
                        "fill with this model only; with --method auto, the model auto tries "
                        f"(default {Inpainter.DEFAULT_MODEL})")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--method", metavar="NAME",
                   help="auto (the default without --model): for each hole, the mix of the "
                        "model and the classical methods that best fills test holes of its "
                        "shape cut into the photo, with one method's fine detail added where "
                        "the test holes say it costs little; auto-closest: the mix alone "
                        "(smoother, a little closer); or a classical method: mean, telea, ns, "
                        "biharmonic, patchmatch")
    p.add_argument("--adapt", type=int, default=0, metavar="STEPS",
                   help="fine-tune the model on each photo for STEPS steps first (0 = off, "
                        "the default; ~30 is enough): with auto the adapted model is one more "
                        "candidate, with --model it fills the holes")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of auto's test holes and of --adapt (default 0)")
    p.add_argument("--ext", metavar="EXT",
                   help="output format in folder mode, e.g. png (default: the input's)")
    p.add_argument("--feather", type=int, default=2, help="seam blending width in px (default 2)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (an input is never overwritten)")
    p.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_PIXELS / 1e6,
                   metavar="MP",
                   help="refuse images and masks larger than this, checked from the file's "
                        f"header before decoding (default {DEFAULT_MAX_PIXELS / 1e6:g})")
    p.set_defaults(func=run)


def _inpainter(args: argparse.Namespace) -> Callable[[], InpainterBase]:
    """How to build the inpainter that ``--method`` (auto or a classical method) or
    ``--model`` alone names; built by :func:`inpaint_files` once the files are checked."""
    method = args.method if args.method is not None else (None if args.model else AUTO)
    if method is not None and method.lower() in METHODS and method not in METHODS:
        raise UsageError(f"--method {method!r}: method names are lower case "
                         f"(--method {method.lower()})")
    if method is not None and method not in METHODS:
        raise UsageError(f"--method {method!r} is not one of {', '.join(METHODS)}")
    automatic = method in AUTO_METHODS
    if args.adapt and not (method is None or automatic):
        raise UsageError(f"--adapt fine-tunes a model; --method {method} is a classical method")
    if not (method is None or automatic):
        return functools.partial(load_inpainter, method)
    name = method or args.model
    models = [args.model or Inpainter.DEFAULT_MODEL] if automatic else None
    return functools.partial(load_inpainter, name, models=models, adapt_steps=args.adapt,
                             seed=args.seed, device=args.device, precision=args.precision,
                             feather=args.feather)


def _print(result: FileResult) -> None:
    """What happened to one file: what auto chose, the fill's warnings, the file written
    (or, in a folder, why it failed)."""
    if result.error is not None:
        print(f"context-encoder inpaint: error: {result.error}", file=sys.stderr)
        return
    assert result.filled is not None
    if result.filled.chosen:
        print(f"{result.source}: auto chose {result.filled.method}")
    for w in result.warnings:
        print(f"context-encoder inpaint: warning: {str(result.source)!r}: {w}", file=sys.stderr)
    print(f"wrote {result.output}")


def run(args: argparse.Namespace) -> int:
    check_steps(args.adapt, "--adapt")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if not 0 <= args.feather <= MAX_FEATHER:
        raise UsageError(f"--feather must be in 0..{MAX_FEATHER} px, got {args.feather}")
    if not 0 < args.max_megapixels < float("inf"):
        raise UsageError(f"--max-megapixels must be a positive number, got {args.max_megapixels:g}")
    check_max_pixels(int(args.max_megapixels * 1e6), "--max-megapixels")
    done = failed = 0
    for result in inpaint_files(args.image, args.output, _inpainter(args), mask=args.mask,
                                box=args.box, sketch=args.sketch, ext=args.ext,
                                overwrite=args.overwrite,
                                max_pixels=int(args.max_megapixels * 1e6)):
        _print(result)
        done += 1
        failed += result.error is not None
    if failed:
        print(f"context-encoder inpaint: {failed} of {done} images failed", file=sys.stderr)
        return 1
    return 0
