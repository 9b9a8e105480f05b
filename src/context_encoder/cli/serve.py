"""``context-encoder serve``: the inpainting web server (API and editor page)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ..errors import UsageError
from ..server import is_loopback, trusted_hosts_for

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
    p.add_argument("--model", default=Inpainter.DEFAULT_MODEL, metavar="NAME|PATH",
                   help="default model: a shipped name or an exported .safetensors file / "
                        f"run folder (default {Inpainter.DEFAULT_MODEL}); requests may "
                        "name only shipped models or this one")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--max-upload-mb", type=float, default=20.0,
                   help="largest request body in MB (default 20)")
    p.add_argument("--max-megapixels", type=float, default=40.0,
                   help="largest image in megapixels, checked before decoding (default 40)")
    p.add_argument("--workers", type=int, default=2,
                   help="requests processed at the same time (default 2)")
    p.add_argument("--max-queue", type=int, default=None, metavar="N",
                   help="requests admitted at once, processed or waiting (default 4 x "
                        "--workers); more are answered 503 with Retry-After before their "
                        "body is read")
    p.add_argument("--allowed-host", action="append", default=[], metavar="HOST",
                   help="also accept this Host header (repeatable; e.g. the name a reverse "
                        "proxy forwards). Bound to loopback, only 127.0.0.1, localhost and "
                        "[::1] are accepted otherwise (DNS rebinding protection); on other "
                        "addresses any Host is accepted unless this is given")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.max_upload_mb <= 0:
        raise UsageError(f"--max-upload-mb must be positive, got {args.max_upload_mb:g}")
    if args.max_megapixels <= 0:
        raise UsageError(f"--max-megapixels must be positive, got {args.max_megapixels:g}")
    if args.max_queue is not None and args.max_queue < 1:
        raise UsageError(f"--max-queue must be >= 1, got {args.max_queue}")
    trusted_hosts = trusted_hosts_for(args.host, args.allowed_host)
    try:
        import uvicorn

        from ..server.app import create_app
    except ImportError as e:
        raise UsageError(f"the server needs fastapi, uvicorn and python-multipart: {e}") from e
    app = create_app(
        args.model,
        device=args.device,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_pixels=int(args.max_megapixels * 1_000_000),
        workers=args.workers,
        max_queue=args.max_queue,
        trusted_hosts=trusted_hosts,
    )
    if not is_loopback(args.host):
        logger.warning("binding %s: the server is reachable from other machines", args.host)
    if trusted_hosts is not None:
        logger.info("accepting Host headers %s only", ", ".join(trusted_hosts))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {app.state.service.store.default} on http://{shown}:{args.port}/ "
          "(Ctrl+C to stop)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
