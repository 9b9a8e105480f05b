"""The refinement stage (``refine_width``): its layers and parameter count, a new one leaves
the generator's function unchanged, it learns (every weight gets a gradient once its last
layer is not zero), it follows the sketch, and ``--init`` from a single-stage model."""

import pytest
import torch

from context_encoder.config import ModelConfig, TrainConfig
from context_encoder.errors import ConfigError
from context_encoder.models import Generator, Refiner
from context_encoder.models.refiner import DILATIONS


def tiny_full(**kw):
    return ModelConfig(**{**dict(image_size=64, task="full", bottleneck="channelwise",
                                 enc_width=4, dec_width=4, disc_width=4), **kw})


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def batch(b=3, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(b, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 8: 5 * size // 8] = 1
    sketch = (torch.rand(b, 1, size, size, generator=g) > 0.8).float()
    return x * (1 - mask), mask, sketch


def test_option_validated_and_off_by_default():
    assert ModelConfig().refine_width == 0 and TrainConfig().model_config().refine_width == 0
    assert Generator(tiny_full()).refine is None  # the paper's single stage
    with pytest.raises(ConfigError, match="only for task='full'"):
        ModelConfig(refine_width=8)
    with pytest.raises(ConfigError, match=">= 0"):
        tiny_full(refine_width=-1)
    with pytest.raises(ConfigError, match="full-image model.*mask other than center"):
        TrainConfig(refine_width=8)
    assert TrainConfig(mask="mixed", refine_width=8).model_config().refine_width == 8


@pytest.mark.parametrize(("conv", "guide"), [("plain", "none"), ("gated", "sketch")])
def test_parameter_count_from_the_layer_list(conv, guide):
    w, k = 8, (2 if conv == "gated" else 1)
    cfg = tiny_full(conv=conv, guide=guide, refine_width=w)
    c_in = 3 + 1 + (guide == "sketch")
    gate_bias = (lambda c: c) if conv == "gated" else (lambda c: 0)
    expected = c_in * k * w * 9 + gate_bias(w)  # 3x3 at full size
    expected += w * k * 2 * w * 16 + gate_bias(2 * w)  # 4x4 stride 2 down
    expected += len(DILATIONS) * (2 * w * k * 2 * w * 9 + gate_bias(2 * w))  # dilated 3x3
    expected += 2 * w * k * w * 16 + gate_bias(w)  # 4x4 stride 2 up
    expected += w * 3 * 9  # the output layer, plain
    assert n_params(Refiner(cfg)) == expected
    single = Generator(tiny_full(conv=conv, guide=guide))
    assert n_params(Generator(cfg)) == n_params(single) + expected


def test_the_paper_model_draws_the_same_weights():
    torch.manual_seed(0)
    single = Generator(tiny_full(conv="gated"))
    torch.manual_seed(0)
    two = Generator(tiny_full(conv="gated", refine_width=4))
    for k, v in single.state_dict().items():
        assert torch.equal(v, two.state_dict()[k]), k


@pytest.mark.parametrize(("conv", "guide"), [("plain", "none"), ("gated", "sketch")])
def test_a_new_refiner_keeps_the_function_and_learns(conv, guide):
    single = Generator(tiny_full(conv=conv, guide=guide))
    two = Generator(tiny_full(conv=conv, guide=guide, refine_width=4))
    two.load_state_dict({**two.state_dict(), **single.state_dict()})
    x, mask, sketch = batch()
    kw = {"sketch": sketch} if guide == "sketch" else {}
    with torch.no_grad():
        for mode in (True, False):
            single.train(mode), two.train(mode)
            torch.testing.assert_close(two(x, mask, **kw), single(x, mask, **kw), atol=0, rtol=0)
    two.train()
    two(x, mask, **kw).square().mean().backward()  # at the start only the last layer learns
    assert two.refine.out.weight.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() == 0 for p in two.refine.body.parameters())
    with torch.no_grad():
        two.refine.out.weight.normal_(0, 0.1)
    two.zero_grad()
    two(x, mask, **kw).square().mean().backward()
    for name, p in two.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_the_sketch_reaches_the_output_through_the_refiner():
    cfg = tiny_full(conv="gated", guide="sketch", refine_width=4)
    g = Generator(cfg)
    with torch.no_grad():
        g.refine.out.weight.normal_(0, 0.1)
    g.eval()
    x, mask, sketch = batch(b=2)
    with torch.no_grad():
        base = g(x, mask, sketch)
        other = g(x, mask, torch.zeros_like(sketch))
    assert (base - other).abs().max() > 1e-4
    g.refine = None  # the coarse stage alone: its sketch weights are random too, so compare
    with torch.no_grad():  # how far the refiner moves the output
        assert (g(x, mask, sketch) - base).abs().max() > 1e-4


def test_init_from_a_single_stage_model(tmp_path, capsys):
    from context_encoder.checkpoint import export_generator, load_generator
    from context_encoder.cli import main
    from context_encoder.training import Trainer, TrainingError

    tiny = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=2, val_count=4,
                workers=0, progress=False, precision="fp32", mask="mixed", steps=1)
    Trainer(TrainConfig(**tiny, conv="gated", guide="sketch", out=str(tmp_path / "one"))).fit()
    model = export_generator(tmp_path / "one", tmp_path / "one.safetensors", half=False)
    single, _ = load_generator(model)
    trainer = Trainer(TrainConfig(**tiny, conv="gated", guide="sketch", refine_width=4,
                                  init=str(model), out=str(tmp_path / "two")))
    trainer.G.eval()
    x, mask, sketch = batch(b=2)
    with torch.no_grad():
        torch.testing.assert_close(trainer.G(x, mask, sketch), single(x, mask, sketch),
                                   atol=1e-6, rtol=0)
    assert trainer.fit()["step"] == 1
    two, info = load_generator(trainer.out)
    assert info["config"].refine_width == 4 and two.refine is not None
    # a two-stage model cannot start one of another width, nor a single-stage one
    for width in (8, 0):
        with pytest.raises(TrainingError, match="refine_width"):
            Trainer(TrainConfig(**tiny, conv="gated", guide="sketch", refine_width=width,
                                init=str(trainer.out), out=str(tmp_path / f"w{width}")))
    flags = ["--image-size", "64", "--width", "8", "--bottleneck-dim", "16", "--batch-size", "2",
             "--val-count", "4", "--workers", "0", "--precision", "fp32", "--no-progress",
             "--mask", "mixed", "--conv", "gated", "--guide", "sketch", "--refine-width", "4"]
    assert main(["train", *flags, "--init", str(model), "--steps", "1",
                 "--out", str(tmp_path / "cli")]) == 0
    assert "refinement stage 4 wide" in capsys.readouterr().out


def test_the_refiner_learns_at_its_own_rate_through_a_resume(tmp_path):
    from context_encoder.training import Trainer

    tiny = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=2, val_count=4,
                workers=0, progress=False, precision="fp32", mask="mixed", refine_width=4,
                lr=1e-4, g_lr_mult=10.0, out=str(tmp_path / "run"))
    trainer = Trainer(TrainConfig(**tiny, steps=1, refine_lr_mult=5.0))
    lrs = [g["lr"] for g in trainer.opt_g.param_groups]
    assert lrs == pytest.approx([1e-3, 5e-3])
    refine = {id(p) for p in trainer.G.refine.parameters()}
    assert {id(p) for p in trainer.opt_g.param_groups[1]["params"]} == refine
    trainer.fit()
    with pytest.warns(UserWarning, match="refine_lr_mult"):
        resumed = Trainer(TrainConfig(**tiny, steps=2, refine_lr_mult=2.0), resume=True)
    assert [g["lr"] for g in resumed.opt_g.param_groups] == pytest.approx([1e-3, 2e-3])
    assert resumed.fit()["step"] == 2
    with pytest.raises(ConfigError, match="refine_lr_mult must be positive|must be positive"):
        TrainConfig(mask="mixed", refine_lr_mult=0.0)


@pytest.mark.parametrize(("source", "target", "starts"), [
    (("plain", "none", 0), ("gated", "sketch", 16), True),  # gated_from_plain + a new stage
    (("gated", "sketch", 0), ("gated", "sketch", 16), True),  # a new stage only
    (("plain", "none", 16), ("gated", "sketch", 16), False),  # would drop a trained stage
    (("gated", "sketch", 16), ("gated", "sketch", 8), False),
    (("gated", "sketch", 16), ("gated", "sketch", 0), False),
    (("gated", "none", 0), ("gated", "sketch", 0), False),  # only from a plain, unguided one
    (("gated", "sketch", 16), ("gated", "sketch", 16), False),  # the same config: no warm start
])
def test_which_models_warm_start_which(source, target, starts):
    from context_encoder.training.trainer import _warm_starts

    def config(conv, guide, width):
        return tiny_full(conv=conv, guide=guide, refine_width=width)

    assert _warm_starts(config(*source), config(*target)) is starts


def test_resuming_a_run_saved_before_refine_lr_mult_does_not_warn(tmp_path):
    import json
    import warnings

    from context_encoder.training import Trainer

    tiny = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=2, val_count=4,
                workers=0, progress=False, precision="fp32", mask="mixed",
                out=str(tmp_path / "run"))
    Trainer(TrainConfig(**tiny, steps=1)).fit()
    for path in (tmp_path / "run").rglob("config.json"):
        saved = json.loads(path.read_text())
        if "train" in saved:
            saved["train"].pop("refine_lr_mult", None)
            path.write_text(json.dumps(saved))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Trainer(TrainConfig(**tiny, steps=2), resume=True).fit()["step"] == 2
