"""The checkpoint format: run config and train state round trips, exports that never
replace a user's file, corrupt weights refused on load, and temporary folders of killed
checkpoint writes cleaned at the next start (never a live writer's)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from context_encoder.checkpoint import (
    CheckpointError,
    export_generator,
    find_checkpoint,
    load_generator,
    read_checkpoint,
    save_generator,
)
from context_encoder.cli import main
from context_encoder.config import ModelConfig
from context_encoder.models import Discriminator, Generator
from context_encoder.training import TrainConfig, Trainer

TINY = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=2, val_count=4,
            log_every=1, val_every=3, ckpt_every=3, sample_every=3, workers=0,
            progress=False, precision="fp32")
TINY_FLAGS = ["--image-size", "64", "--width", "8", "--bottleneck-dim", "16",
              "--batch-size", "2", "--val-count", "4", "--workers", "0", "--precision", "fp32",
              "--no-progress"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A run of one step through the command line (checkpoint at step 1)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", *TINY_FLAGS, "--steps", "1", "--out", str(run)]) == 0
    return run


@pytest.fixture
def run(trained_run, tmp_path) -> Path:
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


# -- the format -------------------------------------------------------------------------
def test_run_config_and_train_state_round_trip(run):
    from context_encoder.checkpoint import RunConfig, restore_train_state, train_state

    ckpt = find_checkpoint(run)
    config, step = RunConfig.read(ckpt)
    assert step == 1 and config.model == TrainConfig(**TINY).model_config()
    assert config.options()["width"] == 8 and "progress" not in config.options()
    again, step2 = RunConfig.from_metadata(config.metadata(step), "meta")
    assert (again, step2) == (config, step)
    ck = read_checkpoint(ckpt)
    assert ck["config"] == config and ck["step"] == 1
    gen = Generator(config.model)
    opt = torch.optim.Adam(gen.parameters())
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    state = train_state(5, opt, opt, scaler, 12.5)
    assert restore_train_state(state, opt, opt, scaler) == (5, 12.5)
    opt_d = torch.optim.Adam(Discriminator(config.model).parameters())
    assert restore_train_state(ck["state"], opt, opt_d, scaler)[0] == 1
    assert opt_d.state_dict()["state"]  # Adam's moments came back


def test_read_model_config_needs_no_weights(run):
    from context_encoder.checkpoint import read_model_config

    assert read_model_config(run) == TrainConfig(**TINY).model_config()
    assert read_model_config("facades-center-128").image_size == 128


# -- export never replaces a user's file ---------------------------------------------------
def test_export_refuses_to_overwrite_and_other_extensions(run, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"my holiday photo")
    assert main(["export", str(run), "-o", str(photo)]) == 2
    err = capsys.readouterr().err
    assert ".safetensors" in err and "photo.png" in err and len(err.strip().splitlines()) == 1
    assert main(["export", str(run), "-o", str(photo), "--overwrite"]) == 2
    assert photo.read_bytes() == b"my holiday photo"

    model = tmp_path / "m.safetensors"
    model.write_bytes(b"an older model")
    assert main(["export", str(run), "-o", str(model)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert model.read_bytes() == b"an older model"
    assert main(["export", str(run), "-o", str(model), "--overwrite"]) == 0
    assert load_generator(model)[1]["step"] == 1
    with pytest.raises(CheckpointError, match=r"x\.png.*\.safetensors"):
        export_generator(run, tmp_path / "x.png")


@pytest.mark.parametrize("name", ["models", "models.safetensors"])
def test_export_to_a_folder_names_the_folder(run, tmp_path, capsys, name):
    folder = tmp_path / name
    folder.mkdir()
    assert main(["export", str(run), "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert repr(str(folder)) in err and ".tmp" not in err
    assert list(folder.iterdir()) == [] and not [p for p in tmp_path.iterdir()
                                                if p.name.startswith(".")]


# -- corrupt weights -----------------------------------------------------------------------
def _poison(path: Path, tensor: str | None = None) -> str:
    """Overwrite the first 4 bytes of a tensor's data with 0xFF (a NaN in fp16 and fp32),
    as a flipped block of a corrupt download would; returns the tensor's name."""
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    name = tensor or next(k for k in sorted(header) if k != "__metadata__")
    start = 8 + n + header[name]["data_offsets"][0]
    data[start : start + 4] = b"\xff" * 4
    path.write_bytes(bytes(data))
    return name


def test_exported_model_with_nan_weights_is_refused(tmp_path, capsys):
    cfg = ModelConfig(image_size=64, task="full", bottleneck_dim=16, enc_width=8, dec_width=8,
                      disc_width=8)
    model = save_generator(Generator(cfg), tmp_path / "m.safetensors")
    load_generator(model)  # sound before
    name = _poison(model)
    with pytest.raises(CheckpointError, match=rf"m\.safetensors.*{name}.*NaN or infinite"):
        load_generator(model)
    from PIL import Image

    Image.new("RGB", (64, 64), "grey").save(tmp_path / "a.png")
    out = tmp_path / "o.png"
    code = main(["inpaint", str(tmp_path / "a.png"), "-o", str(out), "--box", "10,10,20,20",
                 "--model", str(model), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "m.safetensors" in err and name in err and not out.exists()


@pytest.mark.parametrize("part", ["generator", "discriminator"])
def test_checkpoint_with_nan_weights_is_refused(run, part):
    ckpt = find_checkpoint(run)
    name = _poison(ckpt / f"{part}.safetensors")
    with pytest.raises(CheckpointError, match=rf"{part}\.safetensors.*{name}"):
        read_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match=rf"{part}\.safetensors.*{name}"):
        Trainer(TrainConfig(**TINY, steps=2, out=str(run)), resume=True)
    if part == "generator":
        with pytest.raises(CheckpointError, match=name):
            load_generator(run)


# -- temporary folders of killed writes ----------------------------------------------------
_KILLED_WRITE = textwrap.dedent("""
    import os, signal, sys
    import context_encoder.checkpoint as ck
    from context_encoder.training import TrainConfig, Trainer

    real = ck.save_file
    def save_then_die(*args, **kwargs):
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of a checkpoint write
    ck.save_file = save_then_die
    Trainer(TrainConfig(**{tiny}, steps=3, out=sys.argv[1]), resume=True).fit()
""")


def _temporaries(run: Path) -> set[str]:
    return {p.name for p in (run / "checkpoints").glob(".step-*")}


def test_killed_checkpoint_write_is_cleaned_at_next_start(run, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITE.format(tiny=TINY), str(run)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    (killed,) = _temporaries(run)
    assert killed.startswith(".step-00000003.")
    assert json.loads((run / "last.json").read_text())["step"] == 1  # still the last good one

    ckpts = run / "checkpoints"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        live = ckpts / ".step-00000009.live"  # being written by a running process
        live.mkdir()
        (live / ".writer").write_text(f"{socket.gethostname()} {sleeper.pid}")
        fresh = ckpts / ".step-00000012.fresh"  # no writer recorded yet, just created
        fresh.mkdir()
        old = ckpts / ".step-00000015.old"  # no writer recorded, untouched for an hour
        old.mkdir()
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        Trainer(TrainConfig(**TINY, steps=3, out=str(run)), resume=True).fit()
        assert _temporaries(run) == {live.name, fresh.name}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert json.loads((run / "last.json").read_text())["step"] == 3
    assert {p.name for p in find_checkpoint(run).iterdir()} == {
        "generator.safetensors", "discriminator.safetensors", "state.pt", "config.json"}


def test_weights_of_other_shapes_are_one_short_line(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from context_encoder import Generator, ModelConfig
    from context_encoder.checkpoint import CheckpointError, load_generator, save_generator

    cfg = ModelConfig(image_size=64, task="full", bottleneck="channelwise", enc_width=8,
                      dec_width=8, disc_width=8)
    path = save_generator(Generator(cfg), tmp_path / "g.safetensors", half=False)
    weights, meta = load_file(str(path)), safe_open(str(path), "pt").metadata()
    weights["encoder.0.0.weight"] = torch.zeros(8, 3, 4, 4)
    del weights["decoder.0.0.weight"]
    save_file(weights, str(tmp_path / "bad.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError) as e:
        load_generator(tmp_path / "bad.safetensors")
    message = str(e.value)
    assert "1 tensor(s) missing (e.g. 'decoder.0.0.weight')" in message
    assert "(8, 3, 4, 4) where (8, 4, 4, 4) is expected" in message and len(message) < 300
