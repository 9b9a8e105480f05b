"""``context-encoder inpaint``: fill the holes of an image, or of a folder of images.

Which filler: ``--method auto`` (the default) fills each group of holes with a mix of the
model (``--model``, default the shipped free-form model) and the classical methods, weighted
by how well each fills test holes cut into the photo
(:class:`~context_encoder.inference.AutoInpainter`), and prints what it used for each image; ``--model NAME`` alone fills with that model only; ``--method NAME`` with a
classical method. ``--adapt STEPS`` fine-tunes the model on each photo first (with auto, the
adapted model is one more candidate; with ``--model``, it fills the holes).

Every output is checked before the model loads or any image is read: an output is never an
input (not even with ``--overwrite``), an existing file needs ``--overwrite``, and in folder
mode no two inputs may map to the same output.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, UsageError
from ..inference import (
    AUTO,
    AdaptedInpainter,
    AutoInpainter,
    BaselineInpainter,
    Inpainter,
    InpainterBase,
)
from ..io.files import check_output, same_file
from ..io.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    WRITE_FORMATS,
    box_mask,
    load_image,
    load_mask,
    mask_array,
    save_image,
)

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
                   help="shipped model name, exported .safetensors file or run folder: alone, "
                        "fill with this model only; with --method auto, the model auto tries "
                        f"(default {Inpainter.DEFAULT_MODEL})")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--method", metavar="NAME",
                   help="auto (the default without --model): for each hole, the mix of the "
                        "model and the classical methods that best fills test holes of its "
                        "shape cut into the photo; or a classical method: mean, telea, ns, "
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


def _method(args: argparse.Namespace) -> str | None:
    """The classical method or ``auto`` asked for; None for ``--model`` alone."""
    if args.method is None:
        return None if args.model is not None else AUTO
    return args.method


def _make_inpainter(args: argparse.Namespace) -> InpainterBase:
    method = _method(args)
    if args.adapt < 0:
        raise UsageError(f"--adapt must be >= 0 steps, got {args.adapt}")
    if args.adapt and method not in (None, AUTO):
        raise UsageError(f"--adapt fine-tunes a model; --method {method} is a classical method")
    model = args.model or Inpainter.DEFAULT_MODEL
    if method == AUTO:
        try:
            return AutoInpainter((model,), adapt_steps=args.adapt, seed=args.seed,
                                 device=args.device, precision=args.precision,
                                 feather=args.feather)
        except (CheckpointError, ValueError, RuntimeError, OSError) as e:
            raise UsageError(str(e)) from e
    if method:
        try:
            return BaselineInpainter(method)
        except ImportError as e:
            raise UsageError(f"--method {method}: the baselines are unavailable ({e})") from e
        except ValueError as e:
            raise UsageError(str(e)) from e
    try:
        inp = Inpainter.from_pretrained(model, device=args.device, precision=args.precision,
                                        feather=args.feather)
        return AdaptedInpainter(inp, args.adapt, args.seed) if args.adapt else inp
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
    """Where the mask of each image comes from: a box, one file, or a folder by stem; and
    likewise its sketch (``--sketch``, held in :attr:`sketches`), if any."""

    def __init__(self, args: argparse.Namespace, max_pixels: int, what: str = "mask") -> None:
        self.what = what  # "mask" or "sketch"
        self.box: str | None = args.box if what == "mask" else None
        self.max_pixels = max_pixels
        self.file: Path | None = None
        self.folder: Path | None = None
        self.by_rel: dict[Path, Path] = {}
        self.by_stem: dict[str, list[Path]] = {}
        self.sketches = (_MaskSource(args, max_pixels, "sketch")
                         if what == "mask" and getattr(args, "sketch", None) else None)
        if getattr(args, what) is None:
            return
        mp = Path(getattr(args, what))
        if not mp.exists():
            raise UsageError(f"{what} {str(mp)!r} does not exist")
        if mp.is_dir():
            self.folder = mp
            for f in sorted(mp.rglob("*")):
                if f.is_file() and f.suffix.lower() in WRITE_FORMATS:
                    self.by_rel.setdefault(f.relative_to(mp).with_suffix(""), f)
                    self.by_stem.setdefault(f.stem, []).append(f)
        else:
            self.file = mp

    def files(self) -> list[Path]:
        """The mask (and sketch) files that may be read (inputs, never to be overwritten)."""
        more = self.sketches.files() if self.sketches is not None else []
        if self.file is not None:
            return [self.file, *more]
        return [f for fs in self.by_stem.values() for f in fs] + more

    def folders(self) -> list[Path]:
        """The mask and sketch folders (their files are not images to inpaint)."""
        more = self.sketches.folders() if self.sketches is not None else []
        return [self.folder, *more] if self.folder is not None else more

    def sketch(self, image_path: Path, rel: Path, shape: tuple[int, ...]) -> np.ndarray | None:
        """The image's sketch (``HxW`` bool), or None without ``--sketch``."""
        return None if self.sketches is None else self.sketches.get(image_path, rel, shape)

    def _load(self, path: Path, shape: tuple[int, ...]) -> np.ndarray:
        if self.what == "mask":
            return load_mask(path, shape, self.max_pixels)
        return mask_array(load_image(path, self.max_pixels)[0], shape, f"sketch {str(path)!r}")

    def get(self, image_path: Path, rel: Path, shape: tuple[int, ...]) -> np.ndarray:
        if self.box is not None:
            try:
                return box_mask(shape, self.box)
            except ValueError as e:
                raise ValueError(f"{e} {str(image_path)!r}") from e
        if self.file is not None:
            return self._load(self.file, shape)
        mask = self.by_rel.get(rel.with_suffix(""))
        if mask is None:
            cands = self.by_stem.get(rel.stem, [])
            if len(cands) != 1:
                how = "no" if not cands else "an ambiguous"
                raise ValueError(f"{how} {self.what} for {str(image_path)!r} in "
                                 f"{str(self.folder)!r}")
            mask = cands[0]
        return self._load(mask, shape)


def _inpaint_file(inpainter: InpainterBase, src: Path, rel: Path, out: Path,
                  masks: _MaskSource,
                  loaded: tuple[np.ndarray, dict[str, Any], np.ndarray, Any] | None = None
                  ) -> None:
    """Read (unless ``loaded``: image, info, mask, sketch), inpaint and write one image;
    ``ValueError`` / ``OSError`` naming the file on failure, and no output file then."""
    if loaded is None:
        image, info = load_image(src, masks.max_pixels)
        mask = masks.get(src, rel, image.shape)
        sketch = masks.sketch(src, rel, image.shape)
    else:
        image, info, mask, sketch = loaded
    guide = {} if sketch is None else {"sketch": sketch}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = inpainter.inpaint_array(image, mask, **guide)
        except (ValueError, RuntimeError) as e:  # RuntimeError: e.g. a missing optional baseline
            raise ValueError(f"{str(src)!r}: {e}") from e
        save_image(result, out, info)
    if isinstance(inpainter, AutoInpainter):
        print(f"{src}: auto chose {inpainter.describe()}")
    for w in caught:
        print(f"context-encoder inpaint: warning: {str(src)!r}: {w.message}", file=sys.stderr)


def _check_sketch_input(inpainter: InpainterBase, masks: _MaskSource) -> None:
    """``--sketch`` needs a sketch-guided model: checked before any image is inpainted."""
    if masks.sketches is not None:
        try:
            inpainter.check_sketch()
        except ValueError as e:
            raise UsageError(f"--sketch: {e}") from e


def _check_write_format(out: Path) -> None:
    if out.suffix.lower() not in WRITE_FORMATS:
        raise UsageError(f"cannot write image {str(out)!r}: unknown extension "
                         f"{out.suffix!r} (use one of {', '.join(WRITE_FORMATS)})")


def _run_file(args: argparse.Namespace, src: Path, masks: _MaskSource, ext: str | None) -> int:
    out = Path(args.output)
    if out.is_dir():
        out = out / (src.stem + (ext or src.suffix))
    _check_write_format(out)
    check_output(out, inputs=[src, *masks.files()], overwrite=args.overwrite)
    try:  # read the inputs before the (slower) model so that bad inputs fail fast
        image, info = load_image(src, masks.max_pixels)
        mask = masks.get(src, Path(src.name), image.shape)
        sketch = masks.sketch(src, Path(src.name), image.shape)
    except ValueError as e:
        raise UsageError(str(e)) from e
    inpainter = _make_inpainter(args)
    _check_sketch_input(inpainter, masks)
    try:
        _inpaint_file(inpainter, src, Path(src.name), out, masks, (image, info, mask, sketch))
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from e
    print(f"wrote {out}")
    return 0


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _plan_folder(src: Path, out_dir: Path, masks: _MaskSource, ext: str | None
                 ) -> list[tuple[Path, Path, Path]]:
    """``(input, its path relative to src, output)`` for each image of the folder; refuses
    an output folder that is the input folder and two inputs mapped to one output."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{str(out_dir)!r} is a file; with a folder of images OUT must be a folder")
    if same_file(out_dir, src):
        raise UsageError(f"output {str(out_dir)!r} equals input {str(src)!r}: choose another "
                         "folder (the inputs are never overwritten)")
    files = sorted(
        f for f in src.rglob("*")
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
        and not _is_under(f, out_dir) and not any(_is_under(f, d) for d in masks.folders())
    )
    if not files:
        raise UsageError(f"no images in {str(src)!r} (looked for {', '.join(IMAGE_EXTENSIONS)})")
    plan, sources = [], {}
    for f in files:
        rel = f.relative_to(src)
        out = out_dir / rel.with_suffix(ext or f.suffix.lower())
        plan.append((f, rel, out))
        sources.setdefault(out, []).append(f)
    clashes = [(out, fs) for out, fs in sources.items() if len(fs) > 1]
    if clashes:
        out, fs = clashes[0]
        more = f" (and {len(clashes) - 1} more outputs)" if len(clashes) > 1 else ""
        both = "both" if len(fs) == 2 else "all"
        raise UsageError(f"inputs {' and '.join(repr(str(f)) for f in fs)} would {both} be "
                         f"written to {str(out)!r}{more}; rename them or choose another --ext "
                         "(nothing was written)")
    return plan


def _check_folder_outputs(plan: list[tuple[Path, Path, Path]], masks: _MaskSource,
                          overwrite: bool) -> None:
    """No output may be an input; existing outputs need ``overwrite``."""
    inputs = {_file_id(p): p for p in [*(f for f, _, _ in plan), *masks.files()]}
    existing = [out for _, _, out in plan if os.path.lexists(out)]
    for out in existing:
        hit = inputs.get(_file_id(out))
        check_output(out, inputs=[hit] if hit else [], overwrite=True)
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UsageError(f"output {str(existing[0])!r} exists{more}; pass --overwrite to "
                         "replace existing outputs")


def _run_folder(args: argparse.Namespace, src: Path, masks: _MaskSource, ext: str | None) -> int:
    out_dir = Path(args.output)
    plan = _plan_folder(src, out_dir, masks, ext)
    _check_folder_outputs(plan, masks, args.overwrite)
    inpainter = _make_inpainter(args)
    _check_sketch_input(inpainter, masks)
    failed = 0
    for f, rel, out in plan:
        try:
            _inpaint_file(inpainter, f, rel, out, masks)
        except (ValueError, OSError) as e:
            failed += 1
            print(f"context-encoder inpaint: error: {e}", file=sys.stderr)
            continue
        print(f"wrote {out}")
    if failed:
        print(f"context-encoder inpaint: {failed} of {len(plan)} images failed", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    src = Path(args.image)
    if not src.exists():
        raise UsageError(f"cannot read image {str(src)!r}: no such file or folder")
    if args.feather < 0:
        raise UsageError(f"--feather must be >= 0, got {args.feather}")
    if not 0 < args.max_megapixels < float("inf"):
        raise UsageError(f"--max-megapixels must be a positive number, got {args.max_megapixels:g}")
    ext = None
    if args.ext:
        ext = args.ext.lower() if args.ext.startswith(".") else f".{args.ext.lower()}"
        if ext not in WRITE_FORMATS:
            raise UsageError(f"--ext {args.ext!r} is not one of {', '.join(WRITE_FORMATS)}")
    masks = _MaskSource(args, int(args.max_megapixels * 1e6))
    if src.is_dir():
        return _run_folder(args, src, masks, ext)
    return _run_file(args, src, masks, ext)
