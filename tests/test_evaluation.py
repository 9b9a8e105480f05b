import json
from pathlib import Path

import numpy as np
import pytest
import torch

from context_encoder import Generator, ModelConfig
from context_encoder.baselines import is_available
from context_encoder.checkpoint import save_generator
from context_encoder.cli import main
from context_encoder.demo import DEMO_MASKS
from context_encoder.evaluation import (
    check_output_dir,
    check_output_file,
    default_model_for,
    evaluate,
    make_eval_masks,
    write_json,
    write_report,
)
from context_encoder.evaluation.report import GRID_PAD
from context_encoder.inference import Inpainter
from context_encoder.io.images import encode_image, load_image

DOCS = Path(__file__).resolve().parents[1] / "docs"


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


# -- output paths are checked before any work (issue 13, item 9) --------------------------

def _bad_outputs(tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("keep me")
    return afile, {
        "json is a folder": (["--json", str(tmp_path)], "is a folder"),
        "json below a file": (["--json", str(afile / "m.json")], "is a file, not a folder"),
        "report is a file": (["--report", str(afile)], "is a file, not a folder"),
        "report below a file": (["--report", str(afile / "rep")], "is a file, not a folder"),
    }


@pytest.mark.parametrize("case", ["json is a folder", "json below a file", "report is a file",
                                  "report below a file"])
def test_cli_evaluate_refuses_bad_outputs_before_work(case, tmp_path, capsys, monkeypatch):
    import context_encoder.cli.evaluate as cli_evaluate

    def must_not_run(**kwargs):
        raise AssertionError("the evaluation ran before the output paths were checked")

    monkeypatch.setattr(cli_evaluate, "evaluate", must_not_run)
    afile, cases = _bad_outputs(tmp_path)
    opts, message = cases[case]
    assert main(["evaluate", "--count", "2", "--methods", "mean", *opts]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert afile.read_text() == "keep me"


def test_cli_evaluate_writes_json_and_report_in_new_folders(tiny_models, tmp_path):
    out, rep = tmp_path / "a" / "b" / "m.json", tmp_path / "c" / "report"
    assert main(["evaluate", "--model", tiny_models["full"], "--mask", "thick", "--count", "2",
                 "--size", "64", "--methods", "mean", "--json", str(out), "--report", str(rep),
                 "--device", "cpu"]) == 0
    assert json.loads(out.read_text())["count"] == 2
    assert sorted(p.name for p in rep.iterdir()) == ["examples.png", "index.html",
                                                      "metrics.json", "table.md"]


def test_output_checks_create_nothing(tmp_path):
    assert check_output_file(tmp_path / "new" / "m.json") == tmp_path / "new" / "m.json"
    assert check_output_dir(tmp_path / "new" / "report") == tmp_path / "new" / "report"
    (tmp_path / "old.json").write_text("{}")
    check_output_file(tmp_path / "old.json")  # an existing file is replaced when written
    check_output_dir(tmp_path)  # an existing folder is written into
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]


def test_write_report_refuses_a_file(tmp_path):
    res = evaluate(methods=["mean"], mask="thick", count=2, size=64)
    (tmp_path / "r").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        write_report(res, tmp_path / "r")
    assert json.loads(write_json(res, tmp_path / "d" / "m.json").read_text())["count"] == 2


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_demo_refuses_out_that_is_a_file(where, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    out = afile if where == "file" else afile / "demo"
    assert main(["demo", "--out", str(out), "--count", "1"]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and str(afile) in err
    assert afile.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# -- make demo's grids (docs/demo_center.png, docs/demo_thick.png) ------------------------

def _cells(column: int, rows: int, size: int = 128) -> list[tuple[slice, slice]]:
    """Where the images of one column of an example grid lie."""
    x = GRID_PAD + column * (size + GRID_PAD)
    return [(slice(y, y + size), slice(x, x + size))
            for y in (GRID_PAD + r * (size + GRID_PAD) for r in range(rows))]


@pytest.mark.slow
@pytest.mark.skipif(not is_available("patchmatch"), reason="the docs grids have a PatchMatch column")
@pytest.mark.parametrize("mask", DEMO_MASKS)
def test_demo_grid_is_the_docs_grid(mask, tmp_path):
    """``make demo`` writes ``report-MASK/examples.png``, the README's ``docs/demo_MASK.png``:
    the first 6 of its 100 facades, one a row; the first 3 are evaluated here. All but the
    model's column is hardware-independent and must match the docs to the bit; the model's
    column is this machine's encoder output, within a few levels of the docs (computed in
    bf16 on a CPU with AVX-512 BF16); and the PNG writer turns the docs' pixels into the
    docs' bytes, so the demo reproduces the file wherever the encoder computes as that CPU
    did."""
    model = default_model_for(mask)
    rows = 3
    res = evaluate(models=[model], mask=mask, count=rows, device="cpu")
    assert list(res.methods)[0] == model  # the grid's second column
    write_report(res, tmp_path)
    got, _ = load_image(tmp_path / "examples.png")
    docs_png, _ = load_image(DOCS / f"demo_{mask}.png")
    docs = docs_png[: GRID_PAD + rows * (128 + GRID_PAD)]
    encoder = Inpainter.from_pretrained(model, device="cpu")
    fills = encoder(res.examples["ground truth"], make_eval_masks(mask, rows, 128))
    expected = docs.copy()
    for cell, fill in zip(_cells(1, rows), fills, strict=True):
        assert np.abs(docs[cell].astype(int) - fill).max() <= 8
        expected[cell] = fill
    assert got.shape == docs.shape and (got == expected).all()
    assert encode_image(docs_png, "PNG") == (DOCS / f"demo_{mask}.png").read_bytes()


def test_evaluate_auto_on_photos_scores_like_a_model(tiny_models):
    """``auto`` and ``--adapt`` are columns like any other; ``photos`` is a named set."""
    res = evaluate(models=["auto", tiny_models["full"]], methods=["telea"], data="photos",
                   mask="thick", count=3, size=64, device="cpu")
    assert set(res.methods) == {"auto", "full", "telea"}
    assert all(np.isfinite(m["psnr"]) for m in res.methods.values())
    chosen = res.methods["auto"]["chosen"]  # holes per method or blend, over the 3 images
    names = {"telea", "ns", "biharmonic", "patchmatch", "full"}
    assert all(set(k.split(" with ")[0].split("+")) <= names for k in chosen)
    assert all(k.split(" with ")[1].removesuffix(" detail") in names for k in chosen
               if " with " in k)
    assert sum(chosen.values()) >= 3
    shares = res.methods["auto"]["shares"]  # each method's share of the filled pixels
    assert set(shares) <= names and abs(sum(shares.values()) - 1.0) < 1e-3
    detail = res.methods["auto"]["detail_added"]  # share of the pixels given each one's detail
    assert set(detail) <= names and sum(detail.values()) <= 1.0 + 1e-3
    assert "chosen" not in res.methods["full"]
    res = evaluate(models=[tiny_models["full"]], methods=[], data="photos-tune", mask="thick",
                   count=2, size=64, device="cpu", adapt=1)
    assert set(res.methods) == {"full+adapt1"}
    with pytest.raises(ValueError, match="adapt"):
        evaluate(models=[tiny_models["full"]], methods=[], count=1, size=64, adapt=-1)


def test_photo_sets_are_the_split_crops():
    from context_encoder.data.photos import photo_images
    from context_encoder.evaluation import load_eval_images

    for name, split in (("photos", "report"), ("photos-tune", "tune")):
        got = load_eval_images(name, 3, 64)
        assert all(np.array_equal(a, b) for a, b in zip(got, photo_images(split, 64, 3),
                                                        strict=True))


def test_demo_photo_section(tmp_path, monkeypatch, capsys):
    """The demo's real-photo section: auto against the model and the classical methods,
    with the holes it filled and each method's share of the fill, in the summary and a
    report with its grid."""
    import context_encoder.demo as demo

    def small(*, models, mask, count, device, data="facades", **kw):
        return evaluate(models=models, methods=["telea"], mask=mask, count=2, size=64,
                        device="cpu", data=data)

    monkeypatch.setattr(demo, "evaluate", small)
    summary = demo.run_demo(tmp_path / "d", count=1, device="cpu", log=print, photos=2)
    assert set(summary) == {"center", "thick", "photos-center", "photos-thick"}
    auto = summary["photos-thick"]["methods"]["auto"]
    assert sum(auto["chosen"].values()) >= 2
    assert abs(sum(auto["shares"].values()) - 1.0) < 1e-3
    assert (tmp_path / "d" / "report-photos-thick" / "examples.png").exists()
    assert "each method's share of the fill:" in capsys.readouterr().out


def test_evaluate_counts_only_what_it_scored(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("a", "c"):
        Image.fromarray(rng.integers(0, 255, (70, 70, 3), dtype=np.uint8)).save(
            folder / f"{name}.png")
    for name in ("b", "d"):
        (folder / f"{name}.jpg").write_bytes(b"not an image")
    out = tmp_path / "m.json"
    code = main(["evaluate", "--data", str(folder), "--count", "4", "--size", "64",
                 "--methods", "mean", "--model", "facades-freeform-128",
                 "--mask", "thick", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 images scored (2 unreadable file(s) skipped:" in printed and "b.jpg" in printed
    record = json.loads(out.read_text())
    assert record["count"] == 2 and [Path(p).name for p in record["skipped"]] == ["b.jpg",
                                                                                 "d.jpg"]
