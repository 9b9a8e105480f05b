"""``context-encoder inpaint``: fill the holes of an image, or of a folder of images."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, UsageError
from ..inference import BaselineInpainter, Inpainter, InpainterBase
from ..io.images import IMAGE_EXTENSIONS, WRITE_FORMATS, box_mask, load_image, load_mask, save_image

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "inpaint",
        help="fill holes in images with a trained model (or a classical method)",
        description="Fill the holes of an image (or a folder of images) given as a mask "
                    "(non-zero = hole) or a box. Pixels outside the hole are kept exactly.",
    )
    p.add_argument("image", metavar="IMAGE", help="an image file, or a folder (recursive)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (a folder when IMAGE is a folder)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--mask", metavar="MASK",
                     help="mask image (non-zero = hole), or a folder of masks paired with "
                          "the images by file name (stem)")
    src.add_argument("--box", metavar="X,Y,W,H", help="a rectangular hole, in pixels")
    p.add_argument("--model", default=Inpainter.DEFAULT_MODEL, metavar="NAME|PATH",
                   help="shipped model name, exported .safetensors file or run folder "
                        f"(default {Inpainter.DEFAULT_MODEL})")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--method", metavar="NAME",
                   help="a classical method instead of the model: mean, telea, ns, "
                        "biharmonic, patchmatch")
    p.add_argument("--ext", metavar="EXT",
                   help="output format in folder mode, e.g. png (default: the input's)")
    p.add_argument("--feather", type=int, default=2, help="seam blending width in px (default 2)")
    p.set_defaults(func=run)


def _make_inpainter(args: argparse.Namespace) -> InpainterBase:
    if args.method:
        try:
            return BaselineInpainter(args.method)
        except ImportError as e:
            raise UsageError(f"--method {args.method}: the baselines are unavailable ({e})") from e
        except ValueError as e:
            raise UsageError(str(e)) from e
    try:
        return Inpainter.from_pretrained(args.model, device=args.device, precision=args.precision,
                                         feather=args.feather)
    except (CheckpointError, ValueError, RuntimeError, OSError) as e:
        raise UsageError(str(e)) from e


def _is_under(p: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        p.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


class _MaskSource:
    """Where the mask of each image comes from: a box, one file, or a folder by stem."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.box: str | None = args.box
        self.file: Path | None = None
        self.folder: Path | None = None
        self.by_rel: dict[Path, Path] = {}
        self.by_stem: dict[str, list[Path]] = {}
        if args.mask is None:
            return
        mp = Path(args.mask)
        if not mp.exists():
            raise UsageError(f"mask {str(mp)!r} does not exist")
        if mp.is_dir():
            self.folder = mp
            for f in sorted(mp.rglob("*")):
                if f.is_file() and f.suffix.lower() in WRITE_FORMATS:
                    self.by_rel.setdefault(f.relative_to(mp).with_suffix(""), f)
                    self.by_stem.setdefault(f.stem, []).append(f)
        else:
            self.file = mp

    def get(self, image_path: Path, rel: Path, shape: tuple[int, ...]) -> np.ndarray:
        if self.box is not None:
            try:
                return box_mask(shape, self.box)
            except ValueError as e:
                raise ValueError(f"{e} {str(image_path)!r}") from e
        if self.file is not None:
            return load_mask(self.file, shape)
        mask = self.by_rel.get(rel.with_suffix(""))
        if mask is None:
            cands = self.by_stem.get(rel.stem, [])
            if len(cands) != 1:
                how = "no" if not cands else "an ambiguous"
                raise ValueError(f"{how} mask for {str(image_path)!r} in {str(self.folder)!r}")
            mask = cands[0]
        return load_mask(mask, shape)


def _inpaint_file(inpainter: InpainterBase, src: Path, rel: Path, out: Path,
                  masks: _MaskSource,
                  loaded: tuple[np.ndarray, dict[str, Any], np.ndarray] | None = None) -> None:
    """Read (unless ``loaded``), inpaint and write one image; ``ValueError`` / ``OSError``
    naming the file on failure, and no output file then."""
    if loaded is None:
        image, info = load_image(src)
        mask = masks.get(src, rel, image.shape)
    else:
        image, info, mask = loaded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = inpainter.inpaint_array(image, mask)
        except (ValueError, RuntimeError) as e:  # RuntimeError: e.g. a missing optional baseline
            raise ValueError(f"{str(src)!r}: {e}") from e
        save_image(result, out, info)
    for w in caught:
        print(f"context-encoder inpaint: warning: {str(src)!r}: {w.message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    src = Path(args.image)
    if not src.exists():
        raise UsageError(f"cannot read image {str(src)!r}: no such file or folder")
    if args.feather < 0:
        raise UsageError(f"--feather must be >= 0, got {args.feather}")
    ext = None
    if args.ext:
        ext = args.ext.lower() if args.ext.startswith(".") else f".{args.ext.lower()}"
        if ext not in WRITE_FORMATS:
            raise UsageError(f"--ext {args.ext!r} is not one of {', '.join(WRITE_FORMATS)}")
    masks = _MaskSource(args)

    if not src.is_dir():
        out = Path(args.output)
        if out.is_dir():
            out = out / (src.stem + (ext or src.suffix))
        if out.suffix.lower() not in WRITE_FORMATS:
            raise UsageError(f"cannot write image {str(out)!r}: unknown extension "
                           f"{out.suffix!r} (use one of {', '.join(WRITE_FORMATS)})")
        try:  # read the inputs before the (slower) model so that bad inputs fail fast
            image, info = load_image(src)
            mask = masks.get(src, Path(src.name), image.shape)
        except ValueError as e:
            raise UsageError(str(e)) from e
        inpainter = _make_inpainter(args)
        try:
            _inpaint_file(inpainter, src, Path(src.name), out, masks, (image, info, mask))
        except (ValueError, OSError) as e:
            raise UsageError(str(e)) from e
        print(f"wrote {out}")
        return 0

    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{str(out_dir)!r} is a file; with a folder of images OUT must be a folder")
    files = sorted(
        f for f in src.rglob("*")
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
        and not _is_under(f, out_dir) and not _is_under(f, masks.folder)
    )
    if not files:
        raise UsageError(f"no images in {str(src)!r} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    inpainter = _make_inpainter(args)
    failed = 0
    for f in files:
        rel = f.relative_to(src)
        out = out_dir / rel.with_suffix(ext or f.suffix.lower())
        try:
            _inpaint_file(inpainter, f, rel, out, masks)
        except (ValueError, OSError) as e:
            failed += 1
            print(f"context-encoder inpaint: error: {e}", file=sys.stderr)
            continue
        print(f"wrote {out}")
    if failed:
        print(f"context-encoder inpaint: {failed} of {len(files)} images failed", file=sys.stderr)
        return 1
    return 0
