"""Training gated and sketch-guided models (DeepFill v2 options): the training sketches, the
GAN step with the sketch, resume, validation with and without the sketch, --init from a
plain model."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from context_encoder.checkpoint import export_generator, load_generator
from context_encoder.cli import main
from context_encoder.errors import ConfigError
from context_encoder.training import TrainConfig, Trainer, TrainingError, TrainSamples
from context_encoder.training.validation import hole_edges

TINY = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=4, val_count=8,
            log_every=2, val_every=3, ckpt_every=3, sample_every=3, workers=0,
            progress=False, precision="fp32", mask="mixed")
GUIDED = dict(conv="gated", guide="sketch")


def tiny(tmp_path, name="run", **kw):
    return TrainConfig(**{**TINY, "out": str(tmp_path / name), **kw})


def weights(run: Path, step: int, net: str = "generator") -> dict:
    return load_file(str(run / "checkpoints" / f"step-{step:08d}" / f"{net}.safetensors"))


def test_options_reach_the_model_config_and_need_the_full_model():
    cfg = TrainConfig(mask="mixed", **GUIDED)
    assert (cfg.model_config().conv, cfg.model_config().guide) == ("gated", "sketch")
    plain = TrainConfig(mask="mixed").model_config()
    assert (plain.conv, plain.guide) == ("plain", "none")  # the paper's stays the default
    for opt in ({"conv": "gated"}, {"guide": "sketch"}):
        with pytest.raises(ConfigError, match="full-image model.*mask other than center"):
            TrainConfig(mask="center", **opt)
    with pytest.raises(ConfigError, match="guide must be one of none, sketch"):
        TrainConfig(mask="mixed", guide="scribble")


def test_training_sketches_are_drawn_per_sample(tmp_path):
    trainer = Trainer(tiny(tmp_path, steps=1, **GUIDED))
    samples = TrainSamples(trainer.train_images, "thick", 64, seed=0, sketch=True)
    drawn = [samples[(i, i)] for i in range(8)]
    assert all(len(d) == 3 and d[2].shape == (1, 64, 64) for d in drawn)
    assert sum(bool(s.any()) for _, _, s in drawn) >= 4  # most are non-empty
    for _, mask, sketch in drawn:
        assert not sketch[mask == 0].any()  # strokes only inside the hole
    again = samples[(3, 3)]
    assert torch.equal(again[2], drawn[3][2])  # a function of (seed, sample number)
    other = TrainSamples(trainer.train_images, "thick", 64, seed=1, sketch=True)
    assert any(not torch.equal(other[(i, i)][2], drawn[i][2]) for i in range(8))
    assert len(TrainSamples(trainer.train_images, "thick", 64, seed=0)[(0, 0)]) == 2
    with pytest.raises(ValueError, match="not center"):
        TrainSamples(trainer.train_images, "center", 64, seed=0, sketch=True)


def test_the_gan_step_gives_both_networks_the_sketch(tmp_path):
    trainer = Trainer(tiny(tmp_path, steps=1, **GUIDED))
    seen: dict[str, list] = {"G": [], "D": []}
    for name, net in (("G", trainer.G), ("D", trainer.D)):
        net.register_forward_pre_hook(
            lambda mod, args, kwargs, name=name: seen[name].append(list(args) + list(
                kwargs.values())), with_kwargs=True)
    before = {k: v.detach().clone() for k, v in trainer.G.named_parameters()}
    real, mask, sketch = next(iter(trainer._loader()))
    assert sketch.any()
    trainer.train_step(real, mask, sketch)
    assert len(seen["G"]) == 1 and seen["G"][0][2] is sketch
    assert len(seen["D"]) == 3  # real, fake for D; fake for G
    assert all(args[1] is sketch for args in seen["D"])
    first = trainer.G.encoder[0].conv.weight  # its sketch input channel learns
    assert not torch.equal(first[:, 4], before["encoder.0.conv.weight"][:, 4])


def test_guided_resume_matches_an_uninterrupted_run(tmp_path):
    Trainer(tiny(tmp_path, "full", steps=6, **GUIDED)).fit()
    Trainer(tiny(tmp_path, "part", steps=3, **GUIDED)).fit()
    Trainer(tiny(tmp_path, "part", steps=6, **GUIDED), resume=True).fit()
    for net in ("generator", "discriminator"):
        a, b = weights(tmp_path / "full", 6, net), weights(tmp_path / "part", 6, net)
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=f"{net}.{k}")


def test_validation_with_and_without_the_sketch(tmp_path):
    cfg = tiny(tmp_path, steps=3, **GUIDED)
    result = Trainer(cfg).fit()
    assert {"psnr", "l1", "psnr_sketch", "l1_sketch"} <= set(result["val"])
    rows = [json.loads(x) for x in (Path(cfg.out) / "metrics.jsonl").read_text().splitlines()]
    assert any("val_psnr_sketch" in r and "val_psnr" in r for r in rows)
    best = json.loads((Path(cfg.out) / "best.json").read_text())
    assert best["step"] == 3
    # the grid has one more row: the output the sketch guided
    from PIL import Image

    grid = Image.open(Path(cfg.out) / "samples" / "step-00000003.png")
    assert grid.size[1] == 4 * (64 + 2)
    plain = Trainer(tiny(tmp_path, "plain", steps=1)).validate()[0]
    assert "psnr_sketch" not in plain


def test_hole_edges_are_all_the_edges_inside_the_hole():
    from context_encoder.sketch import edge_map

    img = np.full((64, 64, 3), 220, np.uint8)
    img[10:40, 12:50] = 40  # one dark box: its outline is one long stroke
    real = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1
    hole = torch.zeros(1, 1, 64, 64)
    hole[..., 20:60, 20:60] = 1
    edges = hole_edges(real, hole)[0, 0].numpy()
    np.testing.assert_array_equal(edges != 0, edge_map(img) & (hole[0, 0].numpy() != 0))
    assert edges.any()


def _plain_model(tmp_path):
    Trainer(tiny(tmp_path, "plain", steps=1)).fit()
    return export_generator(tmp_path / "plain", tmp_path / "plain.safetensors", half=False)


def test_init_from_a_plain_model_warm_starts_a_gated_guided_one(tmp_path, capsys):
    model = _plain_model(tmp_path)
    plain, _ = load_generator(model)
    for opts in (GUIDED, {"conv": "gated"}, {"guide": "sketch"}):
        name = "-".join(opts.values())
        trainer = Trainer(tiny(tmp_path, name, steps=1, init=str(model), **opts))
        trainer.G.eval()
        x = torch.rand(2, 3, 64, 64) * 2 - 1
        m = torch.zeros(2, 1, 64, 64)
        m[..., 16:40, 20:44] = 1
        with torch.no_grad():  # the same function as the plain model, sketch ignored
            torch.testing.assert_close(trainer.G(x, m), plain(x, m), atol=1e-5, rtol=0)
    assert trainer.fit()["step"] == 1
    run = tmp_path / "cli"
    flags = ["--image-size", "64", "--width", "8", "--bottleneck-dim", "16", "--batch-size", "2",
             "--val-count", "4", "--workers", "0", "--precision", "fp32", "--no-progress",
             "--mask", "mixed", "--conv", "gated", "--guide", "sketch"]
    assert main(["train", *flags, "--init", str(model), "--steps", "1", "--out", str(run)]) == 0
    assert "(fc bottleneck, gated, sketch-guided) from" in capsys.readouterr().out
    saved = json.loads((run / "checkpoints" / "step-00000001" / "config.json").read_text())
    assert (saved["model"]["conv"], saved["model"]["guide"]) == ("gated", "sketch")


def test_init_refuses_other_mismatches(tmp_path):
    model = _plain_model(tmp_path)
    with pytest.raises(TrainingError, match=r"bottleneck \('fc' vs 'channelwise'\)"):
        Trainer(tiny(tmp_path, "x", steps=1, init=str(model), bottleneck="channelwise", **GUIDED))
    gated = tiny(tmp_path, "gated", steps=1, conv="gated")
    Trainer(gated).fit()
    gated_model = export_generator(gated.out, tmp_path / "gated.safetensors", half=False)
    for opts in ({"guide": "sketch", "conv": "gated"}, {}):  # only from a plain, unguided one
        with pytest.raises(TrainingError, match="conv|guide"):
            Trainer(tiny(tmp_path, "y", steps=1, init=str(gated_model), **opts))
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# ---------------------------------------------------------------------------------------
# Inference with a sketch
# ---------------------------------------------------------------------------------------
def guided_generator(**config):
    """A tiny gated, sketch-guided generator (eval mode) whose output depends on its inputs
    (BatchNorm statistics gathered on random inputs: at init, eval mode would give a flat
    output); ``config`` overrides, e.g. ``conv="plain", guide="none"``."""
    from context_encoder.config import ModelConfig
    from context_encoder.models import Generator

    cfg = ModelConfig(**{**dict(image_size=64, task="full", bottleneck_dim=16, enc_width=8,
                                dec_width=8, disc_width=8, conv="gated", guide="sketch"),
                         **config})
    torch.manual_seed(0)
    gen = Generator(cfg)
    if gen.refine is not None:  # a refinement stage that acts (a new one starts at zero)
        torch.nn.init.normal_(gen.refine.out.weight, 0.0, 0.1)
    for mod in gen.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = None  # a plain mean over the calibration batches
    with torch.no_grad():
        for _ in range(4):
            x = torch.rand(8, 3, 64, 64) * 2 - 1
            m = (torch.rand(8, 1, 64, 64) > 0.7).float()
            s = (torch.rand(8, 1, 64, 64) > 0.9).float() if cfg.guide == "sketch" else None
            gen(x, m, s)
    return gen.eval()


def guided_inpainter(**config):
    from context_encoder.inference import Inpainter

    gen = guided_generator(**config)
    return Inpainter(gen, gen.config, device="cpu", precision="fp32", name="tiny-guided")


def scene(h=80, w=100):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[20:60, 30:70] = 255
    sketch = np.zeros((h, w), np.uint8)
    sketch[40, 10:90] = 255  # a line across the hole and beyond it
    sketch[25:55, 50] = 255
    return image, mask, sketch


@pytest.mark.parametrize("refine_width", [0, 4])
def test_a_sketch_changes_pixels_only_inside_the_hole(refine_width):
    inp = guided_inpainter(refine_width=refine_width)  # the 80x100 scene takes 64 px windows
    assert inp.takes_sketch
    image, mask, sketch = scene()
    plain = inp(image, mask)
    guided = inp(image, mask, sketch)
    hole = mask != 0
    np.testing.assert_array_equal(guided[~hole], image[~hole])
    assert (guided[hole] != plain[hole]).any()
    # strokes outside the hole are ignored; an empty sketch is no sketch
    outside = np.where(hole, 0, sketch)
    np.testing.assert_array_equal(inp(image, mask, outside), plain)
    np.testing.assert_array_equal(inp(image, mask, np.zeros_like(sketch)), plain)
    # PIL in, PIL out; lists: one sketch per image, None for one without
    from PIL import Image

    out = inp(Image.fromarray(image), Image.fromarray(mask), Image.fromarray(sketch))
    np.testing.assert_array_equal(np.asarray(out), guided)
    both = inp([image, image], mask, [sketch, None])
    np.testing.assert_array_equal(both[0], guided)
    np.testing.assert_array_equal(both[1], plain)
    np.testing.assert_array_equal(inp.inpaint_array(image, mask, sketch), guided)


def test_thin_strokes_survive_the_window_shrinking():
    inp = guided_inpainter()
    image = np.full((600, 600, 3), 128, np.uint8)
    mask = np.zeros((600, 600), bool)
    mask[200:400, 200:400] = True  # a 400 px window, shrunk to 64 px
    sketch = np.zeros((600, 600), bool)
    sketch[301, 150:450] = True  # one pixel wide
    from context_encoder.inference.pipeline.host import HostPipeline

    host = HostPipeline(inp.config, inp.geometry, inp.device, inp._run_generator)
    _, jobs = host.prepare(0, image.astype(np.float32) / 255, mask, sketch & mask)
    (job,) = jobs
    rows = np.flatnonzero(job.sketch.any(axis=1))
    cols = np.flatnonzero(job.sketch.any(axis=0))
    assert len(rows) == 1  # still a thin line, on every model column of the hole
    hole_cols = np.flatnonzero(job.hole.any(axis=0))
    assert set(hole_cols) <= set(cols) and set(cols) <= set(hole_cols)


def test_sketch_errors_are_clear():
    from context_encoder.inference import BaselineInpainter

    inp = guided_inpainter()
    image, mask, sketch = scene()
    with pytest.raises(ValueError, match=r"sketch size 50x40 does not match the image size 100x80"):
        inp(image, mask, sketch[:40, :50])
    with pytest.raises(ValueError, match="got 2 images but 3 sketches"):
        inp([image, image], mask, [sketch] * 3)
    plain = guided_inpainter(conv="plain", guide="none")
    plain.name = "plain-model"
    assert not plain.takes_sketch
    with pytest.raises(ValueError, match="'plain-model' has no sketch input.*--guide sketch"):
        plain(image, mask, sketch)
    with pytest.raises(ValueError, match="'telea' has no sketch input"):
        BaselineInpainter("telea")(image, mask, sketch)
    np.testing.assert_array_equal(plain(image, mask, None), plain(image, mask))


def test_the_shipped_guided_model_follows_the_true_edges():
    """``facades-guided-128``: gated, sketch-guided, two stages, under 25 MB; on validation facades with
    a square hole the true edges as the sketch bring the fill closer to the truth, and the
    sketch changes pixels inside the hole only."""
    from context_encoder.checkpoint import read_model_config, resolve_model_path
    from context_encoder.inference import Inpainter
    from context_encoder.training import make_image_dataset

    assert resolve_model_path("facades-guided-128").stat().st_size <= 25_000_000
    cfg = read_model_config("facades-guided-128")
    assert (cfg.conv, cfg.guide, cfg.bottleneck, cfg.enc_width, cfg.refine_width) == (
        "gated", "sketch", "channelwise", 64, 16)
    inp = Inpainter.from_pretrained("facades-guided-128", device="cpu", precision="fp32")
    facades = make_image_dataset("facades", 128, split="val", load_size=None, train=False)
    hole = np.zeros((128, 128), bool)
    hole[36:92, 36:92] = True
    err_plain = err_sketch = 0.0
    for i in range(8):
        real = facades[i]
        truth = ((real.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
        edges = hole_edges(real[None], torch.from_numpy(hole)[None, None].float())[0, 0] > 0
        plain, guided = inp([truth, truth], hole, [None, edges.numpy()])
        np.testing.assert_array_equal(guided[~hole], truth[~hole])
        err_plain += np.mean((plain[hole] / 255.0 - truth[hole] / 255.0) ** 2)
        err_sketch += np.mean((guided[hole] / 255.0 - truth[hole] / 255.0) ** 2)
    assert err_sketch < 0.98 * err_plain, err_sketch / err_plain  # 0.89 with the shipped model
