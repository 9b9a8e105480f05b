"""End to end in a real headless browser: open an image, paint a stroke, inpaint, and
check that only the painted pixels changed.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and the ``playwright``
Python package; skipped otherwise. Playwright never downloads a browser here: the system
Chromium is launched through ``executable_path``.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
from conftest import load_bench  # noqa: E402

W, H = 240, 160
BRUSH = 10
STROKE = [(40.0, 50.0), (120.0, 95.0), (200.0, 95.0)]  # image pixels
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]



def _test_image() -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([120 + 90 * np.sin(xx / 9), 120 + 90 * np.cos(yy / 7), (xx + yy) / 2], 2)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def _distance_to_polyline(points: list[tuple[float, float]]) -> np.ndarray:
    """Distance of each pixel center to the stroke path, in image pixels."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    px, py = xx + 0.5, yy + 0.5
    best = np.full((H, W), np.inf)
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:], strict=True):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(px - (x0 + t * dx), py - (y0 + t * dy)))
    return best


def _canvas_pixels(page, selector: str) -> np.ndarray:
    url = page.evaluate(f"document.querySelector({selector!r}).toDataURL('image/png')")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_paint_and_inpaint_in_headless_chromium(tmp_path, monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed")
    monkeypatch.setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

    from context_encoder.server import service as server_service

    jobs = []  # what the server received (the browser's dev tools cannot show blob uploads)
    real_process = server_service.Service.process

    def spy(self, job):
        jobs.append(job)
        return real_process(self, job)

    monkeypatch.setattr(server_service.Service, "process", spy)
    bench = load_bench()
    model = bench.make_tiny_model(tmp_path / "tiny.safetensors")
    img = _test_image()
    src = tmp_path / "photo.png"
    Image.fromarray(img).save(src)

    with bench.serve_in_thread(model, device="cpu") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.set_default_timeout(20_000)
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:"))
                    else outside.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(url + "/")
            page.wait_for_selector("#model option", state="attached")
            page.set_input_files("#file-input", str(src))
            page.wait_for_selector("#canvas-wrap:not([hidden])")
            page.wait_for_function(f"document.getElementById('canvas').width === {W}")
            page.evaluate("""size => { const s = document.getElementById('brush-size');
                s.value = String(size); s.dispatchEvent(new Event('input')); }""", BRUSH)

            box = page.locator("#canvas").bounding_box()
            sx, sy = box["width"] / W, box["height"] / H

            def to_screen(p):
                return box["x"] + p[0] * sx, box["y"] + p[1] * sy

            page.mouse.move(*to_screen(STROKE[0]))
            page.mouse.down()
            for p in STROKE[1:]:
                page.mouse.move(*to_screen(p), steps=25)
            page.mouse.up()

            with page.expect_response(lambda r: "/api/v1/inpaint" in r.url) as info:
                page.click("#inpaint")
            response = info.value
            assert response.status == 200, response.text()
            response.finished()
            result = np.asarray(Image.open(io.BytesIO(response.body())).convert("RGB"))
            page.wait_for_selector("#status[data-state='done']")

            # the mask sent: black/white PNG at the image's full resolution
            assert len(jobs) == 1 and jobs[0].mask is not None
            mask = np.asarray(Image.open(io.BytesIO(jobs[0].mask)).convert("L"))
            assert mask.shape == (H, W)
            assert set(np.unique(mask)) <= {0, 255}

            dist = _distance_to_polyline(STROKE)
            on_stroke = dist < BRUSH / 2 - 1.5
            far = dist > BRUSH / 2 + 2.5
            assert (mask[on_stroke] == 255).all() and (mask[far] == 0).all()

            # only the stroke changed
            assert result.shape == img.shape
            assert np.array_equal(result[far], img[far])
            changed = (result != img).any(axis=2)
            assert changed[on_stroke].mean() > 0.9
            assert changed[~far].sum() == changed.sum()

            # the result is the new working image; undo goes back to before the inpaint
            assert np.array_equal(_canvas_pixels(page, "#image-canvas"), result)
            assert page.is_enabled("#download") and page.is_enabled("#compare")
            page.click("#undo")
            assert np.array_equal(_canvas_pixels(page, "#image-canvas"), img)
            page.keyboard.press("Control+y")
            assert np.array_equal(_canvas_pixels(page, "#image-canvas"), result)

            assert not errors, errors
            assert not outside, outside
        finally:
            browser.close()
