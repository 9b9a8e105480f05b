"""``context-encoder serve``: the inpainting web server (API and editor page)."""

from __future__ import annotations

import argparse
import errno
import logging
import socket
from typing import Any

from ..errors import UsageError
from ..inference.adapt import check_steps
from ..io.images import DEFAULT_MAX_PIXELS
from ..server import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_WORKERS,
    is_loopback,
    trusted_hosts_for,
)

__all__ = ["add_parser"]

logger = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    from ..inference import Inpainter

    p = sub.add_parser(
        "serve",
        help="run the inpainting web server (API and editor page)",
        description="Serve the inpainting API (POST /api/v1/inpaint, GET /api/v1/models, "
                    "GET /api/v1/health) and an editor page at /. Binds 127.0.0.1 unless "
                    "--host says otherwise.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the server)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="the server's model: a shipped name, an exported .safetensors or .onnx file / "
                        f"run folder (default {Inpainter.DEFAULT_MODEL}), the default of "
                        "requests; 'auto' makes auto the default. Requests may name 'auto' "
                        "(per hole, the mix of this model and the classical methods that "
                        "best fills test holes cut into the photo; several times the "
                        "model's time), this model or a shipped one")
    p.add_argument("--adapt", type=int, default=0, metavar="STEPS",
                   help="auto also tries the model fine-tuned for STEPS steps on each photo "
                        "(default 0: off)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    upload_mb, megapixels = DEFAULT_MAX_UPLOAD_BYTES / 2**20, DEFAULT_MAX_PIXELS / 1e6
    p.add_argument("--max-upload-mb", type=float, default=upload_mb,
                   help=f"largest request body in MB (default {upload_mb:g}); a larger one "
                        "is answered 413")
    p.add_argument("--max-megapixels", type=float, default=megapixels,
                   help="largest image in megapixels, checked before decoding (default "
                        f"{megapixels:g})")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"requests processed at the same time (default {DEFAULT_WORKERS})")
    p.add_argument("--max-queue", type=int, default=None, metavar="N",
                   help="requests admitted at once, processed or waiting for a worker "
                        "(default 4 x --workers); more are answered 503 with Retry-After")
    p.add_argument("--max-uploads", type=int, default=None, metavar="N",
                   help="request bodies received at once (default 2 x --max-queue); more "
                        "are answered 503 with Retry-After before their body is read")
    p.add_argument("--body-timeout", type=float, default=DEFAULT_BODY_TIMEOUT, metavar="S",
                   help="drop a request whose body sends nothing for S seconds: 408 "
                        f"(default {DEFAULT_BODY_TIMEOUT:g})")
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT,
                   metavar="S", help="stop a request's work after S seconds, waiting "
                   f"included: 503 (default {DEFAULT_REQUEST_TIMEOUT:g})")
    p.add_argument("--allowed-host", action="append", default=[], metavar="HOST",
                   help="also accept this Host header (repeatable; e.g. the name a reverse "
                        "proxy forwards). Bound to loopback, only 127.0.0.1, localhost and "
                        "[::1] are accepted otherwise (DNS rebinding protection); on other "
                        "addresses any Host is accepted unless this is given")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    check_steps(args.adapt, "--adapt")
    for name in ("workers", "max_queue", "max_uploads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for name in ("max_upload_mb", "max_megapixels", "body_timeout", "request_timeout"):
        value = getattr(args, name)
        if not value > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value:g}")


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not listening yet), or a one-line error naming the
    address (a port in use, an address this machine does not have)."""
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        reason = ("the port is in use (another server? choose another --port)"
                  if e.errno == errno.EADDRINUSE else e.strerror or str(e))
        raise UsageError(f"cannot listen on {shown}: {reason}") from e
    return sock


def _run_server(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound ``sock`` until Ctrl+C."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="info"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def run(args: argparse.Namespace) -> int:
    _check(args)
    trusted_hosts = trusted_hosts_for(args.host, args.allowed_host)
    try:
        import uvicorn  # noqa: F401

        from ..server.app import create_app
    except ImportError as e:
        raise UsageError(f"the server needs fastapi, uvicorn and python-multipart: {e}") from e
    sock = _bind(args.host, args.port)  # before loading the model: fail fast
    try:
        app = create_app(
            args.model,
            adapt_steps=args.adapt,
            device=args.device,
            max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
            max_pixels=int(args.max_megapixels * 1_000_000),
            workers=args.workers,
            max_queue=args.max_queue,
            max_uploads=args.max_uploads,
            body_timeout=args.body_timeout,
            request_timeout=args.request_timeout,
            trusted_hosts=trusted_hosts,
        )
    except BaseException:
        sock.close()
        raise
    if not is_loopback(args.host):
        logger.warning("binding %s: the server is reachable from other machines", args.host)
    if trusted_hosts is not None:
        logger.info("accepting Host headers %s only", ", ".join(trusted_hosts))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    port = sock.getsockname()[1]
    print(f"serving {app.state.service.store.default} on http://{shown}:{port}/ "
          "(Ctrl+C to stop)", flush=True)
    _run_server(app, sock)
    return 0
