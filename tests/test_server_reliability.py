"""The server under hostile or unusual clients (issue 13, cases 10-13): a port in use, every
image format the CLI reads, uploads over the limit from clients that send the whole body
before reading, and stalled uploads. Real servers listen on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette: "use httpx2" (a UserWarning subclass)
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient  # noqa: E402

from conftest import load_bench  # noqa: E402
from context_encoder.io.images import INPUT_FORMATS  # noqa: E402
from context_encoder.server import create_app  # noqa: E402

#: Every format the CLI reads (AVIF where this Pillow reads it).
CLI_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "PPM", "TGA", "AVIF")




def _picture(h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (np.stack([xx * 4, yy * 5, xx + yy], axis=2) % 256).astype(np.uint8)


def _multipart(image: bytes, box: str = "4,4,12,10") -> tuple[bytes, str]:
    body = (b'--xyz\r\nContent-Disposition: form-data; name="box"\r\n\r\n' + box.encode()
            + b'\r\n--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"'
            b"\r\nContent-Type: application/octet-stream\r\n\r\n" + image + b"\r\n--xyz--\r\n")
    return body, "multipart/form-data; boundary=xyz"


# ---------------------------------------------------------------------------------------
# 10. serve on a port in use: one line naming the address, and no "serving on ..."
# ---------------------------------------------------------------------------------------
def test_serve_on_a_port_in_use_says_so_before_serving(tiny_model, capsys):
    from context_encoder.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        rc = main(["serve", "--model", str(tiny_model), "--device", "cpu", "--port", str(port)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "serving" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]


# ---------------------------------------------------------------------------------------
# 11. every format the CLI reads is accepted by the server
# ---------------------------------------------------------------------------------------
def test_the_server_reads_what_the_cli_reads():
    assert set(INPUT_FORMATS) <= set(CLI_FORMATS)
    assert set(CLI_FORMATS) - {"AVIF"} <= set(INPUT_FORMATS)


@pytest.fixture(scope="module")
def client(tiny_model) -> Iterator[TestClient]:
    with TestClient(create_app(str(tiny_model), device="cpu")) as c:
        yield c


@pytest.mark.parametrize("fmt", CLI_FORMATS)
def test_every_input_format_is_inpainted(client, fmt):
    if fmt not in INPUT_FORMATS or fmt not in Image.SAVE:
        pytest.skip(f"this Pillow cannot read and write {fmt}")
    buf = io.BytesIO()
    Image.fromarray(_picture()).save(buf, format=fmt)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        sent = np.asarray(im.convert("RGB"))  # what the server sees (lossy formats too)
    for output, media in (("png", "image/png"), ("input", None)):
        r = client.post("/api/v1/inpaint", data={"box": "4,4,12,10", "format": output},
                        files={"image": (f"a.{fmt.lower()}", buf.getvalue())})
        assert r.status_code == 200, (fmt, r.text)
        if media is None:  # the input's format where the server writes it, else PNG
            media = {"WEBP": "image/webp", "BMP": "image/bmp", "TIFF": "image/tiff",
                     "JPEG": "image/jpeg"}.get(fmt, "image/png")
        assert r.headers["content-type"] == media
        with Image.open(io.BytesIO(r.content)) as im:
            out = np.asarray(im.convert("RGB"))
        assert out.shape == sent.shape
        if media in ("image/png", "image/bmp", "image/tiff"):  # lossless: only the hole changed
            hole = np.zeros(sent.shape[:2], dtype=bool)
            hole[4:14, 4:16] = True
            assert np.array_equal(out[~hole], sent[~hole])


# ---------------------------------------------------------------------------------------
# 12. an upload over the limit is answered 413 to clients that send the whole body first
# ---------------------------------------------------------------------------------------
def _urllib_post(url: str, data, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/api/v1/inpaint", data=data, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_413_reaches_clients_that_send_the_whole_body_before_reading(tiny_model):
    limit = 4_000_000  # the body is more than the loopback socket buffers hold
    body, ctype = _multipart(np.random.default_rng(0).bytes(int(3.75 * limit)))
    with load_bench().serve_in_thread(tiny_model, max_upload_bytes=limit) as url:
        for attempt in range(3):  # the same connection state each time: no leftovers
            status, answer = _urllib_post(url, body, {"Content-Type": ctype})
            assert status == 413, attempt
            assert "upload limit" in answer["error"]
        # no Content-Length: chunked, the bytes counted while reading
        chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
        status, answer = _urllib_post(url, chunks, {"Content-Type": ctype})
        assert status == 413 and "upload limit" in answer["error"]
        status, _ = _urllib_post(url, _multipart(_png(_picture()))[0], {"Content-Type": ctype})
        assert status == 200


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _call(app, messages: list[dict], headers: list[tuple[bytes, bytes]]) -> tuple[list, int]:
    """Run one POST through the ASGI app; ``receive`` gives ``messages`` and then fails the
    test (nothing is read past the end of a body). Returns (sent messages, receive calls)."""
    pending = list(messages)
    sent: list[dict] = []

    async def receive():
        assert pending, "read past the end of the body"
        return pending.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/inpaint", "headers": headers,
             "query_string": b"", "http_version": "1.1", "scheme": "http", "root_path": "",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    asyncio.run(app(scope, receive, send))
    return sent, len(messages) - len(pending)


def test_413_reads_the_body_to_its_end_and_no_further(tiny_model):
    app = create_app(str(tiny_model), device="cpu", max_upload_bytes=1000, body_timeout=60)
    ctype = (b"content-type", b"multipart/form-data; boundary=xyz")
    chunk = {"type": "http.request", "body": b"x" * 600, "more_body": True}
    last = {"type": "http.request", "body": b"x" * 600, "more_body": False}
    cases = [  # (headers, messages, messages read)
        ([ctype], [chunk, last], 2),  # chunked: over the limit with its last chunk
        ([ctype], [chunk, chunk, chunk, last], 4),  # over the limit, the rest discarded
        ([ctype, (b"content-length", b"2400")], [chunk, chunk, chunk, last], 4),
        ([ctype, (b"content-length", b"99999")], [chunk, last], 0),  # over 4x: not read
        ([ctype, (b"content-length", b"2400"), (b"expect", b"100-continue")], [last], 0),
    ]
    for headers, messages, read in cases:
        sent, calls = _call(app, messages, headers)
        assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
        assert b"upload limit" in sent[1]["body"]
        assert sent[-1]["more_body"] is False
        assert calls == read, headers


def test_a_stalled_body_is_answered_408(tiny_model):
    app = create_app(str(tiny_model), device="cpu", body_timeout=0.2)
    service = app.state.service

    async def scenario():
        parts = [{"type": "http.request", "body": b"--xyz\r\n", "more_body": True}]
        sent = []

        async def receive():
            if parts:  # the first part, then nothing
                return parts.pop()
            await asyncio.Event().wait()  # stalls (cancelled by the body timeout)

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/api/v1/inpaint",
                 "headers": [(b"content-length", b"500")], "query_string": b""}
        await asyncio.wait_for(app(scope, receive, send), 30)
        return sent

    sent = asyncio.run(scenario())
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {
        "error": "request body stalled: no data for 0.2 s; the request is dropped"}
    assert service.uploading == 0 == service.in_progress


# ---------------------------------------------------------------------------------------
# 13. stalled uploads neither hold inference slots nor stay open forever
# ---------------------------------------------------------------------------------------
def _stalled_upload(port: int) -> socket.socket:
    """A connection that sends its headers and part of its body, then nothing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"POST /api/v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
              "Content-Type: multipart/form-data; boundary=xyz\r\n"
              "Content-Length: 100000\r\n\r\n".encode() + b"--xyz\r\n" + b"x" * 1000)
    return s


def test_stalled_uploads_do_not_block_other_requests(tiny_model):
    import httpx

    body_timeout = 2.0
    body, ctype = _multipart(_png(_picture()))
    with load_bench().serve_in_thread(tiny_model, workers=2, body_timeout=body_timeout) as url:
        port = int(url.rsplit(":", 1)[1])
        stalled = [_stalled_upload(port) for _ in range(8)]  # as many as max_queue (4 x 2)
        try:
            with httpx.Client(timeout=10) as c:
                deadline = time.monotonic() + 5
                while (c.get(url + "/api/v1/health").json().get("uploading") != 8
                       and time.monotonic() < deadline):
                    time.sleep(0.05)
                r = c.post(url + "/api/v1/inpaint", content=body,
                           headers={"Content-Type": ctype})
                assert r.status_code == 200, r.text  # not 503: uploads hold no slot
            for s in stalled:  # each is answered 408 and closed after the body timeout
                s.settimeout(body_timeout + 10)
                answer = b""
                while chunk := s.recv(65536):  # until the server closes the connection
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
                assert b"no data for 2 s" in answer
            with httpx.Client(timeout=10) as c:
                health = c.get(url + "/api/v1/health").json()
            assert (health["uploading"], health["in_progress"]) == (0, 0)
        finally:
            for s in stalled:
                s.close()
