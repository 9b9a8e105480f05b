"""The training step without host synchronisation: losses and metrics stay on the device,
the non-finite check and the logs read them back every few steps, the loader's masks are
uint8 made float on the device, and ``--compile``. The CUDA tests run only with a GPU."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from context_encoder.errors import ConfigError
from context_encoder.losses import discriminator_loss, generator_loss
from context_encoder.masks import get_mask_generator
from context_encoder.training import TrainConfig, Trainer, TrainingError, TrainSamples
from context_encoder.training.logging import RunLog
from context_encoder.training.sampler import device_batches
from context_encoder.training.watch import COLLAPSE_STEPS, LossWatch

TINY = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=4, val_count=8,
            log_every=2, val_every=3, ckpt_every=3, sample_every=3, workers=0,
            progress=False, precision="fp32")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# Every way a tensor's value reaches the host (or a print) from Python.
_READS = ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__",
          "__format__", "__repr__")


@contextlib.contextmanager
def no_reads():
    """Inside, reading a tensor's value back to the host raises: on a GPU each such read
    would make the host wait for the device."""
    saved = {name: getattr(torch.Tensor, name) for name in _READS}

    def refuse(name):
        def read(self, *args, **kwargs):
            raise AssertionError(f"Tensor.{name} read a value back inside the step")
        return read

    for name in _READS:
        setattr(torch.Tensor, name, refuse(name))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(torch.Tensor, name, fn)


def tiny(tmp_path, name="run", **kw):
    return TrainConfig(**{**TINY, "out": str(tmp_path / name), **kw})


def test_losses_give_detached_device_metrics_without_reading_them():
    real = torch.tensor([3.0, 2.0], requires_grad=True)
    fake = torch.tensor([-3.0, 1.0], requires_grad=True)
    pred = torch.zeros(1, 3, 4, 4, requires_grad=True)
    with no_reads():
        d, dm = discriminator_loss(real, fake)
        g, gm = generator_loss(pred, torch.ones(1, 3, 4, 4), torch.ones(1, 1, 4, 4), fake)
    for name, v in {**dm, **gm}.items():
        assert isinstance(v, torch.Tensor) and v.shape == () and v.dtype == torch.float32, name
        assert not v.requires_grad, name
    assert set(dm) == {"d_loss", "d_real", "d_fake", "d_acc"}
    assert set(gm) == {"g_rec", "g_adv", "g_loss"}
    assert float(dm["d_loss"]) == pytest.approx(d.item())
    assert float(gm["g_loss"]) == pytest.approx(g.item())


@pytest.mark.parametrize("opts", [{"mask": "center"}, {"mask": "mixed"},
                                  {"mask": "freeform", "conv": "gated", "guide": "sketch"}])
def test_the_loop_reads_nothing_back_between_checks(tmp_path, opts):
    trainer = Trainer(tiny(tmp_path, steps=3, **opts))
    log = RunLog(tmp_path / "log", start=0, total=3, enabled=False)
    batches = list(trainer._loader())
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    with no_reads():  # what fit() runs for each step between two checks
        for step, (real, *rest) in enumerate(device_batches(batches, trainer.device), 1):
            m = trainer.train_step(real, *rest)
            trainer.watch.update(step, m)
            log.step(m, images=real.shape[0])
    means = log.train(3)  # the read-back, once per window
    assert {"g_rec", "g_loss", "d_loss", "d_acc", "img_per_s"} <= set(means)
    assert all(np.isfinite(v) for v in means.values())
    trainer.watch.check(3)
    assert any(not torch.equal(v, trainer.G.state_dict()[k]) for k, v in before.items())


def test_run_log_means_match_the_steps(tmp_path):
    steps = [{"a": torch.tensor(float(i)), "b": torch.tensor(2.0 * i)} for i in range(1, 5)]
    log = RunLog(tmp_path, start=0, total=4, progress=False)
    for m in steps:
        log.step(m, images=8)
    means = log.train(4)
    assert means["a"] == pytest.approx(2.5) and means["b"] == pytest.approx(5.0)
    row = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["step"] == 4 and row["a"] == pytest.approx(2.5) and row["img_per_s"] > 0
    log.step({"a": torch.tensor(1.0), "b": torch.tensor(1.0)}, images=8)
    with pytest.raises(ValueError, match="differ"):
        log.step({"a": torch.tensor(1.0)}, images=8)
    log.close()


def test_loss_watch_stops_on_the_first_non_finite_step_at_the_check():
    watch = LossWatch(torch.device("cpu"), start=4, every=4, out="runs/x")
    ok = {"g_loss": torch.tensor(0.5), "d_loss": torch.tensor(1.2)}
    with no_reads():
        watch.update(5, ok)
        watch.update(6, {"g_loss": torch.tensor(float("nan")), "d_loss": torch.tensor(1.0)})
        watch.update(7, {"g_loss": torch.tensor(float("inf")), "d_loss": torch.tensor(1.0)})
        watch.update(8, ok)
    with pytest.raises(TrainingError, match=r"non-finite at step 6 \(g_loss=nan, d_loss=1.0; "
                                            r"the losses of steps 5-8 .* every 4 steps\).*"
                                            r"'runs/x'"):
        watch.check(8)
    with pytest.raises(ValueError, match="step 10 after step 8"):  # steps come in order
        watch.update(10, ok)


def test_loss_watch_warns_once_on_a_collapsed_discriminator():
    watch = LossWatch(torch.device("cpu"))
    low = {"g_loss": torch.tensor(0.5), "d_loss": torch.tensor(1e-5)}
    for step in range(1, COLLAPSE_STEPS):
        watch.update(step, low)
    watch.update(COLLAPSE_STEPS, {**low, "d_loss": torch.tensor(1.0)})  # the run is broken
    for step in range(COLLAPSE_STEPS + 1, 2 * COLLAPSE_STEPS):
        watch.update(step, low)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        watch.check(2 * COLLAPSE_STEPS - 1)  # two runs of 199: no warning
    watch.update(2 * COLLAPSE_STEPS, low)
    with pytest.warns(UserWarning, match="discriminator looks collapsed"):
        watch.check(2 * COLLAPSE_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        watch.check(2 * COLLAPSE_STEPS)  # once only


def test_deferred_nan_check_stops_before_any_bad_checkpoint(tmp_path):
    cfg = tiny(tmp_path, steps=12, log_every=4, check_every=4, val_every=8, ckpt_every=8,
               sample_every=8)
    trainer = Trainer(cfg)
    real_step, calls = trainer.train_step, []

    def poisoned(real, mask):
        calls.append(1)
        if len(calls) == 10:
            with torch.no_grad():
                for p in trainer.G.parameters():
                    p.fill_(float("nan"))
        return real_step(real, mask)

    trainer.train_step = poisoned
    with pytest.raises(TrainingError, match=r"non-finite at step 10 .*steps 9-12"):
        trainer.fit()
    assert len(calls) == 12  # the steps after the bad one ran up to the check
    run = Path(cfg.out)
    assert json.loads((run / "last.json").read_text())["step"] == 8
    assert not (run / "checkpoints" / "step-00000012").exists()
    assert all(torch.isfinite(v).all() for v in load_file(
        str(run / "checkpoints" / "step-00000008" / "generator.safetensors")).values())
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "g_rec" in r] == [4, 8]  # no row of bad losses


def test_check_every_defaults_to_the_log_interval(tmp_path):
    assert Trainer(tiny(tmp_path, "a", steps=1, log_every=7)).check_every == 7
    assert Trainer(tiny(tmp_path, "b", steps=1, check_every=3)).check_every == 3
    with pytest.raises(ConfigError, match="check_every must be >= 1"):
        tiny(tmp_path, check_every=0)
    with pytest.raises(ConfigError, match="compile must be one of"):
        tiny(tmp_path, compile="fast")


def test_loader_masks_are_uint8_made_float_on_the_device(tmp_path):
    trainer = Trainer(tiny(tmp_path, steps=2, mask="mixed"))
    samples = TrainSamples(trainer.train_images, "mixed", 64, seed=0)
    _, mask = samples[(3, 5)]
    drawn = get_mask_generator("mixed")((64, 64), np.random.default_rng([0, 11, 5]))
    assert mask.dtype == torch.uint8 and np.array_equal(mask[0].numpy(), drawn)
    batch = next(iter(trainer._loader()))
    assert batch[1].dtype == torch.uint8
    real, hole = next(device_batches([batch], trainer.device))
    assert hole.dtype == torch.float32 and torch.equal(hole, batch[1].float())
    assert torch.equal(real, batch[0])
    # the step gives the same result with the float mask as with the uint8 one
    a = Trainer(tiny(tmp_path, "a", steps=1, mask="mixed")).train_step(batch[0], batch[1])
    b = Trainer(tiny(tmp_path, "b", steps=1, mask="mixed")).train_step(*_float(batch))
    assert {k: float(v) for k, v in a.items()} == {k: float(v) for k, v in b.items()}


def _float(batch):
    return [t.float() for t in batch]


def test_compile_calls_g_and_d_through_torch_compile(tmp_path, monkeypatch):
    compiled = []

    def eager_compile(module, **kw):  # the plumbing, without Inductor's minutes on a CPU
        compiled.append((type(module).__name__, kw))
        return torch._dynamo.optimize("eager")(module)

    monkeypatch.setattr(torch, "compile", eager_compile)
    cfg = tiny(tmp_path, steps=3, mask="mixed", compile="max-autotune")
    trainer = Trainer(cfg)
    assert compiled == [("Generator", {"mode": "max-autotune"}),
                        ("Discriminator", {"mode": "max-autotune"})]
    assert trainer.D_frozen is trainer.D_step and trainer.G_step is not trainer.G
    assert trainer.fit()["step"] == 3
    saved = load_file(str(Path(cfg.out) / "checkpoints" / "step-00000003" /
                          "generator.safetensors"))
    assert saved.keys() == trainer.G.state_dict().keys()  # no _orig_mod. prefixes


@cuda
def test_cuda_step_never_waits_for_the_device(tmp_path):
    trainer = Trainer(tiny(tmp_path, steps=4, mask="mixed", device="cuda", precision="bf16"))
    log = RunLog(tmp_path / "log", start=0, total=4, enabled=False)
    batches = list(trainer._loader())
    stream = device_batches(batches, trainer.device)
    real, *rest = next(stream)
    trainer.watch.update(1, trainer.train_step(real, *rest))  # warm-up: cuDNN, allocator
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step, (real, *rest) in enumerate(stream, 2):
            m = trainer.train_step(real, *rest)
            trainer.watch.update(step, m)
            log.step(m, images=real.shape[0])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    trainer.watch.check(4)
    assert np.isfinite(log.train(4)["g_loss"])


@cuda
def test_cuda_prefetch_gives_the_plain_copies(tmp_path):
    trainer = Trainer(tiny(tmp_path, steps=5, mask="mixed", device="cuda", workers=1))
    batches = list(trainer._loader())
    got = [[t.cpu() for t in b] for b in device_batches(batches, trainer.device)]
    assert len(got) == len(batches) == 5
    for a, b in zip(got, batches, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1].float())


@cuda
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_cuda_compiled_training_runs_and_resumes(tmp_path, mode):
    Trainer(tiny(tmp_path, steps=3, mask="mixed", device="cuda", compile=mode)).fit()
    result = Trainer(tiny(tmp_path, steps=6, mask="mixed", device="cuda", compile=mode),
                     resume=True).fit()
    assert result["step"] == 6 and np.isfinite(result["val"]["psnr"])
