"""Tests of ``context-encoder inpaint`` (context_encoder.cli.inpaint): single files and
folders, masks and boxes, and the refusals that keep a user's files safe (an output over an
input, an existing output without --overwrite, two inputs mapped to one output, images over
the pixel limit, non-regular files, boxes outside the image).

Tiny randomly initialised generators are exported with ``save_generator``; no shipped
weights are needed. The refusals use a model name that does not exist: they must come
before the model is loaded.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from context_encoder import Generator, ModelConfig
from context_encoder.checkpoint import save_generator
from context_encoder.cli import main
from context_encoder.inference import box_mask

FULL_CFG = ModelConfig(image_size=64, task="full", bottleneck="channelwise", enc_width=8,
                       dec_width=8, disc_width=8)
CENTER_CFG = ModelConfig(image_size=128, task="center", bottleneck="channelwise", enc_width=4,
                         dec_width=4, disc_width=4)
NO_MODEL = ["--model", "no-such-model-xyz", "--device", "cpu"]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, cfg in (("full", FULL_CFG), ("center", CENTER_CFG)):
        torch.manual_seed(0)
        out[name] = save_generator(Generator(cfg).eval(), root / f"{name}.safetensors")
    data = out["full"].read_bytes()
    out["broken"] = root / "broken.safetensors"
    out["broken"].write_bytes(data[: len(data) // 2])
    return out


def _rand(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape).astype(np.uint8)


def _run_cli(argv: list[str]) -> int:
    """The inpaint command through context-encoder's main (an error prints one line and
    exits 2)."""
    return main(argv)


def _one_error(capsys, *words: str) -> str:
    """The command's stderr: one line, holding each of ``words``."""
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    return err


# -- what worked before -----------------------------------------------------------------
def test_cli_main_registers_inpaint(capsys):
    with pytest.raises(SystemExit) as e:
        main(["inpaint", "-h"])
    assert e.value.code == 0
    assert "--box" in capsys.readouterr().out


def test_cli_main_single_file_box(tmp_path, model_files, capsys):
    Image.fromarray(_rand((90, 140, 3))).save(tmp_path / "a.png")
    out = tmp_path / "out" / "a_filled.png"
    code = main(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "10,20,40,30",
                     "--model", str(model_files["full"]), "--device", "cpu"])
    assert code == 0 and out.exists()
    assert str(out) in capsys.readouterr().out
    a, b = np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(out))
    m = box_mask(a.shape, "10,20,40,30")
    assert np.array_equal(a[~m], b[~m]) and not np.array_equal(a[m], b[m])


def test_cli_folder_mode_with_corrupt_file(tmp_path, model_files, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(_rand((60, 80, 3))).save(src / "a.png")
    Image.fromarray(_rand((70, 50, 3), seed=3)).save(src / "sub" / "b.jpg")
    (src / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    mask = np.zeros((60, 80), np.uint8)
    mask[10:30, 10:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    code = _run_cli(["inpaint", str(src), "-o", str(out), "--box", "5,5,20,20",
                     "--model", str(model_files["center"]), "--device", "cpu"])
    cap = capsys.readouterr()
    assert code == 1
    assert (out / "a.png").exists() and (out / "sub" / "b.jpg").exists()
    assert not (out / "c.png").exists()
    errs = [line for line in cap.err.splitlines() if "error" in line]
    assert len(errs) == 1 and "c.png" in errs[0]
    assert cap.out.count("wrote") == 2


def test_cli_folder_masks_by_stem_and_ext(tmp_path, model_files, capsys):
    src, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    src.mkdir()
    masks.mkdir()
    for i, (h, w) in enumerate([(40, 50), (64, 30)]):
        Image.fromarray(_rand((h, w, 3), seed=i)).save(src / f"im{i}.jpg")
        m = np.zeros((h, w), np.uint8)
        m[5:15, 5:15] = 1
        Image.fromarray(m).save(masks / f"im{i}.png")
    Image.fromarray(_rand((20, 20, 3))).save(src / "nomask.png")
    code = _run_cli(["inpaint", str(src), "-o", str(out), "--mask", str(masks), "--ext", "png",
                     "--model", str(model_files["full"]), "--device", "cpu"])
    cap = capsys.readouterr()
    assert code == 1 and "nomask.png" in cap.err
    assert sorted(p.name for p in out.iterdir()) == ["im0.png", "im1.png"]


def test_cli_unknown_model(tmp_path, capsys):
    Image.fromarray(_rand((30, 30, 3))).save(tmp_path / "a.png")
    out = tmp_path / "o.png"
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "1,1,5,5",
                     "--model", "no-such-model-xyz", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "no-such-model-xyz" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_corrupt_checkpoint(tmp_path, model_files, capsys):
    Image.fromarray(_rand((30, 30, 3))).save(tmp_path / "a.png")
    out = tmp_path / "o.png"
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "1,1,5,5",
                     "--model", str(model_files["broken"]), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "broken.safetensors" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("case", "match"),
    [("unreadable", "cannot read image"), ("mask_size", "31x30"), ("box_outside", "right edge")],
)
def test_cli_input_errors(tmp_path, model_files, capsys, case, match):
    img = tmp_path / "a.png"
    if case == "unreadable":
        img.write_bytes(b"garbage")
    else:
        Image.fromarray(_rand((30, 40, 3))).save(img)
    Image.fromarray(np.ones((30, 31), np.uint8)).save(tmp_path / "m.png")
    opts = {"unreadable": ["--box", "1,1,5,5"], "mask_size": ["--mask", str(tmp_path / "m.png")],
            "box_outside": ["--box", "30,1,20,5"]}[case]
    out = tmp_path / "o.png"
    code = _run_cli(["inpaint", str(img), "-o", str(out), *opts,
                     "--model", str(model_files["full"]), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and match in err and ("a.png" in err or "m.png" in err)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_method_telea(tmp_path, capsys):
    pytest.importorskip("context_encoder.baselines")
    arr = _rand((40, 60, 4))
    Image.fromarray(arr).save(tmp_path / "a.png")
    out = tmp_path / "o.png"
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "10,10,15,12",
                     "--method", "telea"])
    assert code == 0
    b = np.asarray(Image.open(out))
    m = box_mask(arr.shape, "10,10,15,12")
    assert b.shape == arr.shape and np.array_equal(b[~m], arr[~m])
    assert np.array_equal(b[..., 3], arr[..., 3]) and not np.array_equal(b[m], arr[m])
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "1,1,2,2",
                     "--method", "nope", "--overwrite"])
    assert code == 2 and "nope" in capsys.readouterr().err


def test_cli_empty_mask_writes_copy_and_warns(tmp_path, model_files, capsys):
    arr = _rand((30, 30, 3))
    Image.fromarray(arr).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "m.png")
    out = tmp_path / "o.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--mask",
                         str(tmp_path / "m.png"), "--model", str(model_files["full"]),
                         "--device", "cpu"])
    assert code == 0 and "empty" in capsys.readouterr().err
    assert np.array_equal(np.asarray(Image.open(out)), arr)


# -- no file lost (issue 13: 1, 2) -------------------------------------------------------
def test_cli_refuses_to_write_over_its_input(tmp_path, capsys):
    img = tmp_path / "p.png"
    Image.fromarray(_rand((40, 50, 3))).save(img)
    Image.fromarray(np.ones((40, 50), np.uint8)).save(tmp_path / "m.png")
    before = img.read_bytes(), (tmp_path / "m.png").read_bytes()
    for extra in ([], ["--overwrite"]):  # --overwrite never covers an input
        code = _run_cli(["inpaint", str(img), "-o", str(img), "--box", "10,10,20,20",
                         *NO_MODEL, *extra])
        assert code == 2
        _one_error(capsys, "p.png", "is the input")
    # over the mask, and through another spelling of the same path
    code = _run_cli(["inpaint", str(img), "-o", str(tmp_path / "." / "m.png"),
                     "--mask", str(tmp_path / "m.png"), *NO_MODEL, "--overwrite"])
    assert code == 2
    _one_error(capsys, "m.png", "is the input")
    assert (img.read_bytes(), (tmp_path / "m.png").read_bytes()) == before


def test_cli_existing_output_needs_overwrite(tmp_path, model_files, capsys):
    arr = _rand((40, 50, 3))
    Image.fromarray(arr).save(tmp_path / "a.png")
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "5,5,10,10",
                     *NO_MODEL])
    assert code == 2 and out.read_bytes() == b"precious"
    _one_error(capsys, "o.png", "exists", "--overwrite")
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "5,5,10,10",
                     "--model", str(model_files["full"]), "--device", "cpu", "--overwrite"])
    assert code == 0
    assert np.array_equal(np.asarray(Image.open(out))[:5], arr[:5])


def test_cli_folder_existing_outputs_need_overwrite(tmp_path, model_files, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(_rand((30, 40, 3))).save(src / f"{name}.png")
    (out / "b.png").write_bytes(b"precious")
    code = _run_cli(["inpaint", str(src), "-o", str(out), "--box", "5,5,10,10", *NO_MODEL])
    assert code == 2
    _one_error(capsys, "b.png", "exists", "--overwrite")
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]  # nothing done at all
    assert (out / "b.png").read_bytes() == b"precious"
    code = _run_cli(["inpaint", str(src), "-o", str(out), "--box", "5,5,10,10", "--overwrite",
                     "--model", str(model_files["full"]), "--device", "cpu"])
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    assert (out / "b.png").read_bytes() != b"precious"


def test_cli_folder_output_collision_refused_before_any_work(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(_rand((30, 40, 3))).save(src / "a.png")
    Image.fromarray(_rand((30, 40, 3), seed=1)).save(src / "a.jpg")
    Image.fromarray(_rand((30, 40, 3), seed=2)).save(src / "b.png")
    code = _run_cli(["inpaint", str(src), "-o", str(out), "--box", "5,5,10,10", "--ext", "png",
                     *NO_MODEL])
    assert code == 2
    _one_error(capsys, str(src / "a.jpg"), str(src / "a.png"), str(out / "a.png"))
    assert not out.exists()


def test_cli_folder_output_equals_input(tmp_path, capsys):
    src = tmp_path / "fold"
    src.mkdir()
    Image.fromarray(_rand((30, 40, 3))).save(src / "a.png")
    before = (src / "a.png").read_bytes()
    code = _run_cli(["inpaint", str(src), "-o", str(tmp_path / "." / "fold"), "--box",
                     "5,5,10,10", *NO_MODEL])
    assert code == 2
    err = _one_error(capsys, "fold", "equals input")
    assert "no images" not in err
    assert [p.name for p in src.iterdir()] == ["a.png"] and (src / "a.png").read_bytes() == before


def test_cli_folder_output_onto_a_mask_refused(tmp_path, capsys):
    """Images in one folder, masks (by stem) in another that is also the output folder."""
    src, masks = tmp_path / "in", tmp_path / "masks"
    src.mkdir()
    masks.mkdir()
    Image.fromarray(_rand((30, 40, 3))).save(src / "a.png")
    Image.fromarray(np.ones((30, 40), np.uint8)).save(masks / "a.png")
    code = _run_cli(["inpaint", str(src), "-o", str(masks), "--mask", str(masks), *NO_MODEL,
                     "--overwrite"])
    assert code == 2
    _one_error(capsys, "is the input", "a.png")


# -- inputs that are not images to read (issue 13: 5, 6) ---------------------------------
def _png_header_only(w: int, h: int) -> bytes:
    """A PNG declaring ``w x h`` RGB pixels, with a few bytes of pixel data."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_cli_pixel_limit_and_max_megapixels(tmp_path, model_files, capsys):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(12000, 12000))  # 144 megapixels in a few bytes
    code = _run_cli(["inpaint", str(bomb), "-o", str(tmp_path / "o.png"), "--box", "1,1,5,5",
                     *NO_MODEL])
    assert code == 2
    _one_error(capsys, "bomb.png", "12000x12000", "limit of 40 megapixels", "--max-megapixels")
    small = tmp_path / "small.png"
    Image.fromarray(_rand((40, 50, 3))).save(small)  # 2000 pixels
    code = _run_cli(["inpaint", str(small), "-o", str(tmp_path / "o.png"), "--box", "1,1,5,5",
                     *NO_MODEL, "--max-megapixels", "0.001"])
    assert code == 2
    _one_error(capsys, "small.png", "50x40", "limit of 0.001 megapixels")
    code = _run_cli(["inpaint", str(small), "-o", str(tmp_path / "o.png"), "--box", "1,1,5,5",
                     "--model", str(model_files["full"]), "--device", "cpu",
                     "--max-megapixels", "0.002"])
    assert code == 0 and (tmp_path / "o.png").exists()
    code = _run_cli(["inpaint", str(small), "-o", str(tmp_path / "o2.png"), "--box", "1,1,5,5",
                     *NO_MODEL, "--max-megapixels", "0"])
    assert code == 2
    _one_error(capsys, "--max-megapixels", "positive")


def test_cli_help_lists_the_new_options(capsys):
    with pytest.raises(SystemExit):
        main(["inpaint", "-h"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--overwrite" in out and "an input is never overwritten" in out
    assert "--max-megapixels" in out and "default 40" in out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("role", ["image", "mask"])
@pytest.mark.parametrize("kind", ["dev_zero", "fifo"])
def test_cli_refuses_endless_streams(tmp_path, capsys, role, kind):
    if kind == "fifo":
        stream = tmp_path / "stream.png"
        os.mkfifo(stream)  # nobody writes to it: reading would block forever
    else:
        stream = Path("/dev/zero")
        if not stream.exists():
            pytest.skip("no /dev/zero")
    img = tmp_path / "a.png"
    Image.fromarray(_rand((30, 40, 3))).save(img)
    argv = (["inpaint", str(stream), "--box", "1,1,5,5"] if role == "image"
            else ["inpaint", str(img), "--mask", str(stream)])
    code = _run_cli([*argv, "-o", str(tmp_path / "o.png"), *NO_MODEL])
    assert code == 2
    _one_error(capsys, str(stream), "not a regular file")
    assert not (tmp_path / "o.png").exists()


# -- boxes (issue 13: 10) ----------------------------------------------------------------
@pytest.mark.parametrize(("box", "edge"), [("-10,10,40,40", "left edge x=-10"),
                                           ("10,-5,20,20", "top edge y=-5")])
def test_cli_negative_box_is_a_value_and_outside(tmp_path, capsys, box, edge):
    Image.fromarray(_rand((30, 50, 3))).save(tmp_path / "a.png")
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"),
                     "--box", box, *NO_MODEL])
    assert code == 2
    _one_error(capsys, edge, "outside the 50x30 image", "a.png")
    assert not (tmp_path / "o.png").exists()


def test_cli_argv_prepass_only_joins_box_values():
    from context_encoder.cli import _join_box_values

    assert _join_box_values(["inpaint", "x.png", "--box", "-1,2,3,4", "-o", "o.png"]) == [
        "inpaint", "x.png", "--box=-1,2,3,4", "-o", "o.png"]
    assert _join_box_values(["--box", "1,2,3,4"]) == ["--box", "1,2,3,4"]
    assert _join_box_values(["--box", "-o"]) == ["--box", "-o"]  # argparse says what is missing
    assert _join_box_values(["--", "--box", "-1,2,3,4"]) == ["--", "--box", "-1,2,3,4"]
    assert _join_box_values(["--box"]) == ["--box"]


# -- auto and adaptation (issue 14) --------------------------------------------------------
def test_cli_default_is_auto_and_says_what_it_chose(tmp_path, model_files, capsys, monkeypatch):
    """Without --method or --model the fill is auto over the default model and the classical
    methods, with one line per image naming the choice."""
    from context_encoder.inference import Inpainter

    monkeypatch.setattr(Inpainter, "DEFAULT_MODEL", str(model_files["full"]))
    src = tmp_path / "in"
    src.mkdir()
    arrays = {n: _rand((48, 64, 3), seed=i) for i, n in enumerate(("a", "b"))}
    for n, a in arrays.items():
        Image.fromarray(a).save(src / f"{n}.png")
    code = _run_cli(["inpaint", str(src), "-o", str(tmp_path / "out"), "--box", "10,10,12,9",
                     "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("auto chose") == 2
    assert "(1 hole)" in out
    m = box_mask((48, 64), "10,10,12,9")
    for n, a in arrays.items():
        b = np.asarray(Image.open(tmp_path / "out" / f"{n}.png"))
        assert np.array_equal(b[~m], a[~m])


def test_cli_model_alone_is_that_model_only(tmp_path, model_files, capsys):
    arr = _rand((48, 64, 3))
    Image.fromarray(arr).save(tmp_path / "a.png")
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"), "--box",
                     "10,10,12,9", "--model", str(model_files["full"]), "--device", "cpu"])
    assert code == 0 and "auto chose" not in capsys.readouterr().out
    code = _run_cli(["inpaint", str(tmp_path / "a.png"), "-o", str(tmp_path / "p.png"), "--box",
                     "10,10,12,9", "--model", str(model_files["full"]), "--method", "auto",
                     "--device", "cpu"])
    assert code == 0 and "auto chose" in capsys.readouterr().out


def test_cli_adapt_with_a_model_and_refusals(tmp_path, model_files, capsys):
    arr = _rand((48, 64, 3))
    Image.fromarray(arr).save(tmp_path / "a.png")
    base = ["inpaint", str(tmp_path / "a.png"), "--box", "10,10,12,9", "--device", "cpu"]
    model = ["--model", str(model_files["full"])]
    assert _run_cli([*base, "-o", str(tmp_path / "o.png"), *model]) == 0
    assert _run_cli([*base, "-o", str(tmp_path / "p.png"), *model, "--adapt", "2"]) == 0
    plain, adapted = (np.asarray(Image.open(tmp_path / n)) for n in ("o.png", "p.png"))
    m = box_mask(arr.shape, "10,10,12,9")
    assert np.array_equal(adapted[~m], arr[~m]) and not np.array_equal(adapted[m], plain[m])
    assert _run_cli([*base, "-o", str(tmp_path / "q.png"), "--method", "telea",
                     "--adapt", "2"]) == 2
    _one_error(capsys, "--adapt", "classical")
    assert _run_cli([*base, "-o", str(tmp_path / "q.png"), *model, "--adapt", "-1"]) == 2
    _one_error(capsys, "--adapt", "must be in 0..1000")
    assert _run_cli([*base, "-o", str(tmp_path / "q.png"), *model, "--adapt", "1000000000"]) == 2
    _one_error(capsys, "--adapt", "must be in 0..1000, got 1000000000")
    assert not (tmp_path / "q.png").exists()


@pytest.mark.parametrize("extra, message", [
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--method", "AUTO"], "method names are lower case (--method auto)"),
    (["--model", "facades-guided-128", "--adapt", "1", "--sketch", "MASK"],
     "adaptation (--adapt) fills without a sketch"),
    (["-o", "IMAGE/o.png"], "'IMAGE' is a file, not a folder"),
])
def test_bad_values_name_the_option_in_one_line(tmp_path, capsys, extra, message):
    image, mask = tmp_path / "good.png", tmp_path / "m.png"
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(image)
    hole = np.zeros((64, 64), np.uint8)
    hole[20:40, 20:40] = 255
    Image.fromarray(hole).save(mask)
    extra = [a.replace("IMAGE", str(image)).replace("MASK", str(mask)) for a in extra]
    out = [] if "-o" in extra else ["-o", str(tmp_path / "o.png")]
    code = main(["inpaint", str(image), *out, "--mask", str(mask), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message.replace("IMAGE", str(image)) in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o.png").exists()
