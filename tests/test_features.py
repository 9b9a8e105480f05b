"""Feature learning: the encoder as a module, the labelled sets, the transfer protocols, the
``features`` command, and the training options the paper's baselines need."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from context_encoder import ModelConfig
from context_encoder.checkpoint import list_pretrained, save_generator
from context_encoder.cli import main
from context_encoder.data.facades import render_facade
from context_encoder.data.facades.attributes import ATTRIBUTES, facade_attributes
from context_encoder.errors import ConfigError
from context_encoder.features import (
    Encoder,
    Recipe,
    encoder_source,
    facade_set,
    folder_set,
    run_transfer,
)
from context_encoder.models import Generator
from context_encoder.training import TrainConfig, Trainer

KINDS = {
    "center": dict(task="center"),
    "full": dict(task="full"),
    "gated": dict(task="full", conv="gated"),
    "guided": dict(task="full", conv="gated", guide="sketch", refine_width=4),
}
TINY = dict(image_size=64, bottleneck="channelwise", enc_width=8, dec_width=8, disc_width=8)


def images(n=2, size=64, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("kind", KINDS)
def test_feature_shapes_per_stage_and_the_pooled_vector(kind):
    enc = Encoder(ModelConfig(**TINY, **KINDS[kind]))
    maps = enc.forward_features(images())
    assert [tuple(m.shape) for m in maps] == [(2, 8, 32, 32), (2, 16, 16, 16), (2, 32, 8, 8),
                                              (2, 64, 4, 4)]
    assert enc.channels == [8, 16, 32, 64] and enc.reduction == 16
    assert [f["reduction"] for f in enc.feature_info] == [2, 4, 8, 16]
    assert tuple(enc(images()).shape) == (2, enc.num_features) == (2, 64)
    # a larger input gives larger maps (for dense heads)
    assert tuple(enc.forward_features(images(size=128))[-1].shape) == (2, 64, 8, 8)


@pytest.mark.parametrize("kind", KINDS)
def test_from_pretrained_is_the_generators_encoder_with_nothing_missing(tmp_path, kind):
    torch.manual_seed(1)
    gen = Generator(ModelConfig(**TINY, **KINDS[kind])).eval()
    path = save_generator(gen, tmp_path / "g.safetensors", half=False)
    enc = Encoder.from_pretrained(path)
    assert enc.source == "g" and not enc.training
    x = images()
    extra = ModelConfig(**TINY, **KINDS[kind]).gen_in_channels - 3
    with torch.no_grad():
        want = gen.encoder(torch.cat([x, torch.zeros(2, extra, 64, 64)], 1))
        assert torch.equal(enc.forward_features(x)[-1], want)


def test_every_shipped_model_loads_as_a_feature_extractor():
    for name in list_pretrained():
        enc = Encoder.from_pretrained(name)
        with torch.no_grad():
            v = enc(images(size=enc.config.image_size))
        assert v.shape == (2, enc.num_features) and torch.isfinite(v).all()


def test_bad_input_is_refused_with_the_convention():
    enc = Encoder(ModelConfig(**TINY))
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        enc(images() * 127.5 + 127.5)  # 0..255
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\) with H and W multiples of 16"):
        enc(images(size=60))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        enc(torch.zeros(2, 4, 64, 64))
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        enc(torch.full((2, 3, 64, 64), float("nan")))
    with pytest.raises(ValueError, match="float tensor"):
        enc(torch.zeros(2, 3, 64, 64, dtype=torch.uint8))


def test_state_dict_round_trip_frozen_and_trainable():
    a = Encoder(ModelConfig(**TINY)).eval()
    b = Encoder(ModelConfig(**TINY)).eval()
    assert not torch.equal(a(images()), b(images()))  # two random draws
    b.load_state_dict(a.state_dict())
    assert torch.equal(a(images()), b(images()))
    # trainable: a step changes every weight; frozen: nothing changes
    a.train()
    opt = torch.optim.SGD(a.parameters(), lr=0.1)
    a(images()).sum().backward()
    opt.step()
    assert all(not torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    b.requires_grad_(False)
    assert not b(images()).requires_grad


def test_torch_compile_traces_the_encoder_in_one_graph():
    enc = Encoder(ModelConfig(**TINY)).eval()
    compiled = torch.compile(enc, backend="eager", fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(images()), enc(images()))


def test_facade_labels_are_the_generators_decisions_on_their_own_splits():
    labels = [facade_attributes("train", i) for i in range(300)]
    assert labels == [facade_attributes("train", i) for i in range(300)]
    for name, classes in ATTRIBUTES.items():  # every class occurs
        assert {d[name] for d in labels} == set(range(len(classes)))
    data = facade_set("wall", 32, {"train": 3, "val": 2, "test": 2})
    assert data.classes == ("plaster", "brick", "ashlar")
    assert data.train.labels.bincount().tolist() == [3, 3, 3] and data.chance == 1 / 3
    # labelled facades are other buildings than the inpainting splits' at the same index
    first = data.train.images[0].permute(1, 2, 0).numpy()
    assert not any(np.array_equal(first, render_facade(s, i, 32))
                   for s in ("train", "val") for i in range(30))


def _folder(root: Path, counts: dict[str, int], bad: int = 0) -> Path:
    rng = np.random.default_rng(0)
    for k, (name, n) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for i in range(n):
            a = np.full((40, 50, 3), 60 + 120 * k, np.uint8) + rng.integers(0, 30, (40, 50, 3),
                                                                         dtype=np.uint8)
            Image.fromarray(a).save(root / name / f"{i}.png")
    for i in range(bad):
        (root / next(iter(counts)) / f"broken{i}.jpg").write_bytes(b"not an image")
    return root


def test_folder_set_splits_each_class_and_counts_unreadable_files(tmp_path):
    data = folder_set(_folder(tmp_path / "d", {"cat": 10, "dog": 10}, bad=2), size=32)
    assert data.classes == ("cat", "dog") and data.skipped == 2
    assert len(data.train) + len(data.val) + len(data.test) == 20
    for split in (data.train, data.val, data.test):
        assert split.labels.bincount(minlength=2).min() >= 1
        assert tuple(split.images.shape[1:]) == (3, 32, 32)


def test_bad_folders_are_refused(tmp_path):
    with pytest.raises(ValueError, match="1 class subfolder"):
        folder_set(_folder(tmp_path / "one", {"cat": 5}))
    (tmp_path / "empty" / "dog").mkdir(parents=True)
    _folder(tmp_path / "empty", {"cat": 5})
    with pytest.raises(ValueError, match="class 'dog' .* 0 readable image"):
        folder_set(tmp_path / "empty")
    with pytest.raises(ValueError, match="does not exist"):
        folder_set(tmp_path / "nowhere")


def test_probe_and_finetune_on_a_tiny_set_are_reproducible():
    data = facade_set("shutters", 32, {"train": 6, "val": 3, "test": 4})
    sources = [encoder_source("random", ModelConfig(**TINY))]
    recipe = Recipe(steps=3, batch_size=4, linear_iters=5)
    runs = [run_transfer(sources, data, ["linear", "finetune"], [2, None], seeds=2,
                         recipe=recipe) for _ in range(2)]
    assert [r.to_dict()["accuracies"] for r in runs[0]] == \
        [r.to_dict()["accuracies"] for r in runs[1]]
    assert [(r.protocol, r.labels_per_class) for r in runs[0]] == [
        ("linear", 2), ("linear", "all"), ("finetune", 2), ("finetune", "all")]
    for r in runs[0]:
        assert all(0 <= a <= 1 for a in r.accuracies) and len(r.accuracies) == 2


def test_repeated_names_stay_apart_and_protocols_must_be_a_list():
    data = facade_set("shutters", 32, {"train": 3, "val": 2, "test": 2})
    enc = Encoder(ModelConfig(**TINY)).eval()
    sources = [encoder_source(enc, name="ce"), encoder_source(enc, name="ce")]
    res = run_transfer(sources, data, ["linear"], [None], seeds=2, recipe=Recipe(linear_iters=2))
    assert [r.encoder for r in res] == ["ce", "ce (2)"]
    assert res[0].accuracies[0] == res[0].accuracies[1]  # a fixed encoder, every label
    assert res[0].to_dict()["train_images"] == 6
    with pytest.raises(TypeError, match="sequence of names"):
        run_transfer(sources, data, "linear")


def test_finetune_leaves_the_given_encoder_untouched():
    data = facade_set("shutters", 32, {"train": 4, "val": 2, "test": 2})
    enc = Encoder(ModelConfig(**TINY))
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    run_transfer([encoder_source(enc, name="mine")], data, ["finetune"], [None], seeds=1,
                 recipe=Recipe(steps=2, batch_size=4))
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())


def test_features_command_on_a_folder_writes_json_and_report(tmp_path, capsys):
    root = _folder(tmp_path / "d", {"red": 8, "blue": 8})
    code = main(["features", "--data", str(root), "--encoder", "random", "--image-size", "32",
                 "--seeds", "2", "--steps", "2", "--labels-per-class", "3,all",
                 "--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "rep")])
    assert code == 0
    out = capsys.readouterr().out
    assert "| random | finetune | 3 |" in out and "Chance" in out
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert len(results) == 4
    assert {"encoder", "protocol", "labels_per_class", "accuracy_mean",
            "accuracy_std"} <= set(results[0])
    svg = (tmp_path / "rep" / "chart.svg").read_text()
    assert svg.count("<rect") >= 4 and "<svg" in (tmp_path / "rep" / "index.html").read_text()


def test_features_command_refuses_bad_values(tmp_path, capsys):
    assert main(["features", "--labels-per-class", "0"]) == 2
    assert "--labels-per-class" in capsys.readouterr().err
    assert main(["features", "--data", str(tmp_path), "--attribute", "wall"]) == 2
    assert "--attribute is for --data facades" in capsys.readouterr().err
    assert main(["features", "--encoder", "random", "--image-size", "100"]) == 2
    assert "--image-size 100: encoder 'random' needs a multiple of 32" in capsys.readouterr().err
    assert main(["features", "--encoder", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


# -- the training options the paper's baselines need ----------------------------------------
TRAIN = dict(image_size=64, width=8, bottleneck="channelwise", batch_size=4, val_count=4,
             log_every=1, val_every=2, ckpt_every=2, sample_every=2, workers=0,
             progress=False, precision="fp32", steps=2)


def test_autoencoder_reconstructs_the_whole_image_without_a_discriminator(tmp_path):
    with pytest.raises(ConfigError, match="--lambda-adv 0"):
        TrainConfig(mask="none")
    trainer = Trainer(TrainConfig(**TRAIN, mask="none", lambda_adv=0.0, out=str(tmp_path / "ae")))
    d_before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    result = trainer.fit()
    assert np.isfinite(result["val"]["psnr"]) and result["val"]["psnr"] < 60  # scored, not copied
    assert all(torch.equal(d_before[k], v) for k, v in trainer.D.state_dict().items())
    rows = [json.loads(line) for line in (tmp_path / "ae" / "metrics.jsonl").open()]
    assert "g_rec" in rows[0] and "d_loss" not in rows[0]
    assert Encoder.from_pretrained(tmp_path / "ae").config.task == "full"


def test_reconstruction_only_skips_the_discriminator(tmp_path):
    trainer = Trainer(TrainConfig(**TRAIN, mask="region", lambda_adv=0.0, out=str(tmp_path / "r")))
    real, mask = next(iter(trainer._loader()))
    m = trainer.train_step(real, mask)
    assert set(m) == {"g_rec", "g_loss"}


def test_table2_bench_quick_mode(tmp_path):
    bench = Path(__file__).resolve().parents[1] / "bench" / "table2.py"
    out = subprocess.run([sys.executable, str(bench), "--quick", "--out", str(tmp_path / "runs"),
                          "--json", str(tmp_path / "t.json")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    names = {r["encoder"] for r in json.loads((tmp_path / "t.json").read_text())["results"]}
    assert names == {"random", "ce-region", "ce-center", "autoencoder", "supervised"}


def test_options_the_run_would_ignore_or_trip_on_are_refused_first(tmp_path):
    with pytest.raises(ConfigError, match="give --refine-width too"):
        TrainConfig(mask="mixed", refine_lr_mult=10.0)
    (tmp_path / "file").write_text("keep me")
    with pytest.raises(Exception, match="is a file; name a folder"):
        Trainer(TrainConfig(**TRAIN, mask="region", out=str(tmp_path / "file")))
    assert (tmp_path / "file").read_text() == "keep me"
    with pytest.raises(Exception, match=r"lower --width .* or --refine-width \(100000\)"):
        Trainer(TrainConfig(**TRAIN, mask="mixed", refine_width=100000,
                            out=str(tmp_path / "huge")))
    assert not (tmp_path / "huge").exists()


def test_init_and_resume_together_are_refused(tmp_path, capsys):
    assert main(["train", "--init", "facades-freeform-128", "--resume", "--out",
                 str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--init starts a new run" in err and len(err.strip().splitlines()) == 1
