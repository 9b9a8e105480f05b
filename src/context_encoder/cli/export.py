"""``context-encoder export``: keep only the generator of a run, in one file: ``.safetensors``
(this package rebuilds it) or ``.onnx`` (any ONNX runtime runs it); or a folder, ``web``: the
editor page as static files that fill holes in the browser itself."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser"]

FORMATS = ("safetensors", "onnx", "web")


def add_parser(sub: Any) -> None:
    e = sub.add_parser("export", help="keep only the generator of a run, in one file "
                                      "(.safetensors or .onnx), or as a static web page that "
                                      "fills holes in the browser (--format web)")
    e.add_argument("run", help="run folder or checkpoint folder; with --format onnx or web "
                               "also a shipped name or an exported .safetensors file")
    e.add_argument("-o", "--output", required=True,
                   help="the file to write (a folder for --format web; an existing one is "
                        "kept unless --overwrite)")
    e.add_argument("--format", choices=FORMATS, default="safetensors",
                   help="safetensors (default; fp16 unless --fp32) or onnx (fp32, opset 20, "
                        "dynamic batch; inputs image, mask, sketch as the model takes them: "
                        "see docs/deploy.md) or web (a folder: index.html, the page's scripts, "
                        "ONNX Runtime Web and the model as .onnx, for any static host)")
    e.add_argument("--which", choices=["best", "last"], default="best")
    e.add_argument("--fp32", action="store_true", help="store fp32 (default fp16)")
    e.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file (--format web: a site folder written "
                        "earlier by it, nothing else)")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import MODEL_SUFFIX, export_generator
    from ..errors import UsageError
    from ..io.files import check_output

    if args.format == "web":
        from ..server.static_site import export_site

        out = export_site(args.run, args.output, which=args.which, overwrite=args.overwrite)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(f"wrote {out}/ ({size / 1e6:.1f} MB): serve it with any static file server, "
              f"e.g. python -m http.server -d {out}")
        return 0
    suffix = MODEL_SUFFIX if args.format == "safetensors" else ".onnx"
    out = Path(args.output)
    if not out.is_dir() and out.suffix.lower() != suffix:  # a folder: check_output says so
        raise UsageError(f"output {args.output!r}: --format {args.format} writes a {suffix} "
                         f"file; name it NAME{suffix}")
    check_output(out, overwrite=args.overwrite)
    if args.format == "onnx":
        from ..onnx_model import export_onnx

        out = export_onnx(args.run, args.output, which=args.which)
    else:
        out = export_generator(args.run, args.output, half=not args.fp32, which=args.which)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
