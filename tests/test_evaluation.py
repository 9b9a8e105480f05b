import json

import numpy as np
import pytest
import torch

from context_encoder import Generator, ModelConfig
from context_encoder.checkpoint import save_generator
from context_encoder.cli import main
from context_encoder.evaluation import evaluate, make_eval_masks, write_report


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    kw = dict(image_size=64, bottleneck="channelwise", enc_width=8, dec_width=8)
    full = save_generator(Generator(ModelConfig(task="full", **kw)), root / "full.safetensors")
    center = save_generator(Generator(ModelConfig(task="center", **kw)), root / "center.safetensors")
    return {"full": str(full), "center": str(center)}


def test_center_masks_are_the_central_quarter():
    (m,) = make_eval_masks("center", 1, 128)
    assert m.sum() == 64 * 64 and m[32:96, 32:96].all()
    with pytest.raises(ValueError, match="unknown mask 'stars'"):
        make_eval_masks("stars", 1, 128)


def test_thick_masks_are_deterministic_and_differ():
    a = make_eval_masks("thick", 5, 128, seed=3)
    b = make_eval_masks("thick", 5, 128, seed=3)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert len({x.tobytes() for x in a}) == 5
    assert all(0 < x.mean() <= 0.5 for x in a)


def test_evaluate_scores_models_and_baselines(tiny_models, tmp_path):
    res = evaluate(models=[tiny_models["full"]], methods=["mean", "telea"], mask="thick",
                   count=6, size=64, device="cpu")
    data = res.to_json()
    assert data["count"] == 6 and data["mask"] == "thick"
    assert set(data["methods"]) == {"full", "mean", "telea"}
    for m in data["methods"].values():
        assert set(m) >= {"l1", "l2", "psnr", "psnr_full", "ssim", "seconds_per_image", "bins"}
        assert 0 <= m["l1"] <= 1 and np.isfinite(m["psnr"]) and m["psnr_full"] >= m["psnr"]
        assert sum(b["count"] for b in m["bins"].values()) == 6
    # telea beats a flat mean fill on facades
    assert data["methods"]["telea"]["psnr"] > data["methods"]["mean"]["psnr"]
    page = write_report(res, tmp_path / "report")
    html = page.read_text()
    assert "<table>" in html and "data:image/png;base64," in html
    assert (tmp_path / "report" / "examples.png").exists()
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["count"] == 6


def test_cli_evaluate_json_and_errors(tiny_models, tmp_path, capsys):
    out = tmp_path / "m.json"
    code = main(["evaluate", "--model", tiny_models["center"], "--mask", "center", "--count", "3",
                 "--size", "64", "--methods", "mean", "--json", str(out), "--device", "cpu"])
    assert code == 0
    data = json.loads(out.read_text())
    assert set(data["methods"]) == {"center", "mean"}
    assert "| center |" in capsys.readouterr().out
    assert main(["evaluate", "--model", "no-such-model", "--count", "2"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["evaluate", "--model", tiny_models["center"], "--methods", "magic",
                 "--count", "2", "--size", "64"]) == 2
    assert "unknown method 'magic'" in capsys.readouterr().err
