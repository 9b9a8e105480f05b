"""The server's ASGI middlewares, outermost first:

* :class:`TrustedHostMiddleware`: refuse a Host header not in the list (DNS rebinding).
* :class:`UploadMiddleware`: receive a request's body before the app sees it, at most
  ``max_uploads`` at once, each at most ``max_upload_bytes`` (413), each answered 408 when
  no bytes arrive for ``body_timeout`` seconds.
* :class:`AdmissionMiddleware`: admit at most ``max_queue`` received requests at once
  (waiting for a worker or processed), 503 with ``Retry-After`` for the others.

Requests still uploading hold no admitted place, so slow or stalled clients cannot keep
the workers from others; they are bounded by ``max_uploads`` and time out instead.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import json_error
from .service import Service

__all__ = ["DRAIN_FACTOR", "DRAIN_SECONDS", "AdmissionMiddleware", "TrustedHostMiddleware",
           "UploadMiddleware"]

#: After an error answered before a body is read to the end (413, 503), the rest of the
#: body is read and discarded up to this many times the upload limit, and for at most
#: :data:`DRAIN_SECONDS`, before the connection closes.
DRAIN_FACTOR = 4
DRAIN_SECONDS = 30.0
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


def _mb(n: int) -> str:
    """A byte count for messages: ``20 MB``, ``9.8 kB``, ``500 bytes``."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} kB"
    return f"{n} bytes"


class _Refused(Exception):
    """A request answered with an error before its body was read to the end; ``drain``:
    read and discard the rest of the body (``received`` bytes so far) after answering."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, *,
                 drain: bool = True, received: int = 0) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.drain, self.received = drain, received


class _BodyRequestMiddleware:
    """A middleware for HTTP requests that may carry a body (not GET / HEAD / OPTIONS:
    the page, health and models are never refused); others pass through."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method", "GET") not in _BODYLESS:
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class UploadMiddleware(_BodyRequestMiddleware):
    """Receive the whole body of a request before the app runs, and hand it on.

    Refused before reading: a malformed Content-Length (400), a busy server (503 with
    ``Retry-After``, see :meth:`Service.busy`), a Content-Length over the limit (413).
    While reading: 413 past the limit, 408 when no bytes arrive for ``body_timeout``
    seconds. Refusals close the connection; before that, the rest of the body is read and
    discarded (a lingering close) up to :data:`DRAIN_FACTOR` x the limit and
    :data:`DRAIN_SECONDS`, so clients that send their whole body before reading the
    answer (urllib, requests) receive it instead of a connection reset. Clients that wait
    for ``100 Continue`` are answered without it: they send nothing more."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.service
        try:
            self._check_before_reading(scope)
            service.uploading += 1
            try:
                body = await self._read(receive)
            finally:
                service.uploading -= 1
        except _Refused as e:
            if _header(scope, b"expect") == b"100-continue":
                e.drain = False
            await self._answer(e, receive, send)
            return
        if body is not None:  # None: the client went away
            await self.app(scope, _replay(body, receive), send)

    def _too_large(self, received: int = 0, drain: bool = True) -> _Refused:
        limit = self.service.limits.max_upload_bytes
        return _Refused(413, f"request body is over the upload limit of {_mb(limit)}",
                        drain=drain, received=received)

    def _check_before_reading(self, scope: Scope) -> None:
        value = _header(scope, b"content-length")
        try:
            declared = 0 if value is None else int(value)
        except ValueError:
            declared = -1
        if declared < 0:
            raise _Refused(400, "malformed Content-Length header", drain=False)
        limit = self.service.limits.max_upload_bytes
        drain = declared <= DRAIN_FACTOR * limit  # past that, a reset comes anyway
        if declared > limit:
            raise self._too_large(drain=drain)
        busy = self.service.busy(uploading=True)
        if busy is not None:
            raise _Refused(503, busy, {"Retry-After": "1"}, drain=drain)

    async def _receive(self, receive: Receive) -> Message:
        timeout = self.service.limits.body_timeout
        try:
            return await asyncio.wait_for(receive(), timeout)
        except asyncio.TimeoutError:
            raise _Refused(408, f"request body stalled: no data for {timeout:g} s; "
                                "the request is dropped", drain=False) from None

    async def _read(self, receive: Receive) -> bytes | None:
        """The body, or None when the client disconnects."""
        limit = self.service.limits.max_upload_bytes
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await self._receive(receive)
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                raise self._too_large(size, drain=more)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _answer(self, refusal: _Refused, receive: Receive, send: Send) -> None:
        """Send the error, discard the rest of the body (when asked), close."""
        response = json_error(refusal.status, refusal.message,
                              {**refusal.headers, "Connection": "close"})
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": response.raw_headers})
        # The whole answer now (its Content-Length is known): clients that read at once
        # have it; the response ends, and the connection closes, after the drain.
        await send({"type": "http.response.body", "body": response.body, "more_body": True})
        if refusal.drain:
            await self._drain(receive, refusal.received)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _drain(self, receive: Receive, received: int) -> None:
        bound = DRAIN_FACTOR * self.service.limits.max_upload_bytes
        deadline = time.monotonic() + DRAIN_SECONDS
        while received <= bound and time.monotonic() < deadline:
            try:
                message = await self._receive(receive)
            except _Refused:  # stalled
                return
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return
            received += len(message.get("body", b""))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` in one message (and lets go of it), then waits on
    the real one (for the disconnect)."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


class AdmissionMiddleware(_BodyRequestMiddleware):
    """Admit at most ``max_queue`` requests with a body at once (waiting for a worker or
    processed), counted once their body is received; answer the others 503 with
    ``Retry-After``.

    The count lives on the event loop (no lock needed) and is released when the response
    ends, however the request ends: success, error response, exception or disconnect."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.service
        busy = service.busy()
        if busy is not None:
            await json_error(503, busy, {"Retry-After": "1"})(scope, receive, send)
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


class TrustedHostMiddleware:
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
        await json_error(400, reason)(scope, receive, send)
