"""The HTTP routes, their response schemas and the JSON error handlers.

* ``GET /`` – the editor page (static files shipped in the package, no external assets).
* ``POST /api/v1/inpaint`` – multipart ``image`` file plus a ``mask`` file (non-zero =
  hole) or a ``box=X,Y,W,H`` field; optional ``model`` and ``format`` (``png`` default,
  ``input``, ``jpeg``, ``jpg``, ``webp``), and a ``sketch`` file for a sketch-guided model
  (non-zero = a stroke). Returns the filled image.
* ``GET /api/v1/models`` – the models this server may use, with task, size, convolution
  kind, guide, refinement stage and whether each takes a sketch.
* ``GET /api/v1/health`` – ``{"status": "ok", ...}`` with the limits and current load.

The routes find the :class:`~context_encoder.server.service.Service` at
``request.app.state.service``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import CheckpointError
from ..io.images import MEDIA_TYPES
from ..work import Cancelled
from .errors import ApiError, json_error
from .service import OUTPUT_FORMATS, Job, Result, Service

__all__ = ["STATIC_DIR", "add_error_handlers", "router"]

logger = logging.getLogger(__name__)

#: The page's files (index.html, app.js, style.css).
STATIC_DIR = Path(__file__).resolve().parent / "static"
_BOX_RE = re.compile(r"^\s*-?\d+\s*,\s*-?\d+\s*,\s*-?\d+\s*,\s*-?\d+\s*$")
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; object-src 'none'",
}


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
    conv: str | None = Field(None, description='"plain" or "gated" convolutions (null for '
                                               'auto)')
    guide: str | None = Field(None, description='"none" or "sketch" (null for auto)')
    refine_width: int | None = Field(None, description="width of the refinement stage, 0 for "
                                                       "one stage (null for auto)")
    sketch: bool = Field(False, description="Takes a sketch: send a 'sketch' file with it")
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
    max_uploads: int
    uploading: int
    max_upload_bytes: int
    max_pixels: int
    body_timeout: float


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request, or a sketch for a model "
                                             "without a sketch input"},
    408: {"model": ErrorBody, "description": "The body stopped arriving (body_timeout)"},
    413: {"model": ErrorBody, "description": "Upload or image too large"},
    415: {"model": ErrorBody, "description": "Not an image"},
    422: {"model": ErrorBody, "description": "Mask, box or sketch does not fit the image"},
    503: {"model": ErrorBody, "description": "Server busy (max_queue requests admitted or "
                                             "max_uploads bodies being received); retry "
                                             "after Retry-After seconds"},
}


# ---------------------------------------------------------------------------------------
# Error handlers: every error is {"error": "..."}
# ---------------------------------------------------------------------------------------
def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc)
        msg = str(err.get("msg", "invalid value"))
        parts.append(f"{where}: {msg}" if where else msg)
    return "invalid request: " + ("; ".join(parts) or "malformed body")


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    if exc.status >= 500:
        logger.error("%s %s: %s", request.method, request.url.path, exc.message)
    return json_error(exc.status, exc.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return json_error(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return json_error(400, _validation_message(exc))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("%s %s failed", request.method, request.url.path)
    return json_error(500, "internal server error")


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


# ---------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------
router = APIRouter()


def _service(request: Request) -> Service:
    return request.app.state.service


def _checked_fields(mask: UploadFile | None, box: str | None, format: str | None
                    ) -> tuple[str | None, str]:
    """(box or None, the output format key) of a request; 400 when malformed."""
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
    return box, fmt


async def _processed(service: Service, job: Job, request: Request) -> Result:
    try:
        return await service.inpaint(job, request.is_disconnected)
    except ApiError:
        raise
    except Cancelled as e:  # its client has gone: nobody reads this answer
        logger.info("request stopped: %s", e)
        raise ApiError(503, str(e)) from e
    except CheckpointError as e:
        logger.error("model %s cannot be loaded: %s", job.model, e)
        raise ApiError(500, f"model {job.model!r} cannot be loaded") from e
    except Exception as e:
        logger.exception("inpainting failed")
        raise ApiError(500, f"inpainting failed: {type(e).__name__}") from e


@router.post(
    "/api/v1/inpaint",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()},
                     "description": "The filled image"}, **_ERRORS},
    summary="Fill the hole of an image",
)
async def inpaint(
    request: Request,
    image: Annotated[UploadFile | None, File(
        description="The image (PNG, JPEG, WebP, ...)")] = None,
    mask: Annotated[UploadFile | None, File(
        description="Mask image of the same size, non-zero = hole")] = None,
    box: Annotated[str | None, Form(
        description="A rectangular hole 'X,Y,W,H' in pixels (instead of a mask)")] = None,
    sketch: Annotated[UploadFile | None, File(
        description="Lines to follow inside the hole, non-zero = a stroke, the image's "
                    "size (sketch-guided models only)")] = None,
    model: Annotated[str | None, Form(
        description="Model name (see /api/v1/models)")] = None,
    format: Annotated[str, Form(
        description="png (default), input (the input's format), jpeg or webp")] = "png",
) -> Response:
    """Returns the image with the hole filled; pixels outside the hole are unchanged
    (for lossless output formats)."""
    if image is None:
        raise ApiError(400, "missing 'image' file field")
    box, fmt = _checked_fields(mask, box, format)
    service = _service(request)
    name = service.store.check(model)
    job = Job(await image.read(), await mask.read() if mask is not None else None,
              box, name, fmt)
    if sketch is not None:
        job.sketch = await sketch.read()
    result = await _processed(service, job, request)
    stem = Path(image.filename or "image").stem or "image"
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:80]
    headers = dict(result.headers)
    headers["Content-Disposition"] = f'inline; filename="{stem}-inpainted.{result.extension}"'
    return Response(result.data, media_type=result.media_type, headers=headers)


@router.get("/api/v1/models", response_model=ModelList, summary="The models")
def models(request: Request) -> dict[str, Any]:  # sync: FastAPI runs it in a thread
    store = _service(request).store
    return {"default": store.default, "models": [store.info(n) for n in store.names]}


@router.get("/api/v1/health", response_model=Health, summary="Liveness")
async def health(request: Request) -> dict[str, Any]:
    service = _service(request)
    limits = service.limits
    return {"status": "ok", "version": __version__, "default_model": service.store.default,
            "loaded_models": service.store.loaded(), "device": service.device,
            "workers": limits.workers, "max_queue": limits.max_queue,
            "in_progress": service.in_progress, "max_uploads": limits.max_uploads,
            "uploading": service.uploading, "max_upload_bytes": limits.max_upload_bytes,
            "max_pixels": limits.max_pixels, "body_timeout": limits.body_timeout}


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)
