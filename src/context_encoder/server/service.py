"""The work behind ``POST /api/v1/inpaint``: the server's limits, the worker pools and the
processing of one request (decode, check, inpaint, encode), all image bytes going through
:mod:`context_encoder.io.images`.

Two pools: requests for ``auto`` (which probes several methods on each photo, and may adapt
the model) run in a lane of their own with half the workers (at least one), so a request
naming a model never waits behind them. Each request has a time limit
(``Limits.request_timeout``, waiting included) and stops when its client has gone: the
work stops at its next step (:func:`context_encoder.work.tick`), and the worker is free.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..inference import AUTO
from ..inference.files import BYTES_PER_PIXEL
from ..io.images import (
    DEFAULT_MAX_PIXELS,
    MEDIA_TYPES,
    WRITE_FORMATS,
    box_mask,
    decode_image,
    decode_mask,
    encode_image,
    output_format_for,
    size_text,
)
from ..runtime import check_fits, check_workers
from ..work import Cancelled, watched
from .defaults import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_WORKERS,
)
from .errors import ApiError, image_errors
from .store import ModelStore

__all__ = ["EXTENSIONS", "OUTPUT_FORMATS", "POLL_S", "Job", "Limits", "Result", "Service"]

#: Seconds between two checks whether a waiting request's client has gone.
POLL_S = 0.2

#: ``format`` values of a request -> the format written (``input``, also accepted, keeps
#: the input's format where the server writes it, else PNG).
OUTPUT_FORMATS: dict[str, str] = {ext[1:]: fmt for ext, fmt in WRITE_FORMATS.items()
                                   if fmt in ("PNG", "JPEG", "WEBP")}
#: File extension of each written format (the first of its extensions).
EXTENSIONS: dict[str, str] = {fmt: ext[1:] for ext, fmt in reversed(WRITE_FORMATS.items())}


@dataclass
class Limits:
    """What one server accepts at once. ``max_queue`` (default 4 x ``workers``) bounds the
    requests waiting for a worker or processed, ``max_uploads`` (default 2 x
    ``max_queue``) the request bodies being received; memory stays bounded by about
    ``(max_uploads + max_queue)`` x ``max_upload_bytes`` plus the decoded images.
    ``request_timeout``: seconds a request may take once admitted (503 past it)."""

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    workers: int = DEFAULT_WORKERS
    max_queue: int | None = None
    max_uploads: int | None = None
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_queue is None:
            self.max_queue = 4 * self.workers
        if self.max_uploads is None:
            self.max_uploads = 2 * self.max_queue
        for name in ("max_queue", "max_uploads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("body_timeout", "request_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        check_workers(self.workers, "--workers (workers)")
        # what can be held at once: the bodies received and admitted, and the images the
        # workers decode and inpaint
        check_fits((self.max_uploads + self.max_queue) * self.max_upload_bytes
                   + self.workers * self.max_pixels * BYTES_PER_PIXEL,
                   f"{self.max_uploads} uploads and {self.max_queue} requests of "
                   f"{self.max_upload_bytes / 2**20:,.0f} MB, {self.workers} workers on images "
                   f"of {self.max_pixels / 1e6:,.0f} megapixels",
                   "lower --max-uploads, --max-queue, --max-upload-mb, --workers or "
                   "--max-megapixels (create_app's max_uploads, max_queue, max_upload_bytes, "
                   "workers, max_pixels)")

    @property
    def auto_workers(self) -> int:
        """Workers of the ``auto`` lane: half the workers, at least one."""
        return max(1, self.workers // 2)


@dataclass
class Job:
    """One request, its body read and its fields checked."""

    image: bytes
    mask: bytes | None
    box: str | None
    model: str
    format: str  # a key of OUTPUT_FORMATS or "input"
    sketch: bytes | None = None  # for a sketch-guided model: non-zero = a stroke
    deadline: float = math.inf  # time.monotonic() by which the work must be done
    stopped: str | None = None  # why the work must stop (set on the event loop)

    def stop_reason(self) -> str | None:
        """Why the work must stop now, or None (read by the worker at each step)."""
        if self.stopped is None and time.monotonic() > self.deadline:
            return "over the time limit"
        return self.stopped


@dataclass
class Result:
    data: bytes
    media_type: str
    extension: str
    headers: dict[str, str]


class Service:
    """The state behind the routes: models, limits, the worker pool and the counts of
    requests uploading and admitted (both only touched on the event loop)."""

    def __init__(self, store: ModelStore, limits: Limits, device: str = "") -> None:
        self.store = store
        self.limits = limits
        self.device = device  # where the default model runs (for /api/v1/health)
        #: Request bodies being received (see middleware.UploadMiddleware).
        self.uploading = 0
        #: Requests admitted: waiting for a worker or processed (see AdmissionMiddleware).
        self.in_progress = 0
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._pool_lock = threading.Lock()

    def busy(self, *, uploading: bool = False) -> str | None:
        """Why a new request is refused now (503), or None: all admitted places taken, or
        (``uploading``) all upload places taken."""
        if self.in_progress >= self.limits.max_queue:
            return f"server busy: {self.in_progress} requests in progress; retry later"
        if uploading and self.uploading >= self.limits.max_uploads:
            return f"server busy: {self.uploading} uploads in progress; retry later"
        return None

    def _pool(self, lane: str) -> ThreadPoolExecutor:
        with self._pool_lock:
            if lane not in self._pools:
                n = self.limits.auto_workers if lane == AUTO else self.limits.workers
                self._pools[lane] = ThreadPoolExecutor(max_workers=n,
                                                       thread_name_prefix=f"inpaint-{lane}")
            return self._pools[lane]

    def shutdown(self) -> None:
        with self._pool_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., Any], *args: Any, lane: str = "model") -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(lane), functools.partial(fn, *args))

    async def inpaint(self, job: Job, gone: Callable[[], Awaitable[bool]]) -> Result:
        """:meth:`process` ``job`` in its lane within ``limits.request_timeout``, checking
        every :data:`POLL_S` seconds whether the client has gone (``gone()``); the work is
        told to stop in either case, and is waited for, so that a worker is never taken by
        work nobody waits for. 503 past the time limit; :class:`Cancelled` when the
        client has gone (nobody to answer)."""
        job.deadline = time.monotonic() + self.limits.request_timeout
        lane = AUTO if job.model == AUTO else "model"
        work = asyncio.ensure_future(self.run(self.process, job, lane=lane))
        while not work.done():
            await asyncio.wait({work}, timeout=POLL_S)
            if job.stopped is None and not work.done() and await gone():
                job.stopped = "the client has gone"
        try:
            return work.result()
        except Cancelled as e:
            if job.stopped is not None:
                raise
            done = f" ({e.progress})" if e.progress else ""
            raise ApiError(503, f"stopped at this server's time limit of "
                                f"{self.limits.request_timeout:g} s{done}; name a model "
                                "instead of auto, or send a smaller image") from e

    def _decode_mask(self, data: bytes, what: str, w: int, h: int) -> np.ndarray:
        """An uploaded mask or sketch as an ``HxW`` boolean array (422 for another size)."""
        with image_errors():
            m = decode_mask(data, what, self.limits.max_pixels)
        if m.shape != (h, w):
            raise ApiError(422, f"{what} size {size_text(m.shape[1], m.shape[0])} does "
                                f"not match the image size {size_text(w, h)} (width x height)")
        return m

    def _hole(self, job: Job, w: int, h: int) -> np.ndarray:
        """The request's hole as an ``HxW`` boolean mask (422 when it does not fit)."""
        if job.mask is not None:
            hole = self._decode_mask(job.mask, "mask", w, h)
        else:
            assert job.box is not None
            try:
                hole = box_mask((h, w), job.box)
            except ValueError as e:
                raise ApiError(422, str(e)) from e
        return hole  # a hole covering the whole image: the inpainter's 422

    def process(self, job: Job) -> Result:
        """Decode, check, inpaint and encode one request (in a worker thread); stops with
        :class:`Cancelled` when ``job.stop_reason()`` says so."""
        with watched(stop=job.stop_reason):
            reason = job.stop_reason()
            if reason is not None:  # stopped while it waited for a worker
                raise Cancelled(reason, "before it started")
            return self._process(job)

    def _process(self, job: Job) -> Result:
        t0 = time.perf_counter()
        if job.sketch is not None and not self.store.get(job.model).takes_sketch:
            raise ApiError(400, f"model {job.model!r} has no sketch input: send no 'sketch', "
                                "or choose a sketch-guided model")
        with image_errors():
            image, info = decode_image(job.image, "image", self.limits.max_pixels)
        h, w = image.shape[:2]
        hole = self._hole(job, w, h)
        sketch = None if job.sketch is None else self._decode_mask(job.sketch, "sketch", w, h)
        headers = {"X-Model": job.model, "X-Image-Size": size_text(w, h)}
        if not hole.any():
            headers["X-Warning"] = "the mask is empty: the image is returned unchanged"
            result = image
        else:
            inpainter = self.store.get(job.model)
            t1 = time.perf_counter()
            try:
                filled = inpainter.fill(image, hole, sketch)
            except ValueError as e:  # the inpainter's checks (sizes, full masks)
                raise ApiError(422, str(e)) from e
            result = filled.image
            headers["X-Inpaint-Method"] = filled.method
            headers["X-Inference-Ms"] = f"{(time.perf_counter() - t1) * 1000:.1f}"
        fmt = (output_format_for(info.get("format")) if job.format == "input"
               else OUTPUT_FORMATS[job.format])
        if fmt in ("JPEG", "BMP") and result.ndim == 3 and result.shape[2] == 4:
            # a format without alpha was asked for: dropped here, without io's warning
            result = result[..., 0] if info.get("mode") == "LA" else result[..., :3]
        data = encode_image(result, fmt, info)
        headers["X-Total-Ms"] = f"{(time.perf_counter() - t0) * 1000:.1f}"
        return Result(data, MEDIA_TYPES[fmt], EXTENSIONS[fmt], headers)
