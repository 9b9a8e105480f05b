"""Models outside Python: every shipped model exports to ONNX, runs in ONNX Runtime through
the same Inpainter (within 1/255 of PyTorch in the hole, identical outside), and the bare
graph runs with onnxruntime and numpy alone."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from context_encoder.cli import main  # noqa: E402
from context_encoder.data import render_facade  # noqa: E402
from context_encoder.inference import Inpainter, load_inpainter  # noqa: E402
from context_encoder.masks import get_mask_generator  # noqa: E402
from context_encoder.onnx_model import export_onnx  # noqa: E402

SHIPPED = ("facades-center-128", "facades-freeform-128", "facades-guided-128")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    return {name: export_onnx(name, root / f"{name}.onnx") for name in SHIPPED}


def _cases(name: str):
    """Demo-like inputs: validation facades at 128 and 200 px with the model's holes."""
    rng = np.random.default_rng(0)
    images = [render_facade("val", i, size) for i, size in enumerate((128, 128, 200))]
    kind = "center" if name == "facades-center-128" else "thick"
    masks = [get_mask_generator(kind)(im.shape[:2], rng) for im in images]
    return images, masks


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_runtime_matches_pytorch(exported, name):
    torch_inp = Inpainter.from_pretrained(name, device="cpu", precision="fp32")
    onnx_inp = Inpainter.from_pretrained(exported[name])
    assert onnx_inp.config == torch_inp.config and onnx_inp.name == name
    images, masks = _cases(name)
    sketches = None
    if name == "facades-guided-128":
        sketches = [np.zeros(m.shape, bool) for m in masks]
        for s, m in zip(sketches, masks, strict=True):
            s[::9] = True  # horizontal strokes, kept inside the hole
            s &= m
    ref = torch_inp.inpaint_arrays(images, masks, sketches)
    got = onnx_inp.inpaint_arrays(images, masks, sketches)
    for r, g, m in zip(ref, got, masks, strict=True):
        assert np.array_equal(r[~m], g[~m])
        assert np.abs(r[m].astype(int) - g[m].astype(int)).max() <= 1


def test_the_bare_graph_runs_with_onnxruntime_and_numpy_alone(exported):
    code = f"""
import sys, json, numpy as np, onnxruntime as ort
s = ort.InferenceSession({str(exported['facades-freeform-128'])!r})
meta = s.get_modelmeta().custom_metadata_map
size = json.loads(meta["model_config"])["image_size"]
x = np.zeros((3, 3, size, size), np.float32)
m = np.zeros((3, 1, size, size), np.float32); m[:, :, 32:96, 32:96] = 1
y = s.run(["output"], {{"image": x, "mask": m}})[0]
assert not any(k.startswith("context_encoder") or k == "torch" for k in sys.modules)
print(json.dumps([list(y.shape), float(y.min()), float(y.max()),
                  sorted(json.loads(meta["inputs"]))]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/")
    shape, lo, hi, inputs = json.loads(out.stdout)
    assert shape == [3, 3, 128, 128] and -1.0 <= lo <= hi <= 1.0
    assert inputs == ["image", "mask"]


def test_onnx_models_serve_auto_and_evaluate(exported, tmp_path):
    path = str(exported["facades-freeform-128"])
    auto = load_inpainter("auto", models=[path])
    img = render_facade("val", 7, 128)
    mask = np.zeros((128, 128), bool)
    mask[40:70, 50:90] = True
    assert "hole" in auto.fill(img, mask).method
    with pytest.raises(ValueError, match="no trainable weights"):
        load_inpainter(path, adapt_steps=3)
    from context_encoder.evaluation import evaluate

    res = evaluate(models=[path], methods=["telea"], mask="thick", count=4)
    assert set(res.methods) == {"facades-freeform-128", "telea"}
    import io

    from fastapi.testclient import TestClient
    from PIL import Image

    from context_encoder.server import create_app

    with TestClient(create_app(path, device="cpu")) as c:
        body = c.get("/api/v1/models").json()
        assert body["default"] == "facades-freeform-128"
        info = next(m for m in body["models"] if m["name"] == "facades-freeform-128")
        assert info["task"] == "full" and info["image_size"] == 128
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        r = c.post("/api/v1/inpaint", files={"image": ("f.png", buf.getvalue(), "image/png")},
                   data={"box": "40,40,30,30"})
        assert r.status_code == 200 and r.headers["x-model"] == "facades-freeform-128"


def test_export_refuses_and_keeps_files(tmp_path, capsys):
    keep = tmp_path / "m.onnx"
    keep.write_text("keep me")
    assert main(["export", "facades-center-128", "--format", "onnx", "-o", str(keep)]) == 2
    assert keep.read_text() == "keep me" and "--overwrite" in capsys.readouterr().err
    assert main(["export", "facades-center-128", "--format", "onnx", "-o",
                 str(tmp_path / "m.safetensors")]) == 2
    assert "writes a .onnx file" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        Inpainter.from_pretrained(bad)
