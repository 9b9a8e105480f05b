"""End to end in a real headless browser: open an image, paint a stroke, inpaint, and
check that only the painted pixels changed; with a sketch-guided model, draw a sketch
across the hole and check that it changes the fill inside the hole only, and that the
Sketch tool is disabled, with its note, for a model without a sketch input.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and the ``playwright``
Python package; skipped otherwise. Playwright never downloads a browser here: the system
Chromium is launched through ``executable_path``.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

from conftest import load_bench  # noqa: E402

_WEB = load_bench("web_speed")  # one list of Chromium's flags for the tests and the bench
CHROMIUM, CHROMIUM_ARGS = _WEB.CHROMIUM, _WEB.CHROMIUM_ARGS

W, H = 240, 160
BRUSH = 10
STROKE = [(40.0, 50.0), (120.0, 95.0), (200.0, 95.0)]  # image pixels
HOLE = (80.0, 40.0, 170.0, 120.0)  # x0, y0, x1, y1 of the rectangle hole
SKETCH = [(60.0, 65.0), (125.0, 90.0), (190.0, 70.0)]  # across the hole and beyond it


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


def _canvas_pixels(page, selector: str, mode: str = "RGB") -> np.ndarray:
    url = page.evaluate(f"document.querySelector({selector!r}).toDataURL('image/png')")
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


def _png_array(data: bytes, mode: str = "RGB") -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


@pytest.fixture
def jobs(monkeypatch) -> list:
    """What the server received (the browser's dev tools cannot show blob uploads)."""
    from context_encoder.server import service as server_service

    received = []
    real_process = server_service.Service.process

    def spy(self, job):
        received.append(job)
        return real_process(self, job)

    monkeypatch.setattr(server_service.Service, "process", spy)
    return received


@contextlib.contextmanager
def _browser_page(url: str, monkeypatch) -> Iterator:
    """A headless Chromium page on the server at ``url``; on exit, asserts that the page
    raised no error and asked nothing of any other host."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed")
    monkeypatch.setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.set_default_timeout(20_000)
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:"))
                    else outside.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page
            assert not errors, errors
            assert not outside, outside
        finally:
            browser.close()


def _open(page, url: str, src: Path) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#model option", state="attached")
    page.set_input_files("#file-input", str(src))
    page.wait_for_selector("#canvas-wrap:not([hidden])")
    page.wait_for_function(f"document.getElementById('canvas').width === {W}")


def _drag(page, points: list[tuple[float, float]]) -> None:
    """Press at the first point (image pixels), move through the others, release."""
    box = page.locator("#canvas").bounding_box()
    sx, sy = box["width"] / W, box["height"] / H

    def to_screen(p):
        return box["x"] + p[0] * sx, box["y"] + p[1] * sy

    page.mouse.move(*to_screen(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*to_screen(p), steps=25)
    page.mouse.up()


def _inpaint(page) -> np.ndarray:
    """Press Inpaint; the result the server sent, once the page shows it."""
    with page.expect_response(lambda r: "/api/v1/inpaint" in r.url) as info:
        page.click("#inpaint")
    response = info.value
    assert response.status == 200, response.text()
    response.finished()
    page.wait_for_selector("#status[data-state='done']")
    return _png_array(response.body())


def test_paint_and_inpaint_in_headless_chromium(tmp_path, monkeypatch, jobs):
    bench = load_bench()
    model = bench.make_tiny_model(tmp_path / "tiny.safetensors")
    img = _test_image()
    src = tmp_path / "photo.png"
    Image.fromarray(img).save(src)

    with bench.serve_in_thread(model, device="cpu") as url, \
            _browser_page(url, monkeypatch) as page:
        _open(page, url, src)
        page.evaluate("""size => { const s = document.getElementById('brush-size');
            s.value = String(size); s.dispatchEvent(new Event('input')); }""", BRUSH)
        _drag(page, STROKE)
        result = _inpaint(page)

        # the mask sent: black/white PNG at the image's full resolution; no sketch
        assert len(jobs) == 1 and jobs[0].mask is not None and jobs[0].sketch is None
        mask = _png_array(jobs[0].mask, "L")
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


def _sketch_state(page) -> dict:
    """The Sketch tool's button (disabled, pressed) and its note (None when hidden)."""
    state = page.evaluate("""() => {
        const b = document.getElementById('tool-sketch');
        const n = document.getElementById('sketch-note');
        return { disabled: b.disabled, pressed: b.getAttribute('aria-pressed'),
                 note: n.hidden ? null : n.textContent,
                 described: b.getAttribute('aria-describedby') }; }""")
    assert state.pop("described") == ("sketch-note" if state["note"] else None)
    return state


def test_a_sketch_guides_the_fill_inside_the_hole_only(tmp_path, monkeypatch, jobs):
    """Hole, then a sketch across it: the fill differs from the same hole's without the
    sketch inside the hole only; a model without a sketch input disables the tool."""
    from context_encoder.checkpoint import save_generator
    from test_guided import guided_generator  # tiny, gated, sketch-guided, seeded

    model = save_generator(guided_generator(), tmp_path / "guided.safetensors")
    img = _test_image()
    src = tmp_path / "photo.png"
    Image.fromarray(img).save(src)

    with load_bench().serve_in_thread(model, device="cpu") as url, \
            _browser_page(url, monkeypatch) as page:
        _open(page, url, src)
        assert page.input_value("#model") == "guided"
        assert _sketch_state(page) == {"disabled": False, "pressed": "false", "note": None}
        page.click("#tool-rect")
        x0, y0, x1, y1 = HOLE
        _drag(page, [(x0, y0), (x1, y1)])
        page.keyboard.press("s")  # the Sketch tool's shortcut
        assert _sketch_state(page)["pressed"] == "true"
        _drag(page, SKETCH)

        # its own layer, in a colour apart from the hole's
        rgba = _canvas_pixels(page, "#sketch-canvas", "RGBA")
        drawn = rgba[..., 3] == 255
        assert drawn.any()  # cyan (overlapping segments may round a channel by one)
        assert (np.abs(rgba[drawn][:, :3].astype(int) - (0, 229, 255)) <= 2).all()
        mask_rgba = _canvas_pixels(page, "#canvas", "RGBA")
        assert (np.abs(mask_rgba[mask_rgba[..., 3] == 255][:, :3].astype(int)
                       - (255, 40, 40)) <= 2).all()

        guided = _inpaint(page)
        assert len(jobs) == 1 and jobs[0].sketch is not None
        sketch = _png_array(jobs[0].sketch, "L")  # at the image's resolution, not the screen's
        assert sketch.shape == (H, W) and set(np.unique(sketch)) <= {0, 255}
        dist = _distance_to_polyline(SKETCH)
        assert (sketch[dist < 0.5] == 255).all() and (sketch[dist > 4] == 0).all()

        # undo the inpaint, then the sketch: the same hole, no sketch
        page.click("#undo")
        page.click("#undo")
        assert not _canvas_pixels(page, "#sketch-canvas", "RGBA")[..., 3].any()
        plain = _inpaint(page)
        assert len(jobs) == 2 and jobs[1].sketch is None
        hole = _png_array(jobs[1].mask, "L") != 0
        np.testing.assert_array_equal(hole, _png_array(jobs[0].mask, "L") != 0)
        assert hole.any() and not hole.all()
        np.testing.assert_array_equal(guided[~hole], img[~hole])
        np.testing.assert_array_equal(plain[~hole], img[~hole])
        assert (guided[hole] != plain[hole]).any()

        # back to the hole; a sketch drawn, then a model without a sketch input chosen
        page.click("#undo")
        page.click("#tool-sketch")
        _drag(page, SKETCH)
        for name in ("auto", "facades-freeform-128"):
            page.select_option("#model", name)
            assert _sketch_state(page) == {"disabled": True, "pressed": "false",
                                           "note": "this model takes no sketch"}
            assert page.get_attribute("#tool-brush", "aria-pressed") == "true"
        page.locator("#canvas").focus()
        page.keyboard.press("s")  # the shortcut does not pick a disabled tool
        assert _sketch_state(page)["pressed"] == "false"
        _inpaint(page)  # the sketch stays drawn, but is not sent
        assert len(jobs) == 3 and jobs[2].sketch is None and jobs[2].model == "facades-freeform-128"
        page.select_option("#model", "guided")
        assert _sketch_state(page) == {"disabled": False, "pressed": "false", "note": None}

        # Clear wipes the hole and the sketch; one undo brings both back
        page.click("#undo")  # before the last inpaint: the hole and the sketch
        layers = ("#canvas", "#sketch-canvas")
        drawn = [_canvas_pixels(page, c, "RGBA")[..., 3] for c in layers]
        assert all(a.any() for a in drawn)
        page.click("#clear")
        assert not any(_canvas_pixels(page, c, "RGBA")[..., 3].any() for c in layers)
        page.keyboard.press("Control+z")
        for c, before in zip(layers, drawn, strict=True):
            np.testing.assert_array_equal(_canvas_pixels(page, c, "RGBA")[..., 3], before)
