"""`auto` through HTTP: the first entry of the model list, the default only when asked for,
the method it chose in X-Inpaint-Method, its own lane, the time limit and abandoned work."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient  # noqa: E402

from context_encoder.server import create_app  # noqa: E402


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _photo(h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([xx * 1.5, yy * 2.0, (xx + yy) * 0.8], axis=2)
    return np.clip(smooth + 40, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(device="cpu")) as c:  # no model named: the shipped one
        yield c


def test_auto_is_first_and_the_default_only_when_asked_for(client: TestClient) -> None:
    body = client.get("/api/v1/models").json()
    names = [m["name"] for m in body["models"]]
    assert names[0] == "auto" and body["default"] == "facades-freeform-128"
    assert body["models"][0]["task"] == "auto"
    with TestClient(create_app("auto", device="cpu")) as c:  # `serve --model auto`
        body = c.get("/api/v1/models").json()
        assert body["default"] == "auto" and "facades-freeform-128" in [
            m["name"] for m in body["models"]]


def test_the_chosen_method_is_named(client: TestClient) -> None:
    img = _photo()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[30:50, 40:70] = 255
    files = {"image": ("p.png", _png(img), "image/png"),
             "mask": ("m.png", _png(mask), "image/png")}
    r = client.post("/api/v1/inpaint", files=files, data={"model": "auto"})
    assert r.status_code == 200, r.text
    method = r.headers["x-inpaint-method"]
    assert "hole" in method and any(
        m in method for m in ("telea", "ns", "biharmonic", "patchmatch", "mean",
                              "facades-freeform-128")), method
    out = np.asarray(Image.open(io.BytesIO(r.content)))
    assert np.array_equal(out[mask == 0], img[mask == 0])  # outside the hole: unchanged
    r = client.post("/api/v1/inpaint", files=files, data={"model": "facades-freeform-128"})
    assert r.status_code == 200 and r.headers["x-inpaint-method"] == "facades-freeform-128"


def test_adapt_steps_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="adapt_steps"):
        create_app(device="cpu", adapt_steps=-1)
    with pytest.raises(ValueError, match="adapt_steps must be in 0..1000"):
        create_app(device="cpu", adapt_steps=10**9)  # the first request would never return


def _files() -> dict:
    img = _photo()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[30:50, 40:70] = 255
    return {"image": ("p.png", _png(img), "image/png"),
            "mask": ("m.png", _png(mask), "image/png")}


def test_a_slow_auto_request_is_stopped_at_the_time_limit_and_passed_by_models() -> None:
    """auto adapting for 1,000 steps (minutes) is stopped at the limit with a 503, and a
    request naming the model, sent while it runs, is answered first."""
    import threading
    import time

    app = create_app(device="cpu", adapt_steps=1000, request_timeout=4.0)
    with TestClient(app) as c:
        c.post("/api/v1/inpaint", files=_files())  # the model warmed up
        done: dict[str, float] = {}
        slow = {}

        def send_auto() -> None:
            slow["r"] = c.post("/api/v1/inpaint", files=_files(), data={"model": "auto"})
            done["auto"] = time.monotonic()

        t = threading.Thread(target=send_auto)
        t.start()
        time.sleep(0.5)
        fast = c.post("/api/v1/inpaint", files=_files())
        done["model"] = time.monotonic()
        t.join(60)
        assert fast.status_code == 200 and fast.headers["x-model"] == "facades-freeform-128"
        r = slow["r"]
        assert r.status_code == 503 and "time limit of 4 s (adapting" in r.json()["error"], r.text
        assert done["model"] < done["auto"]  # the model request passed the busy auto one
        assert c.get("/api/v1/health").json()["in_progress"] == 0


def test_the_work_of_a_client_that_has_gone_stops(tiny_model, caplog) -> None:
    """Over real HTTP: a client gives up on a long auto request; its work stops (the
    request leaves the server) long before the time limit."""
    import logging
    import time

    caplog.set_level(logging.INFO, "context_encoder.server")
    import httpx

    from conftest import load_bench

    with load_bench().serve_in_thread(tiny_model, workers=2, adapt_steps=1000,
                                      request_timeout=120.0) as url:
        with httpx.Client(timeout=1.0) as client, pytest.raises(httpx.ReadTimeout):
            client.post(url + "/api/v1/inpaint", files=_files(), data={"model": "auto"})
        t0 = time.monotonic()
        while time.monotonic() - t0 < 15:
            if httpx.get(url + "/api/v1/health").json()["in_progress"] == 0:
                break
            time.sleep(0.2)
        assert httpx.get(url + "/api/v1/health").json()["in_progress"] == 0
    assert "stopped (the client has gone), adapting the model (steps)" in caplog.text
