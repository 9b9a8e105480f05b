"""The work behind ``POST /api/v1/inpaint``: the server's limits, the worker pool and the
processing of one request (decode, check, inpaint, encode), all image bytes going through
:mod:`context_encoder.io.images`."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

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
from .defaults import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_WORKERS
from .errors import ApiError, image_errors
from .store import ModelStore

__all__ = ["EXTENSIONS", "OUTPUT_FORMATS", "Job", "Limits", "Result", "Service"]

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
    ``(max_uploads + max_queue)`` x ``max_upload_bytes`` plus the decoded images."""

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    workers: int = DEFAULT_WORKERS
    max_queue: int | None = None
    max_uploads: int | None = None
    body_timeout: float = DEFAULT_BODY_TIMEOUT

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
        if not self.body_timeout > 0:
            raise ValueError(f"body_timeout must be positive, got {self.body_timeout}")


@dataclass
class Job:
    """One request, its body read and its fields checked."""

    image: bytes
    mask: bytes | None
    box: str | None
    model: str
    format: str  # a key of OUTPUT_FORMATS or "input"
    sketch: bytes | None = None  # for a sketch-guided model: non-zero = a stroke


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
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def busy(self, *, uploading: bool = False) -> str | None:
        """Why a new request is refused now (503), or None: all admitted places taken, or
        (``uploading``) all upload places taken."""
        if self.in_progress >= self.limits.max_queue:
            return f"server busy: {self.in_progress} requests in progress; retry later"
        if uploading and self.uploading >= self.limits.max_uploads:
            return f"server busy: {self.uploading} uploads in progress; retry later"
        return None

    @property
    def pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.limits.workers,
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
        """Decode, check, inpaint and encode one request (in a worker thread)."""
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
