"""The web server: API happy paths, every error status, limits, concurrency, the CLI
and a small load test over real HTTP."""

from __future__ import annotations

import argparse
import asyncio
import io
import struct
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from context_encoder.errors import ContextEncoderError

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette: "use httpx2" (a UserWarning subclass)
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient  # noqa: E402

from conftest import load_bench  # noqa: E402
from context_encoder.server import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(tiny_model) -> TestClient:
    with TestClient(create_app(str(tiny_model), device="cpu")) as c:
        yield c


def _image(h: int = 90, w: int = 120, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 2, yy * 2, (xx + yy)], axis=2) % 256
    return np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)


def _encode(a: np.ndarray | Image.Image, fmt: str = "PNG", **kw) -> bytes:
    img = a if isinstance(a, Image.Image) else Image.fromarray(a)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _post(client: TestClient, image: bytes | None = None, mask: bytes | None = None,
          **data: str):
    files = {}
    if image is not None:
        files["image"] = ("in.png", image, "image/png")
    if mask is not None:
        files["mask"] = ("mask.png", mask, "image/png")
    return client.post("/api/v1/inpaint", files=files or None, data=data or None)


def _decode(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as im:
        return np.asarray(im)


def _assert_error(r, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    for w in words:
        assert w.lower() in body["error"].lower(), body


# ---------------------------------------------------------------------------------------
# Happy paths
# ---------------------------------------------------------------------------------------
def test_inpaint_with_mask_file_changes_only_the_hole(client):
    img = _image()
    hole = np.zeros(img.shape[:2], dtype=bool)
    hole[20:50, 30:70] = True
    hole[70:80, 5:15] = True
    r = _post(client, _encode(img), _encode(hole.astype(np.uint8) * 255))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-model"] == "tiny"
    out = _decode(r.content)
    assert out.shape == img.shape
    assert np.array_equal(out[~hole], img[~hole])
    assert (out[hole] != img[hole]).any(axis=-1).mean() > 0.5


def test_inpaint_with_box(client):
    img = _image(64, 100, seed=1)
    r = _post(client, _encode(img), box="10,5,30,20")
    assert r.status_code == 200, r.text
    out = _decode(r.content)
    hole = np.zeros(img.shape[:2], dtype=bool)
    hole[5:25, 10:40] = True
    assert np.array_equal(out[~hole], img[~hole])
    assert not np.array_equal(out[hole], img[hole])


def test_rgba_mask_from_a_browser_canvas(client):
    """An RGBA mask (opaque black / white, as the page sends) works; alpha is ignored."""
    img = _image(50, 60)
    m = np.zeros((50, 60, 4), dtype=np.uint8)
    m[..., 3] = 255
    m[10:20, 10:30, :3] = 255
    r = _post(client, _encode(img), _encode(m))
    assert r.status_code == 200, r.text
    out = _decode(r.content)
    hole = m[..., 0] > 0
    assert np.array_equal(out[~hole], img[~hole])


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "RGB16"])
def test_modes_are_kept(client, mode):
    img = _image(40, 48)
    if mode == "L":
        arr = img[..., 0]
        data = _encode(arr)
    elif mode == "RGBA":
        arr = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)])
        data = _encode(arr)
    elif mode == "I;16":
        arr = img[..., 0].astype(np.uint16) * 257
        data = _encode(Image.fromarray(arr))
    else:  # 16-bit RGB (PIL cannot hold it: goes through OpenCV)
        import cv2

        arr = img.astype(np.uint16) * 257 + 3
        ok, enc = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
        assert ok
        data = enc.tobytes()
    r = _post(client, data, box="5,5,20,10")
    assert r.status_code == 200, r.text
    if mode == "RGB16":
        import cv2

        out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
        out = cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    else:
        out = _decode(r.content)
    assert out.dtype == arr.dtype and out.shape == arr.shape
    hole = np.zeros(arr.shape[:2], dtype=bool)
    hole[5:15, 5:25] = True
    assert np.array_equal(out[~hole], arr[~hole])
    if mode == "RGBA":
        assert (out[..., 3] == 200).all()  # alpha kept, in the hole as well


def test_format_input_with_a_jpeg(client):
    img = _image(80, 96)
    r = _post(client, _encode(img, "JPEG", quality=90), box="10,10,20,20", format="input")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"].endswith('.jpg"')
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.format == "JPEG" and im.size == (96, 80)


@pytest.mark.parametrize("fmt,media,pil", [("png", "image/png", "PNG"),
                                           ("jpeg", "image/jpeg", "JPEG"),
                                           ("webp", "image/webp", "WEBP")])
def test_output_formats(client, fmt, media, pil):
    r = _post(client, _encode(_image(40, 40)), box="5,5,10,10", format=fmt)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.format == pil and im.size == (40, 40)


def test_exif_orientation_is_applied(client):
    """A rotated JPEG is inpainted as displayed (the mask has the displayed size)."""
    img = Image.fromarray(_image(40, 64))  # stored 64x40, displayed 40x64 (orientation 6)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(img, "JPEG", exif=exif.tobytes())
    r = _post(client, data, _encode(np.pad(np.full((10, 10), 255, np.uint8), ((5, 49), (5, 25)))))
    assert r.status_code == 200, r.text
    assert _decode(r.content).shape[:2] == (64, 40)


def test_empty_mask_returns_the_image_unchanged(client):
    img = _image(30, 30)
    r = _post(client, _encode(img), _encode(np.zeros((30, 30), np.uint8)))
    assert r.status_code == 200
    assert "empty" in r.headers["x-warning"]
    assert np.array_equal(_decode(r.content), img)


def test_models_health_openapi_and_page(client):
    m = client.get("/api/v1/models").json()
    assert m["default"] == "tiny"
    tiny = next(x for x in m["models"] if x["name"] == "tiny")
    assert tiny == {"name": "tiny", "task": "full", "image_size": 64,
                    "bottleneck": "channelwise", "conv": "plain", "guide": "none",
                    "refine_width": 0, "sketch": False, "loaded": True, "default": True}
    h = client.get("/api/v1/health")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/inpaint", "/api/v1/models", "/api/v1/health"} <= set(spec["paths"])
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for elem in ("file-input", "canvas", "brush-size", "tool-brush", "tool-rect", "undo",
                 "redo", "clear", "inpaint", "compare", "download", "status", "tool-sketch",
                 "sketch-note", "sketch-canvas"):
        assert f'id="{elem}"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no external assets
    for f in ("app.js", "style.css"):
        r = client.get(f"/static/{f}")
        assert r.status_code == 200 and len(r.content) > 100
        assert "https://" not in r.text


def test_models_say_which_take_a_sketch(tmp_path, monkeypatch):
    """Each model's convolution kind and guide, and whether it takes a sketch: the same
    from a file's metadata (a shipped model not loaded yet) and from the loaded model;
    auto takes none."""
    import torch

    from context_encoder import Generator, ModelConfig
    from context_encoder.checkpoint import save_generator
    from context_encoder.server import store as server_store

    torch.manual_seed(0)
    cfg = ModelConfig(image_size=64, task="full", bottleneck_dim=16, enc_width=8,
                      dec_width=8, conv="gated", guide="sketch")
    path = save_generator(Generator(cfg), tmp_path / "guided.safetensors")
    plain = load_bench().make_tiny_model(tmp_path / "plain.safetensors")
    shipped = {"alt-guided": path, "alt-plain": plain}  # stand-ins for shipped models
    monkeypatch.setattr(server_store, "list_pretrained", lambda: sorted(shipped))
    real_config = server_store.read_model_config
    monkeypatch.setattr(server_store, "read_model_config",
                        lambda name: real_config(shipped.get(name, name)))
    real = server_store.Inpainter.from_pretrained
    monkeypatch.setattr(server_store.Inpainter, "from_pretrained",
                        lambda name, **kw: real(shipped.get(name, name), **kw))
    fields = ("conv", "guide", "sketch")
    with TestClient(create_app(str(path), device="cpu")) as c:
        for loaded in (False, True):
            models = {m["name"]: m for m in c.get("/api/v1/models").json()["models"]}
            assert set(models) == {"auto", "guided", "alt-guided", "alt-plain"}
            assert models["alt-guided"]["loaded"] is models["alt-plain"]["loaded"] is loaded
            for name in ("guided", "alt-guided"):
                assert [models[name][k] for k in fields] == ["gated", "sketch", True]
            assert [models["alt-plain"][k] for k in fields] == ["plain", "none", False]
            assert [models["auto"][k] for k in fields] == [None, None, False]
            for name in ("alt-guided", "alt-plain"):
                r = _post(c, _encode(_image(20, 20)), box="2,2,5,5", model=name)
                assert r.status_code == 200, r.text


def test_a_model_whose_config_cannot_be_read_takes_no_sketch(tiny_model, monkeypatch):
    from context_encoder.errors import CheckpointError
    from context_encoder.server import store as server_store

    def unreadable(name):
        raise CheckpointError(f"{name}: no config")

    monkeypatch.setattr(server_store, "list_pretrained", lambda: ["broken"])
    monkeypatch.setattr(server_store, "read_model_config", unreadable)
    with TestClient(create_app(str(tiny_model), device="cpu")) as c:
        models = {m["name"]: m for m in c.get("/api/v1/models").json()["models"]}
    assert models["broken"] == {"name": "broken", "task": None, "image_size": None,
                                "bottleneck": None, "conv": None, "guide": None,
                                "refine_width": None, "sketch": False, "loaded": False, "default": False}


def test_shipped_models_load_lazily_once(tiny_model, monkeypatch):
    """Other shipped models named in requests are loaded on first use and cached."""
    from context_encoder.server import store as server_store

    monkeypatch.setattr(server_store, "list_pretrained", lambda: ["alt"])
    real_config = server_store.read_model_config
    monkeypatch.setattr(server_store, "read_model_config",
                        lambda name: real_config(tiny_model if name == "alt" else name))
    real = server_store.Inpainter.from_pretrained
    loaded = []

    def from_pretrained(name, **kw):
        loaded.append(str(name))
        return real(tiny_model if name == "alt" else name, **kw)

    monkeypatch.setattr(server_store.Inpainter, "from_pretrained", from_pretrained)
    with TestClient(create_app(str(tiny_model), device="cpu")) as c:
        models = {m["name"]: m for m in c.get("/api/v1/models").json()["models"]}
        assert set(models) == {"auto", "tiny", "alt"}
        assert models["alt"]["loaded"] is False and models["alt"]["task"] == "full"
        for _ in range(2):
            r = _post(c, _encode(_image(20, 20)), box="2,2,5,5", model="alt")
            assert r.status_code == 200 and r.headers["x-model"] == "alt"
        assert c.get("/api/v1/health").json()["loaded_models"] == ["tiny", "alt"]
    assert loaded == [str(tiny_model), "alt"]


def test_unknown_route_is_json(client):
    _assert_error(client.get("/api/v1/nope"), 404)
    _assert_error(client.get("/api/v1/inpaint"), 405)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------
def test_400_missing_image(client):
    _assert_error(_post(client, None, _encode(np.zeros((4, 4), np.uint8))), 400, "image")
    _assert_error(_post(client, box="1,1,2,2"), 400, "image")


def test_400_neither_or_both_mask_and_box(client):
    img = _encode(_image(20, 20))
    mask = _encode(np.full((20, 20), 255, np.uint8))
    _assert_error(_post(client, img), 400, "neither")
    _assert_error(_post(client, img, mask, box="1,1,5,5"), 400, "both")


@pytest.mark.parametrize("box", ["1,2,3", "a,b,c,d", "1,2,3,4,5", "1.5,2,3,4", "1;2;3;4"])
def test_400_malformed_box(client, box):
    _assert_error(_post(client, _encode(_image(20, 20)), box=box), 400, "malformed")


def test_400_unknown_model_and_no_paths(client, tiny_model):
    img = _encode(_image(20, 20))
    _assert_error(_post(client, img, box="1,1,5,5", model="nope"), 400, "unknown model")
    # a path, even to a valid model file, is never opened on a request's behalf
    _assert_error(_post(client, img, box="1,1,5,5", model=str(tiny_model)), 400, "unknown model")


def test_400_bad_format_and_validation_errors(client):
    img = _encode(_image(20, 20))
    _assert_error(_post(client, img, box="1,1,5,5", format="gif"), 400, "format")
    # 'image' sent as a text field: FastAPI's validation error, turned into {"error": ...}
    r = client.post("/api/v1/inpaint", data={"image": "not a file", "box": "1,1,2,2"})
    _assert_error(r, 400)


def test_413_upload_over_the_limit(tiny_model):
    with TestClient(create_app(str(tiny_model), device="cpu", max_upload_bytes=10_000)) as c:
        big = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
        data = _encode(big)  # ~30 kB of noise
        assert len(data) > 10_000
        _assert_error(_post(c, data, box="1,1,5,5"), 413, "upload limit")  # Content-Length

        def chunks():  # chunked, no Content-Length: the bytes are counted while reading
            yield b'--xyz\r\nContent-Disposition: form-data; name="box"\r\n\r\n1,1,5,5\r\n'
            yield (b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"'
                   b"\r\nContent-Type: image/png\r\n\r\n")
            for _ in range(20):
                yield b"x" * 1000
            yield b"\r\n--xyz--\r\n"

        r = c.post("/api/v1/inpaint", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=xyz"})
        assert "content-length" not in r.request.headers
        _assert_error(r, 413, "upload limit")
        # under the limit still works
        _assert_error(_post(c, b"0" * 100, box="1,1,5,5"), 415)


def _png_header_only(w: int, h: int) -> bytes:
    """A valid, tiny PNG declaring ``w x h`` 1-bit pixels (all zero)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    row = b"\x00" * (1 + (w + 7) // 8)
    raw = zlib.compress(row * h, 9)
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_413_pixel_limit_refused_before_decoding(tiny_model, monkeypatch):
    from PIL import ImageFile

    bomb = _png_header_only(5000, 5000)  # 25 megapixels in a few kB
    assert len(bomb) < 10_000
    loads = []
    real_load = ImageFile.ImageFile.load

    def spy(self, *a, **k):
        loads.append(self.size)
        return real_load(self, *a, **k)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with TestClient(create_app(str(tiny_model), device="cpu", max_pixels=1_000_000)) as c:
        _assert_error(_post(c, bomb, box="1,1,5,5"), 413, "megapixels")
        # a mask bomb too
        small = _encode(_image(20, 20))
        _assert_error(_post(c, small, bomb), 413, "mask")
    assert (20, 20) in loads  # the spy sees decoding...
    assert (5000, 5000) not in loads  # ...and the bombs were never decoded


def test_413_pil_decompression_bomb(client):
    """Headers far over PIL's own limit are refused as well (DecompressionBombError)."""
    _assert_error(_post(client, _png_header_only(20000, 20000), box="1,1,5,5"), 413)


def test_415_not_an_image(client):
    rng = np.random.default_rng(0)
    _assert_error(_post(client, rng.bytes(2000), box="1,1,5,5"), 415)
    _assert_error(_post(client, b"", box="1,1,5,5"), 415)
    truncated = _encode(_image(64, 64))[:200]
    _assert_error(_post(client, truncated, box="1,1,5,5"), 415)
    # an undecodable mask
    _assert_error(_post(client, _encode(_image(20, 20)), rng.bytes(500)), 415, "mask")


def test_422_mask_of_another_size(client):
    r = _post(client, _encode(_image(30, 40)), _encode(np.full((30, 30), 255, np.uint8)))
    _assert_error(r, 422, "30x30", "40x30")


@pytest.mark.parametrize("box", ["30,5,20,10", "-1,0,5,5", "0,25,5,10", "0,0,0,5"])
def test_422_box_outside_the_image(client, box):
    _assert_error(_post(client, _encode(_image(30, 40)), box=box), 422)


def test_422_full_mask(client):
    r = _post(client, _encode(_image(30, 40)), _encode(np.full((30, 40), 255, np.uint8)))
    _assert_error(r, 422, "whole")
    _assert_error(_post(client, _encode(_image(30, 40)), box="0,0,40,30"), 422, "whole")


# ---------------------------------------------------------------------------------------
# Concurrency: the event loop keeps answering while the workers are busy
# ---------------------------------------------------------------------------------------
def _slow_inference(app, seconds: float = 1.0):
    """Make the app's default model sleep ``seconds`` per request; returns (the event set
    when an inference starts, the real inpainter)."""
    store = app.state.service.store
    real = store.get("tiny")
    started = threading.Event()

    class Slow:
        def fill(self, image, mask, sketch=None):
            started.set()
            time.sleep(seconds)
            return real.fill(image, mask, sketch)

    store._loaded["tiny"] = Slow()
    return started, real


def test_event_loop_not_blocked_by_inference(tiny_model):
    """While an inference holds the only worker (it waits until the test releases it), the
    health route answers: the event loop is free. No clock is involved."""
    import httpx

    app = create_app(str(tiny_model), device="cpu", workers=1)
    service = app.state.service
    store = service.store
    real = store.get("tiny")
    started, release = threading.Event(), threading.Event()

    class Held:
        def fill(self, image, mask, sketch=None):
            started.set()
            release.wait(timeout=30)
            return real.fill(image, mask, sketch)

    store._loaded["tiny"] = Held()

    async def scenario() -> tuple[bool, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            slow = asyncio.create_task(ac.post(
                "/api/v1/inpaint", files={"image": ("a.png", _encode(_image(20, 20)))},
                data={"box": "1,1,5,5"}))
            while not started.is_set():
                await asyncio.sleep(0.01)
            h = await ac.get("/api/v1/health")
            held = not slow.done()  # the inference is still waiting for its release
            release.set()
            r = await slow
            return held, h.status_code + r.status_code

    try:
        held, codes = asyncio.run(scenario())
    finally:
        release.set()
        service.shutdown()
    assert held and codes == 400


def _good_request(ac):
    return ac.post("/api/v1/inpaint", files={"image": ("a.png", _encode(_image(20, 20)))},
                   data={"box": "1,1,5,5"})


def test_503_when_max_queue_is_full_then_recovers(tiny_model):
    """max_queue=1: a second request while the first runs is answered 503 with
    Retry-After without reaching the app (its body is discarded); GETs still answer; then
    requests succeed again."""
    import httpx

    app = create_app(str(tiny_model), device="cpu", workers=2, max_queue=1)
    service = app.state.service
    assert service.limits.max_queue == 1
    started, real = _slow_inference(app, 1.0)
    processed = []
    process = service.process
    service.process = lambda job: processed.append(job) or process(job)

    async def body():
        yield (b'--xyz\r\nContent-Disposition: form-data; name="box"\r\n\r\n1,1,5,5\r\n'
               b"--xyz--\r\n")

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            slow = asyncio.create_task(_good_request(ac))
            while not started.is_set():
                await asyncio.sleep(0.01)
            busy = await ac.post("/api/v1/inpaint", content=body(),
                                 headers={"content-type": "multipart/form-data; boundary=xyz"})
            health = (await ac.get("/api/v1/health")).json()
            first = await slow
            service.store._loaded["tiny"] = real
            again = [await _good_request(ac) for _ in range(2)]
            after = (await ac.get("/api/v1/health")).json()
            return busy, health, first, again, after

    try:
        busy, health, first, again, after = asyncio.run(scenario())
    finally:
        service.shutdown()
    _assert_error(busy, 503, "server busy: 1 requests in progress; retry later")
    assert busy.headers["retry-after"] == "1"
    assert busy.headers["connection"] == "close"
    assert len(processed) == 3  # the first and the two after, not the refused one
    assert (health["in_progress"], health["max_queue"]) == (1, 1)
    assert first.status_code == 200, first.text
    assert [r.status_code for r in again] == [200, 200]
    assert after["in_progress"] == 0 == service.in_progress


def test_admission_released_on_every_path(tiny_model):
    """Errors (4xx answers, 413 while reading, a failing model, a cancelled request) all
    give their place back: with max_queue=1 the next request is still admitted."""
    import httpx

    app = create_app(str(tiny_model), device="cpu", max_queue=1, max_upload_bytes=10_000)
    service = app.state.service
    with TestClient(app) as c:
        assert c.get("/api/v1/health").json()["max_queue"] == 1
        _assert_error(_post(c, box="1,1,5,5"), 400, "image")
        _assert_error(c.post("/api/v1/inpaint", data={"image": "x", "box": "1,1,2,2"}), 400)
        _assert_error(_post(c, b"0" * 100, box="1,1,5,5"), 415)
        _assert_error(_post(c, _encode(_image(20, 20)), box="0,0,20,20"), 422)
        _assert_error(_post(c, b"0" * 20_000, box="1,1,5,5"), 413)  # by Content-Length

        def chunks():  # no Content-Length: 413 raised while the body is read
            yield (b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a"'
                   b"\r\n\r\n")
            for _ in range(20):
                yield b"x" * 1000
            yield b"\r\n--xyz--\r\n"

        r = c.post("/api/v1/inpaint", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=xyz"})
        _assert_error(r, 413, "upload limit")
        _assert_error(c.post("/api/v1/nope"), 404)
        real = service.store.get("tiny")

        class Broken:
            def fill(self, image, mask, sketch=None):
                raise RuntimeError("boom")

        service.store._loaded["tiny"] = Broken()
        _assert_error(_post(c, _encode(_image(20, 20)), box="1,1,5,5"), 500, "inpainting")
        service.store._loaded["tiny"] = real
        assert service.in_progress == 0
        assert _post(c, _encode(_image(20, 20)), box="1,1,5,5").status_code == 200

    # a request cancelled while its inference runs (a client gone) gives its place back
    started, real = _slow_inference(app, 0.5)

    async def cancelled():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            task = asyncio.create_task(_good_request(ac))
            while not started.is_set():
                await asyncio.sleep(0.01)
            assert service.in_progress == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            in_progress = service.in_progress
            service.store._loaded["tiny"] = real
            return in_progress, await _good_request(ac)

    try:
        in_progress, r = asyncio.run(cancelled())
    finally:
        service.shutdown()
    assert in_progress == 0
    assert r.status_code == 200, r.text


def test_create_app_rejects_bad_limits(tiny_model):
    for bad in ({"max_queue": 0}, {"max_uploads": 0}, {"workers": 0}, {"body_timeout": 0},
                {"max_upload_bytes": 0}, {"max_pixels": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            create_app(str(tiny_model), device="cpu", **bad)
    with pytest.raises(ValueError, match="trusted_hosts"):
        create_app(str(tiny_model), device="cpu", trusted_hosts=[])
    app = create_app(str(tiny_model), device="cpu", workers=3)
    assert app.state.service.limits.max_queue == 12
    assert app.state.trusted_hosts is None


# ---------------------------------------------------------------------------------------
# Host header check (DNS rebinding protection)
# ---------------------------------------------------------------------------------------
def test_trusted_hosts(tiny_model):
    from context_encoder.server import LOOPBACK_HOSTS

    app = create_app(str(tiny_model), device="cpu", trusted_hosts=list(LOOPBACK_HOSTS))
    with TestClient(app) as c:
        for host in ("127.0.0.1:8000", "127.0.0.1", "localhost", "LocalHost:8000", "[::1]",
                     "[::1]:8000", "[0:0:0:0:0:0:0:1]:80"):
            r = c.get("/api/v1/health", headers={"host": host})
            assert r.status_code == 200, (host, r.text)
        assert _post(c, _encode(_image(20, 20)), box="1,1,5,5",
                     ).status_code == 400  # TestClient's own Host: testserver
        r = c.post("/api/v1/inpaint", files={"image": ("a.png", _encode(_image(20, 20)))},
                   data={"box": "1,1,5,5"}, headers={"host": "127.0.0.1:8000"})
        assert r.status_code == 200, r.text
        for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                     "localhost.evil.example:8000", "evil.example#@127.0.0.1", "[::1",
                     "::1", "127.0.0.1:80:80", "127.0.0.1:x", "[::2]:8000", ""):
            r = c.get("/api/v1/health", headers={"host": host})
            _assert_error(r, 400, "host")
        _assert_error(c.get("/", headers={"host": "evil.example"}), 400, "evil.example")


# ---------------------------------------------------------------------------------------
# The CLI
# ---------------------------------------------------------------------------------------
def _serve_args(*argv: str) -> argparse.Namespace:
    from context_encoder.cli import build_parser

    return build_parser().parse_args(["serve", *argv])


def test_cli_serve(tiny_model, monkeypatch, capsys):
    from context_encoder.cli import serve

    args = _serve_args()
    assert (args.host, args.port, args.workers, args.body_timeout) == ("127.0.0.1", 8000, 2, 10)
    assert (args.max_upload_mb, args.max_megapixels) == (20, 40)
    calls = []
    monkeypatch.setattr(serve, "_run_server", lambda app, sock: calls.append((app, sock)))
    # port 0: the socket is bound before anything is printed, and the URL names its port
    args = _serve_args("--model", str(tiny_model), "--device", "cpu", "--port", "0",
                       "--max-upload-mb", "1", "--max-megapixels", "2", "--workers", "3",
                       "--body-timeout", "2.5")
    assert args.func(args) == 0
    app, sock = calls[0]
    host, port = sock.getsockname()
    sock.close()
    assert host == "127.0.0.1" and port > 0
    assert f"on http://127.0.0.1:{port}/" in capsys.readouterr().out
    limits = app.state.service.limits
    assert (limits.max_upload_bytes, limits.max_pixels, limits.workers) == (
        1024 * 1024, 2_000_000, 3)
    assert (limits.max_queue, limits.max_uploads) == (12, 24)  # 4 x workers, 2 x max_queue
    assert limits.body_timeout == 2.5
    assert app.state.trusted_hosts == ["127.0.0.1", "localhost", "::1", "[::1]"]
    bound = []  # other addresses: not bound in tests

    class FakeSocket:
        def __init__(self, host, port):
            bound.append((host, port))
            self.address = (host, port)

        def getsockname(self):
            return self.address

        def close(self):
            pass

    monkeypatch.setattr(serve, "_bind", FakeSocket)
    args = _serve_args("--model", str(tiny_model), "--device", "cpu", "--max-queue", "5",
                       "--max-uploads", "7", "--host", "0.0.0.0")
    assert args.func(args) == 0
    assert bound[-1] == ("0.0.0.0", 8000)
    limits = calls[-1][0].state.service.limits
    assert (limits.max_queue, limits.max_uploads) == (5, 7)
    assert calls[-1][0].state.trusted_hosts is None  # not loopback: any Host
    args = _serve_args("--model", str(tiny_model), "--device", "cpu", "--host", "::1",
                       "--allowed-host", "inpaint.lan")
    assert args.func(args) == 0
    assert calls[-1][0].state.trusted_hosts == ["127.0.0.1", "localhost", "::1", "[::1]",
                                                "inpaint.lan"]
    for bad in (["--model", "/no/such/model.safetensors"], ["--workers", "0"],
                ["--max-upload-mb", "0"], ["--max-queue", "0"], ["--max-uploads", "0"],
                ["--body-timeout", "0"], ["--port", "70000"]):
        args = _serve_args(*bad)
        with pytest.raises(ContextEncoderError):  # printed as one line by cli.main
            args.func(args)


# ---------------------------------------------------------------------------------------
# Load test over real HTTP (the full 200 requests: python bench/load_test.py)
# ---------------------------------------------------------------------------------------
def test_load_small(tiny_model):
    bench = load_bench()
    with bench.serve_in_thread(tiny_model, device="cpu", workers=2) as url:
        res = bench.run_load(url, requests=40, concurrency=8, timeout_s=60)
    print(res.summary())
    assert res.all_correct, res.errors[:5]
    assert len(res.latencies_s) == 40
