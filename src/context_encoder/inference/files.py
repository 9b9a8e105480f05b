"""Inpaint image files and folders: what ``context-encoder inpaint`` does, as a library call
(:func:`inpaint_files`).

Each image is paired with its hole, given as a box, one mask file, or a folder of masks
matched by path or by stem (and likewise with its sketch). Every output is checked before
the inpainter is built or any image is read: an output is never an input (not even with
``overwrite``), an existing file needs ``overwrite``, and in a folder no two inputs may map
to the same output. Every file is written through a temporary file and a rename.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..io.files import check_output, check_output_file, same_file
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
from ..runtime import check_fits
from .base import Filled, InpainterBase

__all__ = ["BYTES_PER_PIXEL", "FileResult", "HoleSource", "check_max_pixels", "inpaint_files",
           "output_extension"]

#: Peak bytes of an inpainting call per image pixel, about (the model alone on a
#: 40-megapixel photo: 2.5 GB; ``python bench/auto_cost.py``).
BYTES_PER_PIXEL = 64


def check_max_pixels(max_pixels: int, option: str = "max_pixels") -> None:
    """``UsageError`` when an image of ``max_pixels`` pixels would not fit in this machine's
    memory while inpainted: a limit no accepted image could meet."""
    check_fits(max_pixels * BYTES_PER_PIXEL,
               f"{option}: an image of {max_pixels / 1e6:,.0f} megapixels", f"lower {option}")

#: What :func:`inpaint_files` takes as the inpainter: one, or a function that builds it
#: (called once, after every input and output has been checked).
InpainterOrFactory = InpainterBase | Callable[[], InpainterBase]


@dataclass(frozen=True)
class FileResult:
    """One image of :func:`inpaint_files`: where it was written, how it was filled (None
    and ``error`` when it failed), and the warnings of its fill (e.g. an empty mask)."""

    source: Path
    output: Path
    filled: Filled | None
    error: str | None = None
    warnings: tuple[str, ...] = ()


def output_extension(ext: str | None) -> str | None:
    """``"png"`` or ``".PNG"`` as ``".png"`` (None stays None); ``UsageError`` for a format
    that cannot be written."""
    if not ext:
        return None
    ext = ext.lower() if ext.startswith(".") else f".{ext.lower()}"
    if ext not in WRITE_FORMATS:
        raise UsageError(f"--ext {ext[1:]!r} is not one of {', '.join(WRITE_FORMATS)}")
    return ext


def _is_under(p: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        p.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class HoleSource:
    """Where the hole of each image comes from: a box (``X,Y,W,H``), one mask file, or a
    folder of masks paired with the images by path or by stem; and likewise its sketch
    (:attr:`sketches`, a file or a folder), if any."""

    def __init__(self, mask: str | os.PathLike | None = None, box: str | None = None,
                 sketch: str | os.PathLike | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS, what: str = "mask") -> None:
        if what == "mask" and (mask is None) == (box is None):
            raise UsageError("give the hole as a mask or as a box (one of them)")
        self.what = what  # "mask" or "sketch"
        self.box = box
        self.max_pixels = max_pixels
        self.file: Path | None = None
        self.folder: Path | None = None
        self.by_rel: dict[Path, Path] = {}
        self.by_stem: dict[str, list[Path]] = {}
        self.sketches = (HoleSource(sketch, max_pixels=max_pixels, what="sketch")
                         if what == "mask" and sketch is not None else None)
        if mask is None:
            return
        mp = Path(mask)
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
        """The image's sketch (``HxW`` bool), or None without one."""
        return None if self.sketches is None else self.sketches.get(image_path, rel, shape)

    def _load(self, path: Path, shape: tuple[int, ...]) -> np.ndarray:
        if self.what == "mask":
            return load_mask(path, shape, self.max_pixels)
        return mask_array(load_image(path, self.max_pixels)[0], shape, f"sketch {str(path)!r}")

    def get(self, image_path: Path, rel: Path, shape: tuple[int, ...]) -> np.ndarray:
        """The hole (``HxW`` bool) of the image at ``image_path`` (``rel``: its path in the
        folder of images); ``ValueError`` naming the file when there is none."""
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

    def read(self, src: Path, rel: Path) -> tuple[np.ndarray, dict[str, Any], np.ndarray,
                                                   np.ndarray | None]:
        """The image at ``src`` with its info, hole and sketch."""
        image, info = load_image(src, self.max_pixels)
        return image, info, self.get(src, rel, image.shape), self.sketch(src, rel, image.shape)


def _fill_file(inpainter: InpainterBase, src: Path, out: Path,
               loaded: tuple[np.ndarray, dict[str, Any], np.ndarray, np.ndarray | None]
               ) -> FileResult:
    """Inpaint and write one image; ``ValueError`` / ``OSError`` naming the file on
    failure, and no output file then."""
    image, info, mask, sketch = loaded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            filled = inpainter.fill(image, mask, sketch)
        except (ValueError, RuntimeError) as e:  # RuntimeError: e.g. a missing optional baseline
            raise ValueError(f"{str(src)!r}: {e}") from e
        save_image(filled.image, out, info)
    return FileResult(src, out, filled, warnings=tuple(str(w.message) for w in caught))


def _build(inpainter: InpainterOrFactory, holes: HoleSource) -> InpainterBase:
    """The inpainter (built now if a factory was given), checked to take a sketch if the
    holes come with one."""
    try:
        inp = inpainter if isinstance(inpainter, InpainterBase) else inpainter()
    except RuntimeError as e:  # e.g. a device or an optional method that is not there
        raise UsageError(str(e)) from e
    if holes.sketches is not None:
        try:
            inp.check_sketch()
        except ValueError as e:
            raise UsageError(f"--sketch: {e}") from e
    return inp


def _check_write_format(out: Path) -> None:
    if out.suffix.lower() not in WRITE_FORMATS:
        raise UsageError(f"cannot write image {str(out)!r}: unknown extension "
                         f"{out.suffix!r} (use one of {', '.join(WRITE_FORMATS)})")


def _one_file(src: Path, output: Path, holes: HoleSource, inpainter: InpainterOrFactory,
              ext: str | None, overwrite: bool) -> FileResult:
    out = output / (src.stem + (ext or src.suffix)) if output.is_dir() else output
    _check_write_format(out)
    check_output_file(out, "image")  # e.g. a path below a file: say so, not [Errno 17]
    check_output(out, inputs=[src, *holes.files()], overwrite=overwrite)
    try:  # read the inputs before the (slower) model so that bad inputs fail fast
        loaded = holes.read(src, Path(src.name))
    except ValueError as e:
        raise UsageError(str(e)) from e
    inp = _build(inpainter, holes)
    try:
        return _fill_file(inp, src, out, loaded)
    except (ValueError, OSError) as e:
        raise UsageError(str(e)) from e


def _plan_folder(src: Path, out_dir: Path, holes: HoleSource, ext: str | None
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
        and not _is_under(f, out_dir) and not any(_is_under(f, d) for d in holes.folders())
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


def _check_folder_outputs(plan: list[tuple[Path, Path, Path]], holes: HoleSource,
                          overwrite: bool) -> None:
    """No output may be an input; existing outputs need ``overwrite``."""
    inputs = {_file_id(p): p for p in [*(f for f, _, _ in plan), *holes.files()]}
    existing = [out for _, _, out in plan if os.path.lexists(out)]
    for out in existing:
        hit = inputs.get(_file_id(out))
        check_output(out, inputs=[hit] if hit else [], overwrite=True)
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UsageError(f"output {str(existing[0])!r} exists{more}; pass --overwrite to "
                         "replace existing outputs")


def inpaint_files(image: str | os.PathLike, output: str | os.PathLike,
                  inpainter: InpainterOrFactory, *, mask: str | os.PathLike | None = None,
                  box: str | None = None, sketch: str | os.PathLike | None = None,
                  ext: str | None = None, overwrite: bool = False,
                  max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Iterator[FileResult]:
    """Fill the holes of the image file ``image`` (or of every image in the folder
    ``image``, recursively) and write the results to ``output`` (a file, or a folder).

    ``inpainter``: an inpainter, or a function building one (it is called only once every
    input and output has been checked, so a bad argument fails before a model loads).
    The hole: ``mask`` (a file, or a folder of masks paired by path or stem) or ``box``
    (``"X,Y,W,H"``); ``sketch``: a file or folder of sketches, paired as masks are.
    ``ext``: the output format of a folder's images (default: each input's own).
    ``max_pixels``: images and masks over this are refused from their header.

    Every check is done by the call: a missing input, an output that is an input, an
    existing output without ``overwrite``, two inputs written to one output, a mask that
    does not exist raise :class:`~context_encoder.errors.UsageError` before any work. It
    returns an iterator of one :class:`FileResult` per image, each filled and written as
    the iteration reaches it (``list(...)`` does them all). A single image that cannot be
    filled raises ``UsageError`` naming it; in a folder, a failure is reported in its
    :class:`FileResult` (``error``) and the others go on.
    """
    src, out = Path(image), Path(output)
    if not src.exists():
        raise UsageError(f"cannot read image {str(src)!r}: no such file or folder")
    ext = output_extension(ext)
    holes = HoleSource(mask, box, sketch, max_pixels)
    if not src.is_dir():
        return iter([_one_file(src, out, holes, inpainter, ext, overwrite)])
    plan = _plan_folder(src, out, holes, ext)
    _check_folder_outputs(plan, holes, overwrite)
    return _fill_folder(plan, holes, _build(inpainter, holes))


def _fill_folder(plan: list[tuple[Path, Path, Path]], holes: HoleSource,
                 inpainter: InpainterBase) -> Iterator[FileResult]:
    for f, rel, dest in plan:
        try:
            yield _fill_file(inpainter, f, dest, holes.read(f, rel))
        except (ValueError, OSError) as e:
            yield FileResult(f, dest, None, str(e))
