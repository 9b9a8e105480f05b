"""Load test of the inpainting server over real HTTP on the loopback interface.

Starts uvicorn on ``127.0.0.1`` (a free port, in a background thread) with a tiny random
model (or ``--model NAME|PATH``), sends ``--requests`` inpainting requests from
``--concurrency`` client threads, checks every answer (status 200, a PNG of the right
size, pixels outside the hole unchanged) and prints throughput and latency percentiles.

    python bench/load_test.py                      # 200 requests, 8 clients, tiny model
    python bench/load_test.py --model facades-freeform-128 --device cuda

Importable: :func:`serve_in_thread`, :func:`run_load` and :func:`make_tiny_model` are
what ``tests/test_server*.py`` and ``tests/test_browser.py`` use with smaller counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import logging
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

__all__ = ["LoadResult", "main", "make_tiny_model", "run_load", "serve_in_thread"]

logger = logging.getLogger(__name__)


def make_tiny_model(path: str | Path, seed: int = 0) -> Path:
    """Write a tiny random free-form model (64 px, channel-wise bottleneck) to ``path``."""
    import torch

    from context_encoder import Generator, ModelConfig
    from context_encoder.checkpoint import save_generator

    torch.manual_seed(seed)
    cfg = ModelConfig(image_size=64, task="full", bottleneck="channelwise", enc_width=8,
                      dec_width=8)
    return save_generator(Generator(cfg), path)


@contextlib.contextmanager
def serve_in_thread(model: str | Path, *, device: str = "cpu", workers: int = 2,
                    startup_timeout: float = 60.0, **app_kwargs: object) -> Iterator[str]:
    """Run the app under uvicorn on 127.0.0.1 (a free port) in a daemon thread; yields the
    base URL and stops the server on exit."""
    import uvicorn

    from context_encoder.server import create_app

    app = create_app(str(model), device=device, workers=workers, **app_kwargs)  # type: ignore[arg-type]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server thread exited during startup")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {startup_timeout:g} s")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


# ---------------------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------------------
@dataclass
class _Case:
    image_png: bytes
    image: np.ndarray  # H x W x 3 uint8
    hole: np.ndarray  # H x W bool
    mask_png: bytes | None
    box: str | None


def _png(a: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _make_cases(count: int = 8, seed: int = 0) -> list[_Case]:
    """Images of a few sizes with textured content; half with mask files (1 to 3 blobs),
    half with boxes."""
    rng = np.random.default_rng(seed)
    sizes = [(96, 128), (120, 160), (128, 128), (192, 256), (150, 100), (64, 200)]
    cases = []
    for i in range(count):
        h, w = sizes[i % len(sizes)]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack([
            127 + 100 * np.sin(xx / (5 + i)),
            127 + 100 * np.cos(yy / (7 + i)),
            (xx + yy) * 255 / (h + w),
        ], axis=2)
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        hole = np.zeros((h, w), dtype=bool)
        if i % 2 == 0:
            for _ in range(1 + i % 3):
                cy, cx = rng.integers(8, h - 8), rng.integers(8, w - 8)
                r = int(rng.integers(4, max(5, min(h, w) // 6)))
                hole |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            cases.append(_Case(_png(img), img, hole, _png(hole.astype(np.uint8) * 255), None))
        else:
            bw, bh = int(rng.integers(8, w // 2)), int(rng.integers(8, h // 2))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            hole[y : y + bh, x : x + bw] = True
            cases.append(_Case(_png(img), img, hole, None, f"{x},{y},{bw},{bh}"))
    return cases


def _check(case: _Case, status: int, content: bytes) -> str | None:
    """``None`` when the answer is right, else what is wrong."""
    from PIL import Image

    if status != 200:
        return f"status {status}: {content[:200]!r}"
    try:
        with Image.open(io.BytesIO(content)) as im:
            if im.format != "PNG":
                return f"not a PNG ({im.format})"
            out = np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001 - any decoding failure is a wrong answer
        return f"the answer does not decode: {e}"
    if out.shape != case.image.shape:
        return f"size {out.shape[1]}x{out.shape[0]}, expected {case.image.shape[1]}x{case.image.shape[0]}"
    if not np.array_equal(out[~case.hole], case.image[~case.hole]):
        return "pixels outside the hole changed"
    return None


@dataclass
class LoadResult:
    """What :func:`run_load` measured."""

    requests: int
    concurrency: int
    wall_s: float
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies_s) - len(self.errors)

    @property
    def all_correct(self) -> bool:
        return self.ok == self.requests and not self.errors

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.wall_s if self.wall_s > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        return float(np.percentile(np.asarray(self.latencies_s), q) * 1000.0)

    def summary(self) -> str:
        return (
            f"{self.ok}/{self.requests} correct with {self.concurrency} clients in "
            f"{self.wall_s:.2f} s: {self.throughput:.1f} req/s; latency p50 "
            f"{self.percentile_ms(50):.1f} ms, p90 {self.percentile_ms(90):.1f} ms, "
            f"p99 {self.percentile_ms(99):.1f} ms"
        )


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_load(base_url: str, requests: int = 200, concurrency: int = 8, *,
             timeout_s: float = 300.0, request_timeout_s: float = 60.0,
             model: str | None = None, seed: int = 0) -> LoadResult:
    """Send ``requests`` inpainting requests from ``concurrency`` threads to a server on
    the loopback interface; stop sending after ``timeout_s`` (unsent requests count as
    failed)."""
    import httpx

    if not _is_loopback_url(base_url):
        raise ValueError(f"the load test only talks to loopback servers, not {base_url!r}")
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be >= 1")
    cases = _make_cases(seed=seed)
    url = base_url.rstrip("/") + "/api/v1/inpaint"
    lock = threading.Lock()
    next_index = 0
    result = LoadResult(requests, concurrency, 0.0)
    deadline = time.monotonic() + timeout_s

    def worker() -> None:
        nonlocal next_index
        with httpx.Client(timeout=request_timeout_s) as client:
            while True:
                with lock:
                    if next_index >= requests or time.monotonic() > deadline:
                        return
                    i = next_index
                    next_index += 1
                case = cases[i % len(cases)]
                files = {"image": (f"case{i % len(cases)}.png", case.image_png, "image/png")}
                data: dict[str, str] = {}
                if case.mask_png is not None:
                    files["mask"] = ("mask.png", case.mask_png, "image/png")
                else:
                    data["box"] = case.box or ""
                if model:
                    data["model"] = model
                t0 = time.perf_counter()
                try:
                    r = client.post(url, files=files, data=data)
                    status, content = r.status_code, r.content
                except httpx.HTTPError as e:
                    status, content = -1, repr(e).encode()
                dt = time.perf_counter() - t0
                problem = _check(case, status, content)
                with lock:
                    result.latencies_s.append(dt)
                    if problem:
                        result.errors.append(f"request {i}: {problem}")

    t_start = time.perf_counter()
    threads = [threading.Thread(target=worker, name=f"client-{k}", daemon=True)
               for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + request_timeout_s + 5)
    result.wall_s = time.perf_counter() - t_start
    missing = requests - len(result.latencies_s)
    if missing > 0:
        result.errors.append(f"{missing} requests not answered within {timeout_s:g} s")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--model", help="shipped name or model file (default: a tiny random model)")
    p.add_argument("--device", default=None, help="default: cpu for the tiny model, else auto")
    p.add_argument("--workers", type=int, default=2, help="server worker threads")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole run")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(make_tiny_model(Path(tmp) / "tiny.safetensors"))
        device = args.device or ("cpu" if args.model is None else "auto")
        with serve_in_thread(model, device=device, workers=args.workers) as url:
            print(f"server {url} (model {args.model or 'tiny random'}, device {device}, "
                  f"{args.workers} workers)")
            run_load(url, requests=min(8, args.requests), concurrency=2)  # warm-up
            res = run_load(url, requests=args.requests, concurrency=args.concurrency,
                           timeout_s=args.timeout)
    print(res.summary())
    for e in res.errors[:10]:
        print(f"  error: {e}")
    return 0 if res.all_correct else 1


if __name__ == "__main__":
    sys.exit(main())
