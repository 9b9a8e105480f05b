import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from context_encoder.checkpoint import export_generator, load_generator
from context_encoder.cli import main
from context_encoder.training import TrainConfig, Trainer, TrainingError

TINY = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=4, val_count=8,
            log_every=2, val_every=3, ckpt_every=3, sample_every=3, workers=0,
            progress=False, precision="fp32")


def tiny(tmp_path, name="run", **kw):
    return TrainConfig(**{**TINY, "out": str(tmp_path / name), **kw})


def weights(run: Path, step: int) -> dict:
    return load_file(str(run / "checkpoints" / f"step-{step:08d}" / "generator.safetensors"))


def test_train_writes_checkpoints_metrics_samples(tmp_path):
    cfg = tiny(tmp_path, steps=6)
    result = Trainer(cfg).fit()
    run = Path(cfg.out)
    assert result["step"] == 6
    assert set(result["val"]) >= {"l1", "l2", "psnr"}
    assert json.loads((run / "last.json").read_text())["step"] == 6
    assert (run / "best.json").exists()
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("g_rec" in x and "img_per_s" in x for x in lines)
    assert any("val_psnr" in x for x in lines)
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "step-00000003.png", "step-00000006.png"]
    assert list((run / "tensorboard").iterdir())
    ck = run / "checkpoints" / "step-00000006"
    assert {p.name for p in ck.iterdir()} == {
        "generator.safetensors", "discriminator.safetensors", "state.pt", "config.json"}
    # no temporary folders left behind
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("mask", ["center", "freeform"])
def test_resume_matches_an_uninterrupted_run(tmp_path, mask):
    full = tiny(tmp_path, "full", steps=6, mask=mask)
    Trainer(full).fit()
    part = tiny(tmp_path, "part", steps=3, mask=mask)
    Trainer(part).fit()
    resumed = tiny(tmp_path, "part", steps=6, mask=mask)
    Trainer(resumed, resume=True).fit()
    a, b = weights(Path(full.out), 6), weights(Path(resumed.out), 6)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_center_geometry_follows_the_model_config(tmp_path):
    cfg = tiny(tmp_path, steps=1, overlap=2)
    trainer = Trainer(cfg)
    mc = trainer.model_config
    (a, b), (ba, bb) = mc.center_span, mc.blank_span
    assert (a, b, ba, bb) == (16, 48, 18, 46)
    real = torch.rand(2, 3, 64, 64) * 2 - 1
    x, target, weights, hole = trainer.make_input(real, torch.zeros(2, 1, 64, 64))
    changed = (x != real).any(dim=(0, 1))
    assert changed[ba:bb, ba:bb].all() and changed.sum() == (bb - ba) ** 2
    assert torch.equal(target, real[..., a:b, a:b]) and hole is None
    assert weights.shape[-1] == b - a and (weights == 1).sum() == (bb - ba) ** 2
    out, hole = trainer.predict(real, torch.zeros(2, 1, 64, 64))
    assert hole[0, 0, a:b, a:b].all() and hole.sum() == 2 * (b - a) ** 2
    assert torch.equal(out * (1 - hole), real * (1 - hole))
    from context_encoder.training import fixed_masks

    m = fixed_masks("center", mc, 1, 0)[0, 0]
    assert m[ba:bb, ba:bb].all() and m.sum() == (bb - ba) ** 2


def test_one_step_trains_every_parameter(tmp_path):
    trainer = Trainer(tiny(tmp_path, steps=1, mask="block"))

    def parameters():
        return {f"{net}.{k}": v.detach().clone() for net, model in (("G", trainer.G),
                                                                    ("D", trainer.D))
                for k, v in model.named_parameters()}

    before = parameters()
    real, mask = next(iter(trainer._loader()))
    m = trainer.train_step(real, mask)
    assert {"d_loss", "d_real", "d_fake", "d_acc", "g_rec", "g_adv", "g_loss"} <= set(m)
    assert m["d_loss"] == pytest.approx(m["d_real"] + m["d_fake"])
    after = parameters()
    assert [k for k in before if torch.equal(before[k], after[k])] == []


def test_existing_run_is_not_overwritten_and_resume_checks_config(tmp_path):
    Trainer(tiny(tmp_path, steps=3)).fit()
    before = (tmp_path / "run" / "last.json").read_text()
    with pytest.raises(TrainingError, match="already holds a run"):
        Trainer(tiny(tmp_path, steps=3))
    with pytest.raises(TrainingError, match="another model config"):
        Trainer(tiny(tmp_path, steps=6, bottleneck="channelwise"), resume=True)
    with pytest.raises(TrainingError, match="no checkpoint"):
        Trainer(tiny(tmp_path, "empty", steps=3), resume=True)
    assert (tmp_path / "run" / "last.json").read_text() == before


def test_resume_with_a_new_lr_uses_it(tmp_path):
    Trainer(tiny(tmp_path, steps=3)).fit()
    with pytest.warns(UserWarning, match="changed training options"):
        trainer = Trainer(tiny(tmp_path, steps=6, lr=5e-5, g_lr_mult=2.0), resume=True)
    assert trainer.step == 3
    assert [g["lr"] for g in trainer.opt_d.param_groups] == [5e-5]
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [1e-4]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = tiny(tmp_path, steps=6)
    trainer = Trainer(cfg)
    real_step = trainer.train_step
    calls = {"n": 0}

    def poisoned(real, mask):
        calls["n"] += 1
        if calls["n"] == 5:
            with torch.no_grad():
                for p in trainer.G.parameters():
                    p.fill_(float("nan"))
        return real_step(real, mask)

    trainer.train_step = poisoned
    with pytest.raises(TrainingError, match="non-finite"):
        trainer.fit()
    last = json.loads((Path(cfg.out) / "last.json").read_text())
    assert last["step"] == 3
    assert all(torch.isfinite(v).all() for v in weights(Path(cfg.out), 3).values()
               if v.is_floating_point())


def test_image_folder_training_skips_corrupt_files(tmp_path, caplog):
    data = tmp_path / "imgs"
    (data / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)).save(data / f"{i}.png")
    Image.fromarray(rng.integers(0, 255, (90, 70), dtype=np.uint8)).save(data / "sub" / "g.jpg")
    (data / "broken.png").write_bytes(b"not a png at all")
    cfg = tiny(tmp_path, data=str(data), steps=2, mask="block")
    trainer = Trainer(cfg)
    assert len(trainer.train_images.bad_files) == 1
    assert "broken.png" in caplog.text
    assert trainer.fit()["step"] == 2


def test_bad_input_is_a_clear_error_before_any_work(tmp_path, capsys):
    small = tmp_path / "small"
    small.mkdir()
    Image.new("RGB", (40, 40)).save(small / "tiny.png")
    cases = [
        (["--data", str(tmp_path / "missing")], "does not exist"),
        (["--data", str(small)], "smaller than the 64x64 crop"),
        (["--mask", "stars"], "invalid choice"),
    ]
    for extra, msg in cases:
        out = tmp_path / "never"
        with pytest.raises(SystemExit) if "choice" in msg else _nullctx():
            code = main(["train", "--image-size", "64", "--out", str(out), *extra])
            assert code == 2
        assert msg in capsys.readouterr().err
        assert not out.exists()
    cfg = tmp_path / "c.toml"
    cfg.write_text('steps = 2\ncolour = "red"\n')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "x")]) == 2
    assert "unknown key(s) colour" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_cli_train_with_yaml_config_then_export(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    opts = {k.replace("_", "-"): v for k, v in TINY.items() if k != "progress"}
    cfg.write_text("\n".join(f"{k}: {v}" for k, v in {**opts, "steps": 3,
                                                      "mask": "mixed"}.items()))
    run = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(run), "--no-progress"]) == 0
    assert main(["export", str(run), "-o", str(tmp_path / "m.safetensors")]) == 0
    gen, info = load_generator(tmp_path / "m.safetensors")
    assert info["config"].task == "full" and info["config"].image_size == 64
    assert "wrote" in capsys.readouterr().out
    # fp16 storage, and the exported generator matches the run's
    ref, _ = load_generator(run)
    x = torch.randn(2, 3, 64, 64)
    m = torch.zeros(2, 1, 64, 64)
    m[..., 10:30, 10:30] = 1
    torch.testing.assert_close(gen(x, m), ref(x, m), atol=2e-2, rtol=0)
    export_generator(run, tmp_path / "f32.safetensors", half=False)
    # --resume needs only the run folder: the run's saved options come back
    assert main(["train", "--out", str(run), "--resume", "--steps", "4", "--no-progress"]) == 0
    assert json.loads((run / "last.json").read_text())["step"] == 4
    assert "training mixed model" in capsys.readouterr().out
    assert main(["train", "--out", str(run), "--resume", "--bottleneck", "conv"]) == 2
    assert "another model config" in capsys.readouterr().err
    assert main(["train", "--out", str(run), "--steps", "5", "--epochs", "1"]) == 2


def test_default_workers_feed_a_gpu_from_the_rank_share_of_cores(monkeypatch):
    from context_encoder.training import default_workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert default_workers(torch.device("cpu")) == 1
    assert default_workers(torch.device("cuda")) == 8
    assert default_workers(torch.device("cuda"), world=4) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert default_workers(torch.device("cuda")) == 1


def test_bf16_training_runs(tmp_path):
    result = Trainer(tiny(tmp_path, steps=2, precision="bf16")).fit()
    assert np.isfinite(result["val"]["psnr"])


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "context_encoder", "train", "--image-size", "64",
           "--width", "8", "--bottleneck-dim", "16", "--batch-size", "2", "--steps", "3",
           "--val-count", "4", "--ckpt-every", "3", "--workers", "0", "--device", "cpu",
           "--precision", "fp32", "--no-progress", "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run / "last.json").read_text())["step"] == 3
    assert proc.stdout.count("done: step 3") == 1  # only rank 0 reports and writes


class _Killed(Exception):
    """Stands for a kill between two steps."""


def test_resume_keeps_one_metrics_row_per_step(tmp_path):
    cfg = tiny(tmp_path, steps=6, log_every=1)
    trainer = Trainer(cfg)
    real_step, calls = trainer.train_step, []

    def killed_at_step_5(real, mask):
        calls.append(1)
        if len(calls) == 5:  # steps 1-4 logged, the last checkpoint is step 3's
            raise _Killed
        return real_step(real, mask)

    trainer.train_step = killed_at_step_5
    with pytest.raises(_Killed):
        trainer.fit()
    metrics = Path(cfg.out) / "metrics.jsonl"
    with open(metrics, "a") as f:
        f.write('{"step": 5, "g_r')  # a row cut short by the kill
    Trainer(tiny(tmp_path, steps=6, log_every=1), resume=True).fit()
    rows = [json.loads(x) for x in metrics.read_text().splitlines()]
    assert [r["step"] for r in rows if "g_rec" in r] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in rows if "val_psnr" in r] == [3, 6]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_loader_worker_exits_with_its_killed_parent(tmp_path):
    code = ("import sys; from context_encoder.training import TrainConfig, Trainer; "
            f"Trainer(TrainConfig(**{ {**TINY, 'workers': 1}!r}, steps=100000, "
            "out=sys.argv[1])).fit()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")], env=env,
                            stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while not workers and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children(proc.pid)
        assert workers, proc.stderr.read().decode()[-2000:] if proc.poll() is not None else ""
        time.sleep(1.0)  # the worker is past its start-up, feeding batches
        proc.kill()  # kill -9: the trainer gets no chance to stop its workers
        proc.wait()
        # PyTorch's own watchdog would notice only after up to 5 s
        deadline = time.monotonic() + 3
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, workers))
    finally:
        proc.kill()
        proc.wait()
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_init_starts_from_an_exported_model(tmp_path, capsys):
    Trainer(tiny(tmp_path, "first", steps=3, mask="freeform")).fit()
    model = export_generator(tmp_path / "first", tmp_path / "m.safetensors", half=False)
    trainer = Trainer(tiny(tmp_path, "tuned", steps=2, mask="freeform", init=str(model)))
    exported = load_file(str(model))
    for k, v in trainer.G.state_dict().items():
        torch.testing.assert_close(v, exported[k], rtol=0, atol=0, msg=k)
    assert trainer.fit()["step"] == 2
    # through the command line, and a resume needs the run folder only
    flags = ["--image-size", "64", "--width", "8", "--bottleneck-dim", "16", "--batch-size", "4",
             "--val-count", "8", "--workers", "0", "--precision", "fp32", "--no-progress",
             "--mask", "block"]
    run = tmp_path / "cli"
    assert main(["train", *flags, "--init", str(model), "--steps", "1", "--out", str(run)]) == 0
    model.unlink()  # not read again: the checkpoint holds the weights
    assert main(["train", "--out", str(run), "--resume", "--steps", "2", "--no-progress"]) == 0
    assert json.loads((run / "checkpoints" / "step-00000002" / "config.json").read_text())[
        "train"]["init"] == str(model)


def test_init_from_a_shipped_model_and_mismatched_configs(tmp_path, capsys):
    from context_encoder.checkpoint import read_model_config

    shipped = read_model_config("facades-center-128")
    trainer = Trainer(TrainConfig(init="facades-center-128", bottleneck=shipped.bottleneck,
                                  workers=0, progress=False, out=str(tmp_path / "ok")))
    ref, _ = load_generator("facades-center-128")
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(trainer.G.state_dict()[k], v, rtol=0, atol=0, msg=k)

    with pytest.raises(TrainingError, match=r"facades-center-128.*bottleneck.*'channelwise'.*'fc'"):
        Trainer(TrainConfig(init="facades-center-128", bottleneck="fc", out=str(tmp_path / "x")))
    out = tmp_path / "never"
    code = main(["train", "--init", "facades-freeform-128", "--image-size", "64",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "facades-freeform-128" in err and "image_size (128 vs 64)" in err
    assert "task ('full' vs 'center')" in err and not out.exists()
    assert main(["train", "--init", "no-such-model", "--out", str(out)]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err and not out.exists()
