"""The inpainting web server: a JSON/multipart API and a small editor page.

Routes (the app is built by :func:`create_app`; nothing runs on import):

* ``GET /`` – the editor page (static files shipped in the package, no external assets).
* ``POST /api/v1/inpaint`` – multipart ``image`` file plus a ``mask`` file (non-zero =
  hole) or a ``box=X,Y,W,H`` field; optional ``model`` and ``format``
  (``png`` default, ``input``, ``jpeg``, ``webp``). Returns the filled image.
* ``GET /api/v1/models`` – the models this server may use, with task and size.
* ``GET /api/v1/health`` – ``{"status": "ok", ...}``.
* ``GET /openapi.json`` – the OpenAPI schema.

Every error is JSON ``{"error": "..."}``: 400 malformed request, 413 body over the upload
limit or image over the pixel limit (checked from the header, before decoding), 415 not
an image, 422 mask / box that does not fit the image, 500 unexpected failures, 503 server
busy (with ``Retry-After``), 400 as well for a Host header not in ``trusted_hosts``.

Decoding, inference and encoding run in a bounded thread pool, so the event loop keeps
serving other requests meanwhile (torch releases the GIL while it computes). Requests
with a body are admitted at most ``max_queue`` at once (being read, waiting for a worker
or processed); the others are answered 503 before their body is read, so memory stays
bounded by about ``max_queue`` x the upload limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import ipaddress
import json
import logging
import re
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..checkpoint import CheckpointError, list_pretrained, resolve_model_path
from ..inference import Inpainter, box_mask

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "STATIC_DIR", "ApiError", "create_app"]

logger = logging.getLogger(__name__)

#: The page's files (index.html, app.js, style.css).
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: ``format`` values of ``POST /api/v1/inpaint`` -> PIL format name (``input``: the
#: input's own format where it is one of these, else PNG).
OUTPUT_FORMATS: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
_WRITABLE = {"PNG", "JPEG", "WEBP", "BMP", "TIFF"}
_ALIASES = {"MPO": "JPEG"}  # multi-picture JPEGs (many phone cameras)
_MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp",
                "BMP": "image/bmp", "TIFF": "image/tiff"}
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}
#: Formats accepted from uploads (no EPS / PDF and the like: PIL would run external tools).
INPUT_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "MPO", "WEBP", "BMP", "TIFF", "GIF", "PPM",
                                  "TGA", "AVIF")
_BOX_RE = re.compile(r"^\s*-?\d+\s*,\s*-?\d+\s*,\s*-?\d+\s*,\s*-?\d+\s*$")
_DECODE_ERRORS = (OSError, UnidentifiedImageError, SyntaxError, ValueError, TypeError,
                  EOFError, IndexError, KeyError, struct.error)


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------------------
# Request body limit: Content-Length checked up front, bytes counted while reading
# ---------------------------------------------------------------------------------------
def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes: at once when Content-Length says so,
    else as soon as the received bytes pass the limit (chunked or lying clients)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"request body is over the upload limit of {_mb(self.limit)}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await _json_error(400, "malformed Content-Length header")(scope, receive, send)
                    return
                if declared > self.limit:
                    resp = _json_error(413, self._message(), {"Connection": "close"})
                    await resp(scope, receive, send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # FastAPI re-raises HTTPExceptions met while parsing the body, so this
                    # reaches the app's handler and becomes a JSON 413.
                    raise StarletteHTTPException(413, self._message(), {"Connection": "close"})
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except StarletteHTTPException as e:
            if e.status_code != 413 or started:
                raise
            await _json_error(413, str(e.detail), {"Connection": "close"})(scope, receive, send)


class _AdmissionMiddleware:
    """Admit at most ``service.max_queue`` requests with a body at once (being read,
    waiting for a worker or processed); answer the others 503 with ``Retry-After`` at
    once, before reading their body. GET / HEAD / OPTIONS requests (page, health, models)
    are never refused.

    The count lives on the event loop (no lock needed) and is released when the response
    ends, however the request ends: success, error response, exception or disconnect."""

    _BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, service: _Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET") in self._BODYLESS:
            await self.app(scope, receive, send)
            return
        service = self.service
        if service.in_progress >= service.max_queue:
            message = f"server busy: {service.in_progress} requests in progress; retry later"
            await _json_error(503, message, {"Retry-After": "1"})(scope, receive, send)
            return
        service.in_progress += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                service.in_progress -= 1

        async def releasing_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()  # before the last bytes leave: the client may send its next at once
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            release()


# ---------------------------------------------------------------------------------------
# Host header check (DNS rebinding protection for servers bound to loopback)
# ---------------------------------------------------------------------------------------
_HOST_RE = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[^\[\]:/@\s]+))(?::\d{0,5})?")


def _normal_host(host: str) -> str:
    """A host name lower case, an IP literal in its canonical form, without brackets."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def _host_of(header: str) -> str | None:
    """The host of a Host header value (port dropped, normalised); None when malformed."""
    m = _HOST_RE.fullmatch(header.strip().lower())
    if m is None:
        return None
    if m["v6"] is not None:
        try:
            return ipaddress.IPv6Address(m["v6"]).compressed
        except ValueError:
            return None
    return _normal_host(m["name"])


class _TrustedHostMiddleware:
    """Refuse requests whose Host header (any port) is not one of ``hosts``: 400 JSON.

    Like Starlette's TrustedHostMiddleware, but answers JSON, handles ``[::1]:8000`` on
    every Starlette version and compares IP literals in canonical form. A page on another
    site that rebinds its name to 127.0.0.1 still sends its own name as Host: refused."""

    def __init__(self, app: ASGIApp, hosts: list[str]) -> None:
        self.app = app
        self.hosts = frozenset(_normal_host(h) for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope.get("headers", []) if k == b"host"]
        value = values[0].decode("latin-1") if len(values) == 1 else ""
        if _host_of(value) in self.hosts:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        shown = value if len(value) <= 100 else value[:100] + "..."
        reason = "missing or repeated Host header" if len(values) != 1 else (
            f"Host header {shown!r} is not allowed by this server")
        await _json_error(400, reason)(scope, receive, send)


def _mb(n: int) -> str:
    """A byte count for messages: ``20 MB``, ``9.8 kB``, ``500 bytes``."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} kB"
    return f"{n} bytes"


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------
def _shipped() -> list[str]:
    """The shipped model names (none when the package holds no weights folder)."""
    try:
        return list_pretrained()
    except OSError:
        return []


def _public_name(model: str) -> str:
    """The name clients use for the startup model: a shipped name as is, a path by its
    file (or folder) name, never the full path."""
    if model in _shipped():
        return model
    p = Path(model)
    return p.name[: -len(".safetensors")] if p.name.endswith(".safetensors") else p.name


def _model_info(name: str, path: str | Path) -> dict[str, Any]:
    """Task, size and bottleneck of a model file from its metadata (no weights read)."""
    info: dict[str, Any] = {"name": name, "task": None, "image_size": None, "bottleneck": None}
    try:
        from safetensors import safe_open

        p = Path(path)
        if p.is_file():
            with safe_open(str(p), framework="pt") as f:
                cfg = json.loads((f.metadata() or {}).get("model_config", "{}"))
            info.update(task=cfg.get("task", "center"), image_size=cfg.get("image_size", 128),
                        bottleneck=cfg.get("bottleneck", "fc"))
    except Exception as e:  # noqa: BLE001 - metadata is best effort
        logger.warning("cannot read the metadata of model %s: %s", name, e)
    return info


class _ModelStore:
    """The startup model plus the shipped models, loaded once each on first use.

    Only these names are accepted from requests: a request can never make the server
    open a path of its choosing."""

    def __init__(self, model: str, device: str) -> None:
        self.device = device
        self.default = _public_name(model)
        self._source: dict[str, str] = {n: n for n in _shipped()}
        self._source[self.default] = model
        self._loaded: dict[str, Inpainter] = {}
        self._lock = threading.Lock()
        self._info: dict[str, dict[str, Any]] = {}

    @property
    def names(self) -> list[str]:
        return [self.default] + sorted(n for n in self._source if n != self.default)

    def check(self, name: str | None) -> str:
        """The model to use for a request's ``model`` field (400 when unknown)."""
        if name is None or name.strip() == "":
            return self.default
        if name not in self._source:
            raise ApiError(400, f"unknown model {name!r}; this server has: "
                                f"{', '.join(self.names)}")
        return name

    def get(self, name: str) -> Inpainter:
        """The loaded inpainter (loads it on first use; call from a worker thread)."""
        inp = self._loaded.get(name)
        if inp is not None:
            return inp
        with self._lock:
            inp = self._loaded.get(name)
            if inp is None:
                t0 = time.perf_counter()
                inp = Inpainter.from_pretrained(self._source[name], device=self.device)
                self._loaded[name] = inp
                logger.info("model %s loaded in %.2f s (%r)", name, time.perf_counter() - t0, inp)
        return inp

    def loaded(self) -> list[str]:
        return [n for n in self.names if n in self._loaded]

    def info(self, name: str) -> dict[str, Any]:
        inp = self._loaded.get(name)
        if inp is not None:
            c = inp.config
            out = {"name": name, "task": c.task, "image_size": c.image_size,
                   "bottleneck": c.bottleneck}
        else:
            if name not in self._info:
                try:
                    path = resolve_model_path(self._source[name])
                except CheckpointError:
                    path = Path("")
                self._info[name] = _model_info(name, path)
            out = dict(self._info[name])
        out["loaded"] = name in self._loaded
        out["default"] = name == self.default
        return out


# ---------------------------------------------------------------------------------------
# Decoding, inpainting and encoding (run in the worker pool)
# ---------------------------------------------------------------------------------------
@dataclass
class _Decoded:
    """A decoded upload: a PIL image, or a 16-bit colour array PIL cannot hold."""

    image: Image.Image | None
    array: np.ndarray | None
    format: str | None
    icc_profile: bytes | None = None
    size: tuple[int, int] = (0, 0)  # width, height


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    from ..io.images import apply_exif_orientation

    return np.ascontiguousarray(apply_exif_orientation(a, orientation))


def _is_16bit_colour(data: bytes, im: Image.Image) -> bool:
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        return len(data) > 24 and data[24] == 16  # IHDR bit depth
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        bits = bits if isinstance(bits, tuple) else (bits,)
        return bool(bits) and bits[0] == 16
    return False


def _open_checked(data: bytes, what: str, max_pixels: int) -> _Decoded:
    """Decode an upload, refusing images over ``max_pixels`` from their header alone."""
    if not data:
        raise ApiError(415, f"{what} is empty")
    try:
        im = Image.open(io.BytesIO(data), formats=INPUT_FORMATS)
    except Image.DecompressionBombError as e:
        raise ApiError(413, f"{what} is too large: {e}") from e
    except _DECODE_ERRORS as e:
        raise ApiError(415, f"{what} is not an image in a format the server reads "
                            f"({', '.join(INPUT_FORMATS)})") from e
    w, h = im.size  # from the header: nothing decoded yet
    if w * h > max_pixels:
        raise ApiError(
            413, f"{what} is {w}x{h} = {w * h / 1e6:.3g} megapixels, over the limit of "
                 f"{max_pixels / 1e6:.3g} megapixels"
        )
    if w == 0 or h == 0:
        raise ApiError(415, f"{what} is empty ({w}x{h})")
    fmt = im.format
    icc = im.info.get("icc_profile")
    try:
        orientation = int(im.getexif().get(0x0112, 1) or 1)
    except _DECODE_ERRORS:
        orientation = 1
    try:
        if _is_16bit_colour(data, im):
            a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            if a is not None and a.dtype == np.uint16 and a.ndim == 3 and a.shape[2] in (3, 4):
                code = cv2.COLOR_BGR2RGB if a.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
                a = _orient(cv2.cvtColor(a, code), orientation)
                return _Decoded(None, a, fmt, icc, (a.shape[1], a.shape[0]))
        im.load()
        im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as e:
        raise ApiError(413, f"{what} is too large: {e}") from e
    except _DECODE_ERRORS as e:
        raise ApiError(415, f"{what} could not be decoded (corrupt or truncated?): {e}") from e
    return _Decoded(im, None, fmt, icc, im.size)


def _mask_from(dec: _Decoded) -> np.ndarray:
    """Non-zero in any colour channel = hole; an alpha channel is ignored."""
    if dec.array is not None:
        return dec.array[..., :3].any(axis=2)
    img = dec.image
    assert img is not None
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("1", "L", "I", "I;16", "I;16L", "I;16B", "F"):
        return np.asarray(img) != 0
    if img.mode == "LA":
        return np.asarray(img)[..., 0] != 0
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGB")
    return np.asarray(img)[..., :3].any(axis=2)


def _to_8bit(img: Image.Image) -> Image.Image:
    """8-bit ``L`` / ``RGB`` / ``RGBA`` / ``LA`` version of an image (for JPEG and WebP)."""
    if img.mode in ("I", "I;16", "I;16L", "I;16B"):
        a = np.asarray(img).astype(np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if img.mode == "F":
        a = np.asarray(img).astype(np.float64) * 255.0
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if img.mode in ("L", "RGB", "RGBA", "LA"):
        return img
    return img.convert("RGBA" if img.has_transparency_data else "RGB")


def _encode(result: Image.Image | np.ndarray, fmt: str, icc: bytes | None) -> bytes:
    """The result as ``fmt`` bytes; 16 bits kept in PNG and TIFF, 8 bits elsewhere."""
    if isinstance(result, np.ndarray):  # 16-bit colour
        if fmt in ("PNG", "TIFF"):
            code = cv2.COLOR_RGB2BGR if result.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
            ok, enc = cv2.imencode(".png" if fmt == "PNG" else ".tiff", cv2.cvtColor(result, code))
            if not ok:
                raise RuntimeError("OpenCV could not encode the result")
            return enc.tobytes()
        result = Image.fromarray(np.rint(result / 257.0).astype(np.uint8))
    img = result
    kwargs: dict[str, Any] = {}
    if img.mode == "F":
        img = _to_8bit(img)
    if fmt == "JPEG":
        img = _to_8bit(img)
        if img.mode in ("RGBA", "LA"):
            img = img.convert("RGB" if img.mode == "RGBA" else "L")
        kwargs["quality"] = 95
    elif fmt == "WEBP":
        img = _to_8bit(img)
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if img.mode == "LA" else "RGB")
        kwargs["quality"] = 95
    if icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kwargs["icc_profile"] = icc
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **kwargs)
    except (OSError, ValueError, KeyError):
        buf = io.BytesIO()
        img = _to_8bit(img)
        img = img if img.mode in ("L", "RGB", "RGBA") else img.convert("RGB")
        img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _output_format(requested: str, input_format: str | None) -> str:
    if requested == "input":
        fmt = _ALIASES.get(input_format or "", input_format or "")
        return fmt if fmt in _WRITABLE else "PNG"
    return OUTPUT_FORMATS[requested]


def _size_text(w: int, h: int) -> str:
    return f"{w}x{h}"


@dataclass
class _Job:
    image: bytes
    mask: bytes | None
    box: str | None
    model: str
    format: str


@dataclass
class _Result:
    data: bytes
    media_type: str
    extension: str
    headers: dict[str, str]


class _Service:
    """The state behind the routes: models, limits and the worker pool."""

    def __init__(self, store: _ModelStore, *, max_upload_bytes: int, max_pixels: int,
                 workers: int, max_queue: int) -> None:
        self.store = store
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        self.workers = workers
        self.max_queue = max_queue
        #: Requests admitted now (see _AdmissionMiddleware; only touched on the event loop).
        self.in_progress = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                                thread_name_prefix="inpaint")
            return self._pool

    def shutdown(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args))

    def process(self, job: _Job) -> _Result:
        """Decode, check, inpaint and encode one request (in a worker thread)."""
        t0 = time.perf_counter()
        dec = _open_checked(job.image, "image", self.max_pixels)
        w, h = dec.size
        if job.mask is not None:
            mdec = _open_checked(job.mask, "mask", self.max_pixels)
            if mdec.size != dec.size:
                raise ApiError(422, f"mask size {_size_text(*mdec.size)} does not match the "
                                    f"image size {_size_text(w, h)} (width x height)")
            hole = _mask_from(mdec)
        else:
            assert job.box is not None
            try:
                hole = box_mask((h, w), job.box)
            except ValueError as e:
                raise ApiError(422, str(e)) from e
        if hole.all():
            raise ApiError(422, f"the mask covers the whole {_size_text(w, h)} image: there "
                                "is no context to inpaint from")
        headers = {"X-Model": job.model, "X-Image-Size": _size_text(w, h)}
        source: Image.Image | np.ndarray = dec.array if dec.array is not None else dec.image
        if not hole.any():
            headers["X-Warning"] = "the mask is empty: the image is returned unchanged"
            result = source
        else:
            inpainter = self.store.get(job.model)
            t1 = time.perf_counter()
            try:
                if dec.array is not None:
                    result = inpainter.inpaint_array(dec.array, hole)
                else:
                    result = inpainter(dec.image, hole)
            except ValueError as e:  # the inpainter's checks (sizes, full masks, modes)
                raise ApiError(422, str(e)) from e
            headers["X-Inference-Ms"] = f"{(time.perf_counter() - t1) * 1000:.1f}"
        fmt = _output_format(job.format, dec.format)
        data = _encode(result, fmt, dec.icc_profile)
        headers["X-Total-Ms"] = f"{(time.perf_counter() - t0) * 1000:.1f}"
        return _Result(data, _MEDIA_TYPES[fmt], _EXTENSIONS[fmt], headers)


# ---------------------------------------------------------------------------------------
# Response schemas (for the OpenAPI document)
# ---------------------------------------------------------------------------------------
class ErrorBody(BaseModel):
    error: str


class ModelEntry(BaseModel):
    name: str
    task: str | None
    image_size: int | None
    bottleneck: str | None
    loaded: bool
    default: bool


class ModelList(BaseModel):
    default: str
    models: list[ModelEntry]


class Health(BaseModel):
    status: str
    version: str
    default_model: str
    loaded_models: list[str]
    device: str
    workers: int
    max_queue: int
    in_progress: int
    max_upload_bytes: int
    max_pixels: int


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request"},
    413: {"model": ErrorBody, "description": "Upload or image too large"},
    415: {"model": ErrorBody, "description": "Not an image"},
    422: {"model": ErrorBody, "description": "Mask or box does not fit the image"},
    503: {"model": ErrorBody, "description": "Server busy (max_queue requests admitted); "
                                             "retry after Retry-After seconds"},
}


# ---------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------
def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc)
        msg = str(err.get("msg", "invalid value"))
        parts.append(f"{where}: {msg}" if where else msg)
    return "invalid request: " + ("; ".join(parts) or "malformed body")


def create_app(
    model: str = Inpainter.DEFAULT_MODEL,
    *,
    device: str = "auto",
    max_upload_bytes: int = 20 * 1024 * 1024,
    max_pixels: int = 40_000_000,
    workers: int = 2,
    max_queue: int | None = None,
    trusted_hosts: list[str] | None = None,
) -> FastAPI:
    """Build the server: load ``model`` (a shipped name or a path; the default model of
    requests), and serve the API and the page.

    ``max_upload_bytes`` bounds the request body, ``max_pixels`` the width x height of
    uploaded images (checked from the header before decoding); ``workers`` is the number
    of requests decoded / inpainted / encoded at the same time, ``max_queue`` (default
    4 x ``workers``) the number of requests with a body admitted at once, processed or
    waiting: more are answered 503 with ``Retry-After: 1`` before their body is read.
    ``trusted_hosts`` (default None: any) are the Host header values accepted, any port
    (``serve`` passes the loopback names when bound to loopback: DNS rebinding protection);
    others are answered 400. Other shipped models named in requests are loaded on first
    use and kept. Raises
    :class:`~context_encoder.checkpoint.CheckpointError` when ``model`` cannot be loaded.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if max_upload_bytes < 1:
        raise ValueError(f"max_upload_bytes must be >= 1, got {max_upload_bytes}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    if max_queue is None:
        max_queue = 4 * workers
    if max_queue < 1:
        raise ValueError(f"max_queue must be >= 1, got {max_queue}")
    if trusted_hosts is not None:
        trusted_hosts = [h for h in trusted_hosts if h.strip()]
        if not trusted_hosts:
            raise ValueError("trusted_hosts is empty: no request could be served")
        if "*" in trusted_hosts:
            trusted_hosts = None
    # PIL refuses images over 2x MAX_IMAGE_PIXELS at open (DecompressionBombError); our own
    # check from the header comes first, so only raise PIL's limit when ours is higher.
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels

    store = _ModelStore(str(model), device)
    first = store.get(store.default)  # load the default model now: fail fast
    service = _Service(store, max_upload_bytes=max_upload_bytes, max_pixels=max_pixels,
                       workers=workers, max_queue=max_queue)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("serving %s on %s with %d workers, %d requests admitted at most",
                    store.default, first.device, workers, max_queue)
        try:
            yield
        finally:
            service.shutdown()

    app = FastAPI(
        title="Context Encoder inpainting",
        version=__version__,
        description="Fill holes in images with a Context Encoder (Pathak et al., CVPR 2016).",
        docs_url=None,  # the Swagger / ReDoc pages load assets from a CDN; the schema stays
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.trusted_hosts = trusted_hosts
    # The last added runs first: Host check, then body limit, then admission (a body over
    # the limit by its Content-Length is refused without taking a place).
    app.add_middleware(_AdmissionMiddleware, service=service)
    app.add_middleware(_BodyLimitMiddleware, limit=max_upload_bytes)
    if trusted_hosts is not None:
        app.add_middleware(_TrustedHostMiddleware, hosts=trusted_hosts)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status >= 500:
            logger.error("%s %s: %s", request.method, request.url.path, exc.message)
        return _json_error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json_error(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _json_error(400, _validation_message(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("%s %s failed", request.method, request.url.path)
        return _json_error(500, "internal server error")

    @app.post(
        "/api/v1/inpaint",
        response_class=Response,
        responses={200: {"content": {t: {} for t in _MEDIA_TYPES.values()},
                         "description": "The filled image"}, **_ERRORS},
        summary="Fill the hole of an image",
    )
    async def inpaint(
        image: Annotated[UploadFile | None, File(
            description="The image (PNG, JPEG, WebP, ...)")] = None,
        mask: Annotated[UploadFile | None, File(
            description="Mask image of the same size, non-zero = hole")] = None,
        box: Annotated[str | None, Form(
            description="A rectangular hole 'X,Y,W,H' in pixels (instead of a mask)")] = None,
        model: Annotated[str | None, Form(
            description="Model name (see /api/v1/models)")] = None,
        format: Annotated[str, Form(
            description="png (default), input (the input's format), jpeg or webp")] = "png",
    ) -> Response:
        """Returns the image with the hole filled; pixels outside the hole are unchanged
        (for lossless output formats)."""
        if image is None:
            raise ApiError(400, "missing 'image' file field")
        if box is not None and box.strip() == "":
            box = None
        if (mask is None) == (box is None):
            raise ApiError(400, "give exactly one of a 'mask' file or a 'box' field "
                                f"({'both were' if mask is not None else 'neither was'} given)")
        if box is not None and not _BOX_RE.match(box):
            raise ApiError(400, f"box {box!r} is malformed: expected X,Y,W,H as four integers")
        fmt = (format or "png").strip().lower()
        if fmt != "input" and fmt not in OUTPUT_FORMATS:
            raise ApiError(400, f"format {format!r} is not one of png, input, jpeg, webp")
        name = store.check(model)
        job = _Job(await image.read(), await mask.read() if mask is not None else None,
                   box, name, fmt)
        try:
            result: _Result = await service.run(service.process, job)
        except ApiError:
            raise
        except CheckpointError as e:
            logger.error("model %s cannot be loaded: %s", name, e)
            raise ApiError(500, f"model {name!r} cannot be loaded") from e
        except Exception as e:
            logger.exception("inpainting failed")
            raise ApiError(500, f"inpainting failed: {type(e).__name__}") from e
        stem = Path(image.filename or "image").stem or "image"
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:80]
        headers = dict(result.headers)
        headers["Content-Disposition"] = f'inline; filename="{stem}-inpainted.{result.extension}"'
        return Response(result.data, media_type=result.media_type, headers=headers)

    @app.get("/api/v1/models", response_model=ModelList, summary="The models")
    def models() -> dict[str, Any]:  # sync: FastAPI runs it in a thread (reads headers)
        return {"default": store.default, "models": [store.info(n) for n in store.names]}

    @app.get("/api/v1/health", response_model=Health, summary="Liveness")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "default_model": store.default,
                "loaded_models": store.loaded(), "device": str(first.device),
                "workers": workers, "max_queue": max_queue,
                "in_progress": service.in_progress, "max_upload_bytes": max_upload_bytes,
                "max_pixels": max_pixels}

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(
            STATIC_DIR / "index.html",
            headers={
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                           "style-src 'self'; script-src 'self'; "
                                           "connect-src 'self'; object-src 'none'",
            },
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
