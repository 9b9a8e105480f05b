"""The inpainting web server: a JSON/multipart API and a small editor page, built by
:func:`create_app` (nothing runs on import).

Where things are: the routes and their schemas in :mod:`.routes`, the limits, worker pool
and processing of one request in :mod:`.service`, the models in :mod:`.store`, the
middlewares (Host check, body reading, admission) in :mod:`.middleware`.

Every error is JSON ``{"error": "..."}``: 400 malformed request (or a Host header not in
``trusted_hosts``), 408 a body that stopped arriving, 413 body over the upload limit or
image over the pixel limit (checked from the header, before decoding), 415 not an image,
422 mask / box that does not fit the image, 500 unexpected failures, 503 server busy (with
``Retry-After``) or a request over its time limit.

A request's body is received first (at most ``max_uploads`` at once, each within
``body_timeout`` seconds of silence), then the request is admitted (at most ``max_queue``
waiting for a worker or processed); decoding, inference and encoding run in a pool of
``workers`` threads, so the event loop keeps serving other requests meanwhile (torch
releases the GIL while it computes).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..inference.adapt import check_steps
from ..io.images import DEFAULT_MAX_PIXELS, INPUT_FORMATS
from .defaults import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_WORKERS,
)
from .errors import ApiError
from .middleware import AdmissionMiddleware, TrustedHostMiddleware, UploadMiddleware
from .routes import STATIC_DIR, add_error_handlers, router
from .service import OUTPUT_FORMATS, Limits, Service
from .store import ModelStore

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "STATIC_DIR", "ApiError", "create_app"]

logger = logging.getLogger(__name__)


def _checked_hosts(trusted_hosts: list[str] | None) -> list[str] | None:
    if trusted_hosts is None:
        return None
    hosts = [h for h in trusted_hosts if h.strip()]
    if not hosts:
        raise ValueError("trusted_hosts is empty: no request could be served")
    return None if "*" in hosts else hosts


def create_app(
    model: str | None = None,
    *,
    device: str = "auto",
    adapt_steps: int = 0,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int = DEFAULT_WORKERS,
    max_queue: int | None = None,
    max_uploads: int | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    trusted_hosts: list[str] | None = None,
) -> FastAPI:
    """Build the server: load ``model`` (a shipped name or a path; default
    ``facades-freeform-128``), and serve the API and the page. Requests choose ``auto``
    (the first in the list: per hole, the best of ``model`` and the classical methods,
    tested on the photo itself; with ``adapt_steps`` > 0 also ``model`` fine-tuned on the
    photo), ``model`` or another shipped model; without a ``model`` field they get
    ``model`` (what a burst of requests can afford; ``model="auto"`` makes ``auto`` the
    default, over the shipped model). ``auto`` requests run in a lane of their own with
    half the workers (at least one), so requests naming a model pass them.

    ``max_upload_bytes`` bounds the request body, ``max_pixels`` the width x height of
    uploaded images (checked from the header before decoding); ``workers`` is the number
    of requests decoded / inpainted / encoded at the same time, ``max_queue`` (default
    4 x ``workers``) the number of received requests admitted at once, processed or
    waiting; ``max_uploads`` (default 2 x ``max_queue``) the number of bodies received at
    once, each dropped (408) after ``body_timeout`` seconds without data. More requests are
    answered 503 with ``Retry-After: 1``. A request's work stops when it has taken
    ``request_timeout`` seconds (waiting included; answered 503) or its client has gone. ``trusted_hosts`` (default None: any) are the
    Host header values accepted, any port (``serve`` passes the loopback names when bound
    to loopback: DNS rebinding protection); others are answered 400. Other shipped models
    named in requests are loaded on first use and kept. Raises ``ValueError`` for a limit
    out of range and :class:`~context_encoder.errors.CheckpointError` when ``model``
    cannot be loaded.
    """
    limits = Limits(max_upload_bytes=max_upload_bytes, max_pixels=max_pixels, workers=workers,
                    max_queue=max_queue, max_uploads=max_uploads, body_timeout=body_timeout,
                    request_timeout=request_timeout)
    trusted_hosts = _checked_hosts(trusted_hosts)

    check_steps(adapt_steps, "adapt_steps")
    store = ModelStore(None if model is None else str(model), device, adapt_steps)
    store.get(store.default)  # load the default model (and auto's) now: fail fast
    service = Service(store, limits, device=str(store.get(store.model).device))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("serving %s on %s with %d workers, %d requests admitted at most",
                    store.default, service.device, limits.workers, limits.max_queue)
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
    # The last added runs first: Host check, then the body, then admission.
    app.add_middleware(AdmissionMiddleware, service=service)
    app.add_middleware(UploadMiddleware, service=service)
    if trusted_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, hosts=trusted_hosts)
    add_error_handlers(app)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
