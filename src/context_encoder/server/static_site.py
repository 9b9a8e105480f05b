"""The editor page as a static site that fills holes in the browser itself: no inference
server, only files (``context-encoder export MODEL --format web -o DIR``).

The folder holds ``index.html`` (the server's page, marked ``data-inference="browser"``),
``static/`` (the page's script and style, :file:`inpaint.js`: the Python pipeline's pixel
work in JavaScript, and ``ort/``: ONNX Runtime Web, WebAssembly with WebGPU where the
browser has it), ``models/NAME.onnx`` (the generator, :func:`~context_encoder.onnx_model.
export_onnx`) and ``models.json`` (what the page lists, with each model's window geometry,
mean colour and seam width). The page asks nothing of any other host.

ONNX Runtime Web is not in the repository: ``make`` installs it from the npm registry
(``web/package.json``, pinned in ``web/package-lock.json``) and copies its files into
:data:`RUNTIME_DIR`, which :func:`export_site` copies into each site.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..checkpoint import load_generator, model_name
from ..errors import UsageError
from ..inference.windows import MAX_FEATHER
from ..io.files import atomic_dir, check_output_dir
from ..models import MEAN_FILL
from ..onnx_model import export_onnx

__all__ = ["DEFAULT_FEATHER", "RUNTIME_DIR", "RUNTIME_FILES", "STATIC_DIR", "check_site_output",
           "export_site", "is_site", "model_entry"]

STATIC_DIR = Path(__file__).parent / "static"
#: ONNX Runtime Web's files, copied here from npm by ``make`` (git-ignored).
RUNTIME_DIR = STATIC_DIR / "ort"
#: The build with both execution providers (WebAssembly and WebGPU) and its WebAssembly.
RUNTIME_FILES = ("ort.min.js", "ort-wasm-simd-threaded.jsep.mjs",
                 "ort-wasm-simd-threaded.jsep.wasm")
#: The seam blend of the page's fills: the server's (``Inpainter``'s default).
DEFAULT_FEATHER = 2
_PAGE_FILES = ("app.js", "style.css", "inpaint.js")


def model_entry(config: Any, name: str, file: str, feather: int = DEFAULT_FEATHER) -> dict:
    """What the page needs of one model: its listing (as ``api/v1/models`` gives it) and
    the numbers of its window geometry (:class:`~context_encoder.inference.windows.
    WindowGeometry`) and model input."""
    return {"name": name, "file": file, "task": config.task, "image_size": config.image_size,
            "sketch": config.guide == "sketch", "hole_size": config.hole_size,
            "center_span": list(config.center_span), "blank_span": list(config.blank_span),
            "blank_size": config.blank_size, "mean_fill": [float(v) for v in MEAN_FILL],
            "feather": int(feather)}


def _check_runtime() -> None:
    missing = [f for f in RUNTIME_FILES if not (RUNTIME_DIR / f).is_file()]
    if missing:
        raise UsageError(f"the browser's runtime (ONNX Runtime Web) is not built: "
                         f"{', '.join(missing)} missing in {RUNTIME_DIR}; run `make install` "
                         "(it needs npm) in the repository")


def _page(html: str) -> str:
    """The server's page, marked to fill in the browser and loading the runtime and the
    pipeline before the editor."""
    tag = '<script src="static/app.js"></script>'
    if tag not in html or '<html lang="en">' not in html:
        raise RuntimeError("index.html has changed: update static_site._page")
    scripts = "\n  ".join(f'<script src="static/{f}"></script>'
                          for f in ("ort/ort.min.js", "inpaint.js", "app.js"))
    return html.replace(tag, scripts).replace('<html lang="en">',
                                              '<html lang="en" data-inference="browser">')


def is_site(folder: Path) -> bool:
    """Whether ``folder`` holds a site :func:`export_site` wrote (its ``models.json`` and
    its browser page): the only folder ``--overwrite`` replaces."""
    page = folder / "index.html"
    try:
        return (folder / "models.json").is_file() and page.is_file() and \
            'data-inference="browser"' in page.read_text(errors="replace")
    except OSError:
        return False


def check_site_output(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """The folder to write a site to, resolved; :class:`UsageError` for a file, a path below
    a file, the current folder or one above it, and an existing non-empty folder (with
    ``overwrite``, one that is not an earlier site: replacing it would delete the rest)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {str(out)!r} is a file; --format web writes a folder")
    check_output_dir(out)
    resolved = out.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise UsageError(f"output {str(out)!r} is the current folder or holds it; name a new "
                         "folder for the site")
    if resolved.exists() and any(resolved.iterdir()):
        if not overwrite:
            raise UsageError(f"output {str(out)!r} exists and is not empty; pass --overwrite "
                             "to replace a site written earlier")
        if not is_site(resolved):
            raise UsageError(f"output {str(out)!r} is not a site written by export --format "
                             "web (no models.json and browser index.html); --overwrite "
                             "replaces only such a folder, so nothing else is deleted")
    return resolved


def export_site(src: str | os.PathLike, out: str | os.PathLike, *, which: str = "best",
                overwrite: bool = False, feather: int = DEFAULT_FEATHER) -> Path:
    """Write the static site for model ``src`` (a shipped name, an exported ``.safetensors``
    file or a run folder) to the folder ``out``, built beside it and renamed into place (a
    failure leaves nothing). An existing non-empty ``out`` is refused, and with
    ``overwrite`` replaced only when it is a site written earlier (:func:`check_site_output`)."""
    if not 0 <= feather <= MAX_FEATHER:
        raise UsageError(f"feather must be in 0..{MAX_FEATHER} px, got {feather}")
    out = check_site_output(out, overwrite)
    _check_runtime()
    name = model_name(src)
    config = load_generator(src, device="cpu", which=which)[1]["config"]
    with atomic_dir(out) as tmp:
        (tmp / "static" / "ort").mkdir(parents=True)
        for f in _PAGE_FILES:
            shutil.copyfile(STATIC_DIR / f, tmp / "static" / f)
        for f in RUNTIME_FILES:
            shutil.copyfile(RUNTIME_DIR / f, tmp / "static" / "ort" / f)
        (tmp / "index.html").write_text(_page((STATIC_DIR / "index.html").read_text()))
        file = f"models/{name}.onnx"
        export_onnx(src, tmp / file, which=which)
        listing = {"default": name, "models": [model_entry(config, name, file, feather)]}
        (tmp / "models.json").write_text(json.dumps(listing, indent=1) + "\n")
    return out
