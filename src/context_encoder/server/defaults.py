"""The server's defaults and the Host rule, importable without FastAPI (the command line
shows them in ``serve --help``)."""

from __future__ import annotations

import ipaddress

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_UPLOAD_BYTES", "DEFAULT_REQUEST_TIMEOUT",
           "DEFAULT_WORKERS",
           "LOOPBACK_HOSTS", "is_loopback", "trusted_hosts_for"]

#: Largest request body.
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Requests decoded / inpainted / encoded at the same time.
DEFAULT_WORKERS = 2
#: Seconds a request body may send nothing before the request is dropped (408).
DEFAULT_BODY_TIMEOUT = 10.0
#: Seconds of work one request may take (waiting for a worker included) before it is
#: stopped and answered 503.
DEFAULT_REQUEST_TIMEOUT = 60.0

#: Host header values accepted (any port) when the server is bound to a loopback address:
#: a page elsewhere that rebinds its DNS name to 127.0.0.1 still sends its own name.
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")


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
