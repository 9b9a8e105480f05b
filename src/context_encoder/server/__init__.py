"""The inpainting web server.

:func:`create_app` (in :mod:`context_encoder.server.app`) builds the FastAPI app; it is
imported lazily so that the command-line tool does not pay for FastAPI on every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .defaults import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_WORKERS,
    LOOPBACK_HOSTS,
    is_loopback,
    trusted_hosts_for,
)

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_UPLOAD_BYTES", "DEFAULT_REQUEST_TIMEOUT",
           "DEFAULT_WORKERS",
           "LOOPBACK_HOSTS", "create_app", "is_loopback", "trusted_hosts_for"]

def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
