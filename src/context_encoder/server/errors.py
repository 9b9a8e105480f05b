"""Errors answered as JSON ``{"error": message}`` with an HTTP status."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fastapi.responses import JSONResponse

from ..errors import ImageError, ImageTooLargeError

__all__ = ["ApiError", "image_errors", "json_error"]


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_error(status: int, message: str,
               headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


@contextlib.contextmanager
def image_errors() -> Iterator[None]:
    """Answer an image over the pixel limit 413 and any other unreadable image 415."""
    try:
        yield
    except ImageTooLargeError as e:
        raise ApiError(413, str(e)) from e
    except ImageError as e:
        raise ApiError(415, str(e)) from e
