"""The static site of ``export --format web``: the page fills holes in the browser itself.

* the export writes the page, ONNX Runtime Web, the model and models.json, and refuses
  to write over a folder or to build without the runtime;
* the page's pipeline (static/inpaint.js), run by Node with ONNX Runtime Web, gives the
  Python pipeline's fill for every shipped model, several holes, holes at the edges and a
  sketch (skipped without node or ``make web-runtime``);
* in headless Chromium, the site served by a plain static file server fills a brushed hole
  on a photo and a sketch-guided hole on a facade, within 2/255 (mean absolute difference
  inside the hole) of the server's fill for the same model, image, mask and sketch, and
  asks nothing of any other host (skipped without Chromium).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from conftest import load_bench  # noqa: E402
from context_encoder.cli import main  # noqa: E402
from context_encoder.data import render_facade  # noqa: E402
from context_encoder.server import static_site  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NODE_FILL = REPO / "web" / "fill.cjs"
SHIPPED = ("facades-center-128", "facades-freeform-128", "facades-guided-128")
#: The issue's bound: mean absolute difference inside the hole, in 8-bit levels.
TOLERANCE = 2.0


def _runtime_built() -> bool:
    return all((static_site.RUNTIME_DIR / f).is_file() for f in static_site.RUNTIME_FILES)


needs_runtime = pytest.mark.skipif(not _runtime_built(),
                                   reason="ONNX Runtime Web is not built (make web-runtime)")


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    if not _runtime_built():
        pytest.skip("ONNX Runtime Web is not built (make web-runtime)")
    root = tmp_path_factory.mktemp("sites")
    return {name: static_site.export_site(name, root / name) for name in SHIPPED}


def _photo(w: int, h: int) -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (w, h), interpolation=cv2.INTER_AREA)


def _onnx(site: Path) -> Path:
    return site / json.loads((site / "models.json").read_text())["models"][0]["file"]


def _server_fill(site: Path, img: np.ndarray, hole: np.ndarray,
                 sketch: np.ndarray | None = None) -> np.ndarray:
    """The inpainting server's answer for the site's model (its .onnx file)."""
    from fastapi.testclient import TestClient

    from context_encoder.server import create_app

    def png(a: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG")
        return buf.getvalue()

    files = {"image": ("i.png", png(img), "image/png"),
             "mask": ("m.png", png(hole.astype(np.uint8) * 255), "image/png")}
    if sketch is not None:
        files["sketch"] = ("s.png", png(sketch.astype(np.uint8) * 255), "image/png")
    with TestClient(create_app(str(_onnx(site)), device="cpu")) as c:
        r = c.post("/api/v1/inpaint", files=files)
    assert r.status_code == 200, r.text
    return np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))


def _check_close(got: np.ndarray, ref: np.ndarray, hole: np.ndarray) -> float:
    """The same outside the hole; the mean absolute difference inside it (8-bit levels)."""
    np.testing.assert_array_equal(got[~hole], ref[~hole])
    mad = float(np.abs(got[hole].astype(int) - ref[hole].astype(int)).mean())
    assert mad <= TOLERANCE, mad
    return mad


# -- the export ----------------------------------------------------------------------------
def test_the_site_holds_the_page_the_runtime_and_the_model(sites):
    site = sites["facades-guided-128"]
    html = (site / "index.html").read_text()
    assert 'data-inference="browser"' in html
    for f in ("static/ort/ort.min.js", "static/inpaint.js", "static/app.js"):
        assert f'src="{f}"' in html and (site / f).is_file()
    assert "http://" not in html and "https://" not in html  # nothing from other hosts
    for f in static_site.RUNTIME_FILES:
        assert (site / "static" / "ort" / f).stat().st_size > 0
    listing = json.loads((site / "models.json").read_text())
    entry = listing["models"][0]
    assert listing["default"] == entry["name"] == "facades-guided-128"
    assert entry["sketch"] is True and entry["task"] == "full" and entry["image_size"] == 128
    assert (site / entry["file"]).is_file()
    import onnxruntime as ort

    meta = ort.InferenceSession(str(site / entry["file"])).get_modelmeta().custom_metadata_map
    assert json.loads(meta["model_config"])["guide"] == "sketch"


@needs_runtime
def test_export_web_refuses_and_keeps_files(tmp_path, capsys, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "keep.txt").write_text("keep me")
    assert main(["export", "facades-center-128", "--format", "web", "-o", str(site)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (site / "keep.txt").read_text() == "keep me"
    afile = tmp_path / "page.html"
    afile.write_text("keep me")
    assert main(["export", "facades-center-128", "--format", "web", "-o", str(afile)]) == 2
    assert "writes a folder" in capsys.readouterr().err and afile.read_text() == "keep me"
    assert main(["export", "no-such-model", "--format", "web", "-o",
                 str(tmp_path / "new")]) == 2
    assert not (tmp_path / "new").exists()
    # --overwrite replaces only a site written earlier: never another folder, nor the one
    # the command runs in
    assert main(["export", "facades-center-128", "--format", "web", "-o", str(site),
                 "--overwrite"]) == 2
    assert "not a site written by export" in capsys.readouterr().err
    assert (site / "keep.txt").read_text() == "keep me"
    monkeypatch.chdir(site)
    assert main(["export", "facades-center-128", "--format", "web", "-o", ".",
                 "--overwrite"]) == 2
    assert "current folder" in capsys.readouterr().err and (site / "keep.txt").exists()
    monkeypatch.chdir(tmp_path)
    assert main(["export", "facades-center-128", "--format", "web", "-o",
                 str(afile / "sub")]) == 2
    assert "is a file" in capsys.readouterr().err
    monkeypatch.setattr(static_site, "RUNTIME_DIR", tmp_path / "no-runtime")
    assert main(["export", "facades-center-128", "--format", "web", "-o",
                 str(tmp_path / "new")]) == 2
    assert "make install" in capsys.readouterr().err and not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html", "site"]


@needs_runtime
def test_overwrite_replaces_a_site_written_earlier(sites, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(sites["facades-center-128"], site)
    (site / "stale.txt").write_text("from before")
    assert main(["export", "facades-center-128", "--format", "web", "-o", str(site),
                 "--overwrite"]) == 0
    assert static_site.is_site(site) and not (site / "stale.txt").exists()


# -- the page's pipeline in Node -----------------------------------------------------------
def _node_fill(site: Path, img: np.ndarray, hole: np.ndarray, sketch: np.ndarray | None,
               work: Path) -> np.ndarray:
    h, w = hole.shape
    work.mkdir()
    rgba = np.dstack([img, np.full((h, w), 255, np.uint8)])
    (work / "rgba.bin").write_bytes(rgba.tobytes())
    (work / "hole.bin").write_bytes(hole.astype(np.uint8).tobytes())
    if sketch is not None:
        (work / "sketch.bin").write_bytes(sketch.astype(np.uint8).tobytes())
    (work / "job.json").write_text(json.dumps({"w": w, "h": h, "sketch": sketch is not None}))
    subprocess.run(["node", str(NODE_FILL), str(site / "models.json"), str(_onnx(site)),
                    str(work)], check=True, cwd=REPO, timeout=120)
    out = np.frombuffer((work / "out.bin").read_bytes(), np.uint8).reshape(h, w, 4)
    assert (out[..., 3] == 255).all()
    return out[..., :3]


def _cases():
    """A photo with a stroke, a box, a hole at a corner and a tiny one; a 512 px photo with
    one large hole; a facade with a hole and a sketch across it."""
    img = _photo(300, 220)
    hole = np.zeros(img.shape[:2], np.uint8)
    cv2.line(hole, (40, 50), (200, 120), 1, 12)
    hole[150:190, 230:290] = 1
    hole[0:20, 0:15] = 1
    hole[100:103, 5:8] = 1
    yield "photo", img, hole.astype(bool), None
    big = _photo(512, 512)
    hole = np.zeros(big.shape[:2], bool)
    hole[150:330, 200:380] = True
    yield "photo-512", big, hole, None
    facade = render_facade("val", 3, 256)
    hole = np.zeros(facade.shape[:2], bool)
    hole[60:160, 70:200] = True
    sketch = np.zeros(facade.shape[:2], np.uint8)
    cv2.line(sketch, (50, 100), (220, 130), 1, 2)
    cv2.line(sketch, (120, 40), (120, 180), 1, 2)
    yield "facade", facade, hole, sketch.astype(bool)


@pytest.mark.skipif(shutil.which("node") is None, reason="no node")
@pytest.mark.parametrize("name", SHIPPED)
def test_the_pages_pipeline_gives_the_python_fill(sites, name, tmp_path):
    if not (REPO / "web" / "node_modules" / "onnxruntime-web").is_dir():
        pytest.skip("web/node_modules is not installed (make web-runtime)")
    from context_encoder.inference import Inpainter

    inp = Inpainter.from_pretrained(_onnx(sites[name]))
    for case, img, hole, sketch in _cases():
        if sketch is not None and not inp.takes_sketch:
            sketch = None
        got = _node_fill(sites[name], img, hole, sketch, tmp_path / case)
        ref = inp(img, hole, sketch)
        assert (got[hole] != img[hole]).any()
        _check_close(got, ref, hole)


# -- the page in Chromium, served as static files ------------------------------------------
def _open(page, url: str, src: Path, w: int) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#model option", state="attached")
    page.set_input_files("#file-input", str(src))
    page.wait_for_selector("#canvas-wrap:not([hidden])")
    page.wait_for_function(f"document.getElementById('canvas').width === {w}")


def _drag(page, points, w: int, h: int) -> None:
    box = page.locator("#canvas").bounding_box()

    def screen(p):
        return box["x"] + p[0] * box["width"] / w, box["y"] + p[1] * box["height"] / h

    page.mouse.move(*screen(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*screen(p), steps=20)
    page.mouse.up()


def _fill_in_page(page) -> tuple[np.ndarray, str]:
    """Press Inpaint; the page's new working image and its status line, once done."""
    from test_browser import _canvas_pixels

    page.click("#inpaint")
    page.wait_for_selector("#status[data-state='done'], #status[data-state='error']",
                           timeout=120_000)
    status = page.text_content("#status")
    assert page.get_attribute("#status", "data-state") == "done", status
    return _canvas_pixels(page, "#image-canvas"), status


@pytest.mark.browser
def test_the_static_page_fills_a_brushed_hole_on_a_photo(sites, tmp_path, monkeypatch):
    from test_browser import _browser_page, _canvas_pixels

    site = sites["facades-freeform-128"]
    w, h = 256, 192
    img = _photo(w, h)
    src = tmp_path / "photo.png"
    Image.fromarray(img).save(src)
    with load_bench("web_speed").static_server(site) as url, _browser_page(url, monkeypatch) as page:
        _open(page, url, src, w)
        assert page.input_value("#model") == "facades-freeform-128"
        _drag(page, [(60, 60), (140, 110), (200, 100)], w, h)
        hole = _canvas_pixels(page, "#canvas", "RGBA")[..., 3] != 0  # before it is filled
        got, status = _fill_in_page(page)
        assert "in the browser" in status
    assert hole.sum() > 500 and (got[hole] != img[hole]).any()
    _check_close(got, _server_fill(site, img, hole), hole)


@pytest.mark.browser
def test_the_static_page_fills_a_sketch_guided_hole_on_a_facade(sites, tmp_path, monkeypatch):
    from test_browser import _browser_page, _canvas_pixels

    site = sites["facades-guided-128"]
    w = h = 256
    img = render_facade("val", 5, w)
    src = tmp_path / "facade.png"
    Image.fromarray(img).save(src)
    with load_bench("web_speed").static_server(site) as url, _browser_page(url, monkeypatch) as page:
        _open(page, url, src, w)
        page.click("#tool-rect")
        _drag(page, [(70, 60), (190, 170)], w, h)
        page.click("#tool-sketch")
        _drag(page, [(50, 110), (130, 95), (210, 120)], w, h)
        hole = _canvas_pixels(page, "#canvas", "RGBA")[..., 3] != 0
        sketch = _canvas_pixels(page, "#sketch-canvas", "RGBA")[..., 3] != 0
        guided, status = _fill_in_page(page)
        assert "following the sketch" in status
        page.click("#undo")  # the fill, then the sketch: the same hole without it
        page.click("#undo")
        plain, _ = _fill_in_page(page)
    assert (sketch & hole).sum() > 100
    _check_close(guided, _server_fill(site, img, hole, sketch), hole)
    _check_close(plain, _server_fill(site, img, hole), hole)
    assert (guided[hole] != plain[hole]).any()
