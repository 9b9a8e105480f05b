"""A sketch through the command line (``inpaint --sketch``) and HTTP (the ``sketch`` file
field): the lines change the hole only, folders pair sketches by stem, and a sketch of
another size or for a model without a sketch input is a clear error before any work."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from context_encoder.checkpoint import save_generator
from context_encoder.cli import main
from test_guided import guided_generator


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"guided": save_generator(guided_generator(), root / "guided.safetensors"),
            "plain": save_generator(guided_generator(conv="plain", guide="none"),
                                    root / "plain.safetensors")}


def scene(h=80, w=100, seed=0):
    image = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[20:60, 30:70] = 255
    sketch = np.zeros((h, w), np.uint8)
    sketch[40, 10:90] = 255
    sketch[25:55, 50] = 255
    return image, mask, sketch


def save(a: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)
    return path


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_cli_sketch_changes_the_hole_only(tmp_path, models, capsys):
    image, mask, sketch = scene()
    img, msk, sk = (save(a, tmp_path / n) for a, n in ((image, "p.png"), (mask, "m.png"),
                                                       (sketch, "s.png")))
    flags = ["--model", str(models["guided"]), "--device", "cpu", "--precision", "fp32"]
    assert main(["inpaint", str(img), "--mask", str(msk), "-o", str(tmp_path / "a.png"),
                 *flags]) == 0
    assert main(["inpaint", str(img), "--mask", str(msk), "--sketch", str(sk),
                 "-o", str(tmp_path / "b.png"), *flags]) == 0
    plain, guided = read(tmp_path / "a.png"), read(tmp_path / "b.png")
    hole = mask != 0
    np.testing.assert_array_equal(guided[~hole], image[~hole])
    assert (guided[hole] != plain[hole]).any()
    # a box hole takes a sketch as well
    assert main(["inpaint", str(img), "--box", "30,20,40,40", "--sketch", str(sk),
                 "-o", str(tmp_path / "c.png"), *flags]) == 0
    np.testing.assert_array_equal(read(tmp_path / "c.png"), guided)


def test_cli_sketch_folder_paired_by_stem(tmp_path, models, capsys):
    src = tmp_path / "photos"
    expected = {}
    for i, name in enumerate(("a", "b")):
        image, mask, sketch = scene(seed=i)
        sketch = np.roll(sketch, 5 * i, axis=0)
        save(image, src / f"{name}.png")
        save(mask, tmp_path / "masks" / f"{name}.png")
        save(sketch, src / "sketches" / f"{name}.png")  # inside the image folder: no image
        flags = ["--model", str(models["guided"]), "--device", "cpu", "--precision", "fp32"]
        one = tmp_path / f"one-{name}.png"
        assert main(["inpaint", str(src / f"{name}.png"), "--mask",
                     str(tmp_path / "masks" / f"{name}.png"), "--sketch",
                     str(src / "sketches" / f"{name}.png"), "-o", str(one), *flags]) == 0
        expected[name] = read(one)
    out = tmp_path / "out"
    assert main(["inpaint", str(src), "--mask", str(tmp_path / "masks"), "--sketch",
                 str(src / "sketches"), "-o", str(out), *flags]) == 0
    assert sorted(p.name for p in out.rglob("*.png")) == ["a.png", "b.png"]
    for name, want in expected.items():
        np.testing.assert_array_equal(read(out / f"{name}.png"), want)
    # an image without its sketch fails alone, naming it
    (src / "sketches" / "b.png").unlink()
    assert main(["inpaint", str(src), "--mask", str(tmp_path / "masks"), "--sketch",
                 str(src / "sketches"), "-o", str(tmp_path / "out2"), *flags]) == 1
    assert "no sketch for" in capsys.readouterr().err
    assert (tmp_path / "out2" / "a.png").exists() and not (tmp_path / "out2" / "b.png").exists()


def test_cli_sketch_errors_before_any_work(tmp_path, models, capsys):
    image, mask, sketch = scene()
    img, msk = save(image, tmp_path / "p.png"), save(mask, tmp_path / "m.png")
    small = save(sketch[:40, :50], tmp_path / "small.png")
    sk = save(sketch, tmp_path / "s.png")
    out = tmp_path / "o.png"
    base = ["inpaint", str(img), "--mask", str(msk), "-o", str(out), "--device", "cpu"]
    # the size is checked before the model loads (the model does not exist)
    assert main([*base, "--sketch", str(small), "--model", "no-such-model"]) == 2
    one_line_error(capsys, "sketch", str(small), "50x40", "100x80")
    assert main([*base, "--sketch", str(tmp_path / "none.png")]) == 2
    one_line_error(capsys, "sketch", "does not exist")
    assert main([*base, "--sketch", str(sk), "--model", str(models["plain"])]) == 2
    one_line_error(capsys, "--sketch", "has no sketch input", "--guide sketch")
    assert main([*base, "--sketch", str(sk), "--method", "telea"]) == 2
    one_line_error(capsys, "'telea' has no sketch input")
    folder = tmp_path / "photos"
    save(image, folder / "p.png")
    save(sketch, tmp_path / "sk" / "p.png")
    assert main(["inpaint", str(folder), "--mask", str(msk), "--sketch", str(tmp_path / "sk"),
                 "-o", str(tmp_path / "outdir"), "--model", str(models["plain"])]) == 2
    one_line_error(capsys, "has no sketch input")
    assert not out.exists() and not list((tmp_path / "outdir").rglob("*.png"))


# ---------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(models):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx2.*")
        from fastapi.testclient import TestClient
    from context_encoder.server import create_app

    with TestClient(create_app(str(models["guided"]), device="cpu")) as c:
        yield c


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def post(client, image, mask, sketch=None, **data):
    files = {"image": ("p.png", png(image), "image/png"), "mask": ("m.png", png(mask), "image/png")}
    if sketch is not None:
        files["sketch"] = ("s.png", sketch if isinstance(sketch, bytes) else png(sketch),
                           "image/png")
    return client.post("/api/v1/inpaint", files=files, data=data or None)


def test_http_sketch_field(client):
    image, mask, sketch = scene()
    plain = post(client, image, mask)
    guided = post(client, image, mask, sketch)
    assert plain.status_code == guided.status_code == 200, guided.text
    a = np.asarray(Image.open(io.BytesIO(plain.content)))
    b = np.asarray(Image.open(io.BytesIO(guided.content)))
    hole = mask != 0
    np.testing.assert_array_equal(b[~hole], image[~hole])
    assert (b[hole] != a[hole]).any()

    r = post(client, image, mask, sketch[:40, :50])
    assert r.status_code == 422
    assert r.json()["error"] == ("sketch size 50x40 does not match the image size 100x80 "
                                 "(width x height)")
    r = post(client, image, mask, b"not an image")
    assert r.status_code == 415 and "sketch" in r.json()["error"]
    r = post(client, image, mask, sketch, model="facades-freeform-128")
    assert r.status_code == 400
    assert r.json()["error"].startswith("model 'facades-freeform-128' has no sketch input")
