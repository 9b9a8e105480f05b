"""The inpainting web server.

:func:`create_app` (in :mod:`context_encoder.server.app`) builds the FastAPI app; it is
imported lazily so that the command-line tool does not pay for FastAPI on every command.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_UPLOAD_BYTES", "DEFAULT_WORKERS",
           "LOOPBACK_HOSTS", "create_app", "is_loopback", "trusted_hosts_for"]

# Defaults of create_app and ``serve`` (here: the command line shows them without FastAPI).
#: Largest request body.
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Requests decoded / inpainted / encoded at the same time.
DEFAULT_WORKERS = 2
#: Seconds a request body may send nothing before the request is dropped (408).
DEFAULT_BODY_TIMEOUT = 10.0

#: Host header values accepted (any port) when the server is bound to a loopback address:
#: a page elsewhere that rebinds its DNS name to 127.0.0.1 still sends its own name.
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")

logger = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def trusted_hosts_for(host: str, allowed: list[str]) -> list[str] | None:
    """The Host header values ``serve`` accepts: the loopback names (and the bound address)
    when bound to loopback, plus ``--allowed-host`` values; None (any) otherwise."""
    hosts: list[str] = []
    if is_loopback(host):
        hosts += LOOPBACK_HOSTS
        if host not in hosts:
            hosts.append(host)
    elif not allowed:
        return None
    hosts += [h.strip() for h in allowed if h.strip() and h.strip() not in hosts]
    return hosts
