"""`auto` through HTTP: the first entry of the model list, the default of a server started
without --model, and the method it chose in X-Inpaint-Method."""

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
    with TestClient(create_app(device="cpu")) as c:  # no model named: auto is the default
        yield c


def test_auto_is_first_and_the_default(client: TestClient) -> None:
    body = client.get("/api/v1/models").json()
    names = [m["name"] for m in body["models"]]
    assert names[0] == "auto" and body["default"] == "auto"
    assert "facades-freeform-128" in names
    assert body["models"][0]["task"] == "auto"


def test_the_chosen_method_is_named(client: TestClient) -> None:
    img = _photo()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[30:50, 40:70] = 255
    files = {"image": ("p.png", _png(img), "image/png"),
             "mask": ("m.png", _png(mask), "image/png")}
    r = client.post("/api/v1/inpaint", files=files)
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
